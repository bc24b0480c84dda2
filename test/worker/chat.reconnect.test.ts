import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ChatMessage } from "../../durable-objects/chat-room/contract/protocol";
import { type ChatClient, chatFestival, join } from "./chat-helpers";

type Member = { id: number; token: string };

/** Every message a client received, from the welcome and from message frames, in arrival order. */
const received = (c: ChatClient): ChatMessage[] =>
  c.frames.flatMap((f) => (f.type === "welcome" ? f.messages : f.type === "message" ? [f] : []));

describe("chat: reconnecting never delivers a message twice", () => {
  it("a client that connects with ?after=<seq> gets exactly what followed, in the welcome", async () => {
    const { festivalId, members } = await chatFestival(2);
    const [a, b] = members as [Member, Member];
    const { client: alice } = await join(festivalId, a);
    const first = await join(festivalId, b);
    for (const text of ["하나", "둘", "셋"]) await alice.say(text);
    await first.client.waitType("message", (m) => m.seq === 3);
    await first.client.close();

    for (const text of ["넷", "다섯"]) await alice.say(text);
    const back = await join(festivalId, b, { after: 3 });
    expect(back.welcome).toMatchObject({ lastSeq: 5, resumed: true });
    expect(back.welcome.messages.map((m) => m.seq)).toEqual([4, 5]);
    await alice.say("여섯");
    await back.client.waitType("message", (m) => m.seq === 6);

    // Across both connections, with no resume frame needed: each seq exactly once.
    const seqs = [...received(first.client), ...received(back.client)].map((m) => m.seq);
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6]);

    // Nothing missed: an empty welcome, then only the live message.
    await back.client.close();
    const upToDate = await join(festivalId, b, { after: 6 });
    expect(upToDate.welcome).toMatchObject({ resumed: true, messages: [] });
    await alice.say("일곱");
    await upToDate.client.waitType("message", (m) => m.seq === 7);
    expect(received(upToDate.client).map((m) => m.seq)).toEqual([7]);
    await upToDate.client.close();
    await alice.close();
  });

  it("keeps the old protocol for clients that send no `after`", async () => {
    const { festivalId, members } = await chatFestival(1);
    const { client } = await join(festivalId, members[0] as Member);
    await client.say("전");
    await client.close();
    const old = await join(festivalId, members[0] as Member);
    expect(old.welcome.messages.map((m) => m.text)).toEqual(["전"]);
    expect(old.welcome).not.toHaveProperty("resumed");
    await old.client.close();
  });

  it("refuses a malformed `after` with 400", async () => {
    const { festivalId, members } = await chatFestival(1);
    for (const after of ["-1", "x", "1.5"]) {
      const res = await SELF.fetch(`http://somsom.test/v1/festivals/${festivalId}/chat?after=${after}`, {
        headers: { Upgrade: "websocket", Authorization: `Bearer ${members[0]?.token}` },
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: "validation.failed" } });
    }
  });
});

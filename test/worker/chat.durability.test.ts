import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ChatItem } from "../../workers/lib/dynamo.ts";
import { chatFestival, connect, join, stubOf } from "./chat-helpers";
import { createUsers } from "./fixtures";

/** Reads the room object's own SQLite, as the outbox drainer (next issue) will. */
function objectRows<T extends Record<string, SqlStorageValue>>(
  festivalId: number,
  query: string,
  ...bindings: unknown[]
) {
  return runInDurableObject(stubOf(festivalId), (_instance, state) =>
    state.storage.sql.exec<T>(query, ...bindings).toArray(),
  );
}

describe("chat: the room survives its object being evicted", () => {
  it("keeps seq, read cursors and hibernated sockets across an eviction", async () => {
    const { festivalId, members } = await chatFestival(2);
    const [a, b] = members as [{ id: number; token: string }, { id: number; token: string }];
    const { client: alice } = await join(festivalId, a);
    const { client: bob } = await join(festivalId, b);
    await alice.say("before 1");
    await alice.say("before 2");
    await bob.waitType("message", (m) => m.seq === 2);
    bob.send({ type: "read", seq: 2 });
    await expect
      .poll(() => objectRows(festivalId, "SELECT read_seq FROM cursors WHERE user_id = ?", b.id))
      .toEqual([{ read_seq: 2 }]);

    // Default eviction hibernates the sockets: they stay open and wake a fresh instance.
    await evictDurableObject(stubOf(festivalId));
    expect(await alice.say("after")).toMatchObject({ type: "ack", seq: 3 });
    const woken = await bob.waitType("message", (m) => m.seq === 3);
    expect(woken).toMatchObject({ userId: a.id, text: "after" });

    // A full restart (sockets closed) keeps everything durable too.
    await evictDurableObject(stubOf(festivalId), { webSockets: "close" });
    await expect.poll(() => alice.closed !== undefined && bob.closed !== undefined).toBe(true);
    const back = await join(festivalId, b);
    expect(back.welcome).toMatchObject({ lastSeq: 3, readSeq: 2 });
    expect(back.welcome.messages.map((m) => m.text)).toEqual(["before 1", "before 2", "after"]);
    back.client.send({ type: "resume", afterSeq: 2 });
    await back.client.waitType("message", (m) => m.seq === 3);
    expect(await back.client.say("next")).toMatchObject({ type: "ack", seq: 4 });

    // Membership is MySQL's: still a member after the restart, a stranger still refused.
    const [stranger] = await createUsers(1);
    expect((await connect(festivalId, stranger?.token)).res.status).toBe(403);
    await back.client.close();
  });

  it("writes every acked message to the outbox once, in the step that gives it its seq", async () => {
    const { festivalId, members } = await chatFestival(1);
    const member = members[0] as { id: number; token: string };
    const { client } = await join(festivalId, member);
    await client.say("첫째", "c-1");
    await client.say("첫째", "c-1");
    await client.say("둘째", "c-2");
    await evictDurableObject(stubOf(festivalId));

    const rows = await objectRows<{ seq: number; payload: string }>(
      festivalId,
      "SELECT seq, payload FROM outbox ORDER BY seq",
    );
    expect(rows.map((r) => r.seq)).toEqual([1, 2]);
    const items = rows.map((r) => JSON.parse(r.payload) as ChatItem);
    expect(items).toEqual([
      expect.objectContaining({
        roomId: String(festivalId),
        seq: 1,
        userId: String(member.id),
        text: "첫째",
      }),
      expect.objectContaining({
        roomId: String(festivalId),
        seq: 2,
        userId: String(member.id),
        text: "둘째",
      }),
    ]);
    expect(typeof items[0]?.sentAt).toBe("number");
    await client.close();
  });
});

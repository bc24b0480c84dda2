import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CHAT_LIMITS, type ServerFrame } from "../../durable-objects/chat-room/contract/protocol";
import { type ChatClient, chatFestival, join, stubOf } from "./chat-helpers";
import { api } from "./helpers";

type Answer = Extract<ServerFrame, { type: "ack" | "error" }>;
const isAnswer = (f: ServerFrame): f is Answer => f.type === "ack" || f.type === "error";

async function room() {
  const { festivalId, members } = await chatFestival(1);
  const { client } = await join(festivalId, members[0] as { token: string });
  return { festivalId, client };
}

/** Sends a raw frame and waits for the error it provokes. */
async function errorFor(client: ChatClient, raw: string | ArrayBuffer) {
  const from = client.frames.length;
  client.ws.send(raw);
  return client.waitType("error", () => true, from);
}

describe("chat: bad input is an error frame, and the socket stays open", () => {
  it("refuses empty and oversized text, and strips control characters", async () => {
    const { client } = await room();
    expect(await client.say("")).toMatchObject({ type: "error", code: "message.empty" });
    expect(await client.say(" \n\t\u0007\u202e ")).toMatchObject({ type: "error", code: "message.empty" });
    const tooLong = "가".repeat(CHAT_LIMITS.maxTextChars + 1);
    expect(await client.say(tooLong)).toMatchObject({ type: "error", code: "message.too_long" });

    const longest = await client.say("가".repeat(CHAT_LIMITS.maxTextChars));
    expect(longest).toMatchObject({ type: "ack", seq: 1 });
    // Emoji made of several code points count by code point; ZWJ sequences survive cleaning.
    expect(await client.say("👨‍👩‍👧")).toMatchObject({ type: "ack", seq: 2 });
    await client.say("a\u0000b\u0007c\u202ed\r\ne\u0085f");
    const last = await client.waitType("message", (m) => m.seq === 3);
    expect(last.text).toBe("abcd\nef");
    expect(client.messages().map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(client.closed).toBeUndefined();
    await client.close();
  });

  it("answers malformed frames with frame errors", async () => {
    const { client } = await room();
    expect(await errorFor(client, "{not json")).toMatchObject({ code: "frame.invalid" });
    expect(await errorFor(client, JSON.stringify({ type: "shout", text: "hi" }))).toMatchObject({
      code: "frame.invalid",
    });
    expect(await errorFor(client, JSON.stringify({ type: "send", text: "no id" }))).toMatchObject({
      code: "frame.invalid",
    });
    expect(await errorFor(client, JSON.stringify({ type: "read", seq: -1 }))).toMatchObject({
      code: "frame.invalid",
    });
    expect(await errorFor(client, new TextEncoder().encode("binary").buffer as ArrayBuffer)).toMatchObject({
      code: "frame.invalid",
    });
    const huge = JSON.stringify({
      type: "send",
      clientMsgId: "x",
      text: "a".repeat(CHAT_LIMITS.maxFrameChars),
    });
    expect(await errorFor(client, huge)).toMatchObject({ code: "frame.too_large" });
    expect(await errorFor(client, JSON.stringify({ type: "read", seq: 99 }))).toMatchObject({
      code: "read.invalid_seq",
    });
    expect(await errorFor(client, JSON.stringify({ type: "resume", afterSeq: 99 }))).toMatchObject({
      code: "resume.invalid_seq",
    });
    expect(await client.say("still works")).toMatchObject({ type: "ack", seq: 1 });
    await client.close();
  });

  it("rate-limits a fast sender with error frames, then lets them send again", async () => {
    const { client } = await room();
    const burst = CHAT_LIMITS.sendBurst + 5;
    for (let i = 0; i < burst; i++) client.send({ type: "send", clientMsgId: `m${i}`, text: `flood ${i}` });
    await client.waitFor((f) => isAnswer(f) && f.clientMsgId === `m${burst - 1}`);
    const answers = client.frames.filter(isAnswer);
    expect(answers).toHaveLength(burst);
    const acks = answers.filter((f) => f.type === "ack");
    const limited = answers.filter((f) => f.type === "error");
    // The bucket refills while the frames arrive, so one more may pass, never more than that.
    expect(acks.length).toBeGreaterThanOrEqual(CHAT_LIMITS.sendBurst);
    expect(acks.length).toBeLessThanOrEqual(CHAT_LIMITS.sendBurst + 1);
    expect(limited.length).toBe(burst - acks.length);
    for (const e of limited) {
      expect(e).toMatchObject({ code: "message.rate_limited" });
      expect(e.type === "error" && e.retryAfterMs).toBeGreaterThan(0);
    }
    const wait = Math.max(...limited.map((e) => (e.type === "error" ? (e.retryAfterMs ?? 0) : 0)));
    await new Promise((r) => setTimeout(r, wait + 50));
    expect(client.closed).toBeUndefined();
    expect(await client.say("after the pause")).toMatchObject({ type: "ack", seq: acks.length + 1 });
    await client.close();
  });

  it("acks a retried clientMsgId with its first seq and stores it once", async () => {
    const { client } = await room();
    const first = await client.say("한 번만", "retry-1");
    expect(first).toMatchObject({ type: "ack", seq: 1 });
    expect(await client.say("한 번만", "retry-1")).toMatchObject({ type: "ack", seq: 1 });
    // Retries racing each other are stored once too.
    client.send({ type: "send", clientMsgId: "retry-2", text: "둘" });
    client.send({ type: "send", clientMsgId: "retry-2", text: "둘" });
    await client.waitFor((f) => f.type === "ack" && f.clientMsgId === "retry-2");
    expect(await client.say("셋")).toMatchObject({ type: "ack", seq: 3 });
    await client.waitType("message", (m) => m.seq === 3);
    expect(client.messages().map((m) => [m.seq, m.text])).toEqual([
      [1, "한 번만"],
      [2, "둘"],
      [3, "셋"],
    ]);
    expect(client.frames.filter((f) => f.type === "ack" && f.clientMsgId === "retry-2")).toEqual([
      { type: "ack", clientMsgId: "retry-2", seq: 2 },
      { type: "ack", clientMsgId: "retry-2", seq: 2 },
    ]);
    await client.close();
  });

  it("acks a clientMsgId retried after its dedupe row expired with its first seq while the buffer holds it", async () => {
    const { festivalId, client } = await room();
    expect(await client.say("늦은 재시도", "late-1")).toMatchObject({ type: "ack", seq: 1 });
    // A day passes in a quiet room: the flush prunes the dedupe row, the message is still buffered.
    await runInDurableObject(stubOf(festivalId), (_instance, state) => {
      state.storage.sql.exec(
        "UPDATE sent_ids SET sent_at = sent_at - ?",
        CHAT_LIMITS.dedupeWindowMs + 60_000,
      );
    });
    await runDurableObjectAlarm(stubOf(festivalId));
    const retried = await client.say("늦은 재시도", "late-1");
    expect(retried).toEqual({ type: "ack", clientMsgId: "late-1", seq: 1 });
    expect(await client.say("다음", "late-2")).toMatchObject({ type: "ack", seq: 2 });
    await client.close();
  });

  it("replays at most replayMax messages: a longer gap is resume.too_old, never a partial replay", async () => {
    const perUser = CHAT_LIMITS.sendBurst - 1;
    const senders = Math.ceil((CHAT_LIMITS.replayMax + 10) / perUser);
    const { festivalId, members } = await chatFestival(senders);
    const clients = await Promise.all(members.map(async (m) => (await join(festivalId, m)).client));
    await Promise.all(
      clients.map(async (c, i) => {
        for (let n = 0; n < perUser; n++)
          c.send({ type: "send", clientMsgId: `u${i}-${n}`, text: `${i}/${n}` });
        await c.waitFor((f) => f.type === "ack" && f.clientMsgId === `u${i}-${perUser - 1}`);
      }),
    );
    const total = senders * perUser;
    const acks = clients.flatMap((c) => c.frames.filter((f) => f.type === "ack"));
    expect(acks).toHaveLength(total);
    const oldestReplayable = total - CHAT_LIMITS.replayMax + 1;

    const reader = clients[0] as ChatClient;
    await reader.waitType("message", (m) => m.seq === total);
    const from = reader.frames.length;
    reader.send({ type: "resume", afterSeq: oldestReplayable - 2 });
    const tooOld = await reader.waitType("error", () => true, from);
    expect(tooOld.code).toBe("resume.too_old");
    expect(reader.frames.slice(from).map((f) => f.type)).toEqual(["error"]);

    reader.send({ type: "resume", afterSeq: oldestReplayable - 1 });
    await reader.waitType("message", (m) => m.seq === total, reader.frames.length);
    const replayed = reader.frames.slice(from + 1);
    expect(replayed.map((f) => f.type === "message" && f.seq)).toEqual(
      Array.from({ length: CHAT_LIMITS.replayMax }, (_, i) => oldestReplayable + i),
    );

    // The same bound for a reconnect that names what it holds: all of the gap in the welcome, or none.
    const member = members[1] as { token: string };
    const whole = await join(festivalId, member, { after: oldestReplayable - 1 });
    expect(whole.welcome.resumed).toBe(true);
    expect(whole.welcome.messages.map((m) => m.seq)).toEqual(
      Array.from({ length: CHAT_LIMITS.replayMax }, (_, i) => oldestReplayable + i),
    );
    const gap = await join(festivalId, member, { after: oldestReplayable - 2 });
    expect(gap.welcome).toMatchObject({ resumed: false, messages: [], lastSeq: total });
    await Promise.all([...clients, whole.client, gap.client].map((c) => c.close()));
  });

  it("asks for a WebSocket upgrade on a plain GET", async () => {
    const { festivalId, members } = await chatFestival(1);
    const res = await api<{ error: { code: string } }>("GET", `/v1/festivals/${festivalId}/chat`, {
      token: members[0]?.token,
    });
    expect(res.status).toBe(426);
    expect(res.body.error.code).toBe("chat.upgrade_required");
  });
});

import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CHAT_LIMITS, type ChatMessage, CLOSE } from "../../durable-objects/chat-room/contract/protocol";
import {
  type ChatUnreadEvent,
  unreadEventsKey,
} from "../../durable-objects/chat-room/contract/unread-events";
import type { V1FestivalsChatReportsGetResponse } from "../../workers/api/chat/v1_festivals_chat_reports_get";
import { chatWindowKey, pushUnreadEvents } from "../../workers/api/notifications/chat-pushes";
import { createLogger } from "../../workers/lib/logger";
import { getServices, type Services } from "../../workers/lib/services";
import { chatFestival, connect, eventually, join, services } from "./chat-helpers";
import {
  closeAll,
  drainToKafka,
  dynamoItems,
  historyPage,
  runConsumer,
  sendBurst,
} from "./chat-history-helpers";
import { createAdminUser, createUser, type SeededUser } from "./fixtures";
import { type ApiError, api } from "./helpers";
import { expectReplay, rawApi } from "./idempotency-helpers";
import { pushesTo, registerDevice } from "./notifications-helpers";

/**
 * Moderation and organiser announcements through the public interface: the staff routes over HTTP,
 * their effect on raw chat sockets and on the history route.
 */

/** A festival's room with members, an admin, and a user granted staff of this festival only. */
async function moderatedRoom(memberCount: number) {
  const { festivalId, members } = await chatFestival(memberCount);
  const admin = await createAdminUser();
  const staff = await createUser();
  const granted = await api("PUT", `/v1/festivals/${festivalId}/staff/${staff.id}`, { token: admin.token });
  expect(granted.status).toBe(204);
  return { festivalId, members, admin, staff, chat: `/v1/festivals/${festivalId}/chat` };
}

const nth = (users: SeededUser[], i: number) => users[i] as SeededUser;

describe("chat moderation: bans", () => {
  it("closes a banned member's sockets with 4004 and refuses reconnecting and rejoining until lifted", async () => {
    const { festivalId, members, staff, chat } = await moderatedRoom(2);
    const [target, other] = [nth(members, 0), nth(members, 1)];
    const { client } = await join(festivalId, target);
    const { client: watcher } = await join(festivalId, other);

    // Members are not staff; the body is checked.
    const byMember = await api<ApiError>("PUT", `${chat}/bans/${target.id}`, {
      token: other.token,
      body: {},
    });
    expect(byMember.status).toBe(403);
    expect(byMember.body.error.code).toBe("auth.forbidden");
    expect(
      (await api("PUT", `${chat}/bans/${target.id}`, { token: staff.token, body: { minutes: 0 } })).status,
    ).toBe(400);
    expect((await api("PUT", `${chat}/bans/999999999`, { token: staff.token, body: {} })).status).toBe(404);

    const ban = await api("PUT", `${chat}/bans/${target.id}`, { token: staff.token, body: {} });
    expect(ban.status).toBe(200);
    expect(ban.body).toEqual({ userId: target.id, kind: "ban", until: null });
    expect(await client.closedBy()).toEqual(CLOSE.banned);
    await watcher.waitType("presence", (f) => f.event === "left" && f.userId === target.id);

    const refused = await connect(festivalId, target.token);
    expect(refused.client).toBeUndefined();
    expect(refused.res.status).toBe(403);
    expect(((await refused.res.json()) as ApiError).error.code).toBe("chat.banned");
    // Joining the room again (a membership) does not lift a ban.
    expect(
      (await api("POST", `/v1/festivals/${festivalId}/chat/members`, { token: target.token })).status,
    ).toBeLessThan(300);
    expect((await connect(festivalId, target.token)).res.status).toBe(403);

    expect((await api("DELETE", `${chat}/bans/${target.id}`, { token: staff.token })).status).toBe(204);
    const { client: back } = await join(festivalId, target);
    expect((await back.say("돌아왔어요")).type).toBe("ack");
    await closeAll([back, watcher]);
  });
});

describe("chat moderation: deleting messages", () => {
  it("sends a tombstone to every live client and shows the message as deleted in history and welcomes", async () => {
    const { festivalId, members, admin, chat } = await moderatedRoom(2);
    const [author, reader] = [nth(members, 0), nth(members, 1)];
    const { client: a } = await join(festivalId, author);
    const { client: b } = await join(festivalId, reader);
    const ack = await a.say("지워질 말");
    if (ack.type !== "ack") throw new Error(JSON.stringify(ack));
    await a.say("남을 말");
    await b.waitType("message", (m) => m.seq === ack.seq);

    expect((await api("DELETE", `${chat}/messages/${ack.seq}`, { token: reader.token })).status).toBe(403);
    expect((await api("DELETE", `${chat}/messages/999`, { token: admin.token })).status).toBe(404);
    expect((await api("DELETE", `${chat}/messages/${ack.seq}`, { token: admin.token })).status).toBe(204);
    // Idempotent: a second delete is no second tombstone.
    expect((await api("DELETE", `${chat}/messages/${ack.seq}`, { token: admin.token })).status).toBe(204);
    for (const c of [a, b]) await c.waitType("deleted", (f) => f.seq === ack.seq);
    expect(b.frames.filter((f) => f.type === "deleted")).toHaveLength(1);

    const page = await historyPage(festivalId, reader.token);
    expect(page.status).toBe(200);
    const bySeq = new Map(page.body.items.map((m) => [m.seq, m]));
    expect(bySeq.get(ack.seq)).toMatchObject({ seq: ack.seq, text: "", deleted: true });
    expect(bySeq.get(ack.seq + 1)).toMatchObject({ text: "남을 말" });
    expect(bySeq.get(ack.seq + 1)?.deleted).toBeUndefined();

    const { client: late, welcome } = await join(festivalId, reader);
    expect(welcome.messages.find((m) => m.seq === ack.seq)).toMatchObject({ text: "", deleted: true });
    // A resume from before it replays the tombstone, not the text.
    const { welcome: resumed } = await join(festivalId, author, { after: ack.seq - 1 });
    expect(resumed.messages[0]).toMatchObject({ seq: ack.seq, text: "", deleted: true });
    await closeAll([a, b, late]);
  });

  it("shows a message already in DynamoDB as deleted in history, while DynamoDB keeps the original", async () => {
    const { festivalId, members, staff, chat } = await moderatedRoom(12);
    const [author, ...others] = members as [SeededUser, ...SeededUser[]];
    const { clients: mine } = await sendBurst(festivalId, [author], 1, "orig");
    await closeAll(mine);
    // Enough after it that seq 1 leaves the room's buffer and lives only in DynamoDB.
    const { clients } = await sendBurst(festivalId, others, CHAT_LIMITS.sendBurst, "more");
    await drainToKafka(festivalId);
    await runConsumer();
    expect((await dynamoItems(festivalId))[0]).toMatchObject({ seq: 1, text: "orig 0/0" });

    expect((await api("DELETE", `${chat}/messages/1`, { token: staff.token })).status).toBe(204);
    const page = await historyPage(festivalId, nth(others, 0).token, { before: 3, limit: 5 });
    expect(page.status).toBe(200);
    expect(page.body.items.map((m) => [m.seq, m.text, m.deleted])).toEqual([
      [2, expect.stringMatching(/^more /), undefined],
      [1, "", true],
    ]);
    expect((await dynamoItems(festivalId))[0]).toMatchObject({ seq: 1, text: "orig 0/0" });
    await closeAll(clients);
  });
});

describe("chat moderation: slow mode and mutes", () => {
  it("answers a too-early send with a chat.slow_mode error frame and keeps the socket open", async () => {
    const { festivalId, members, staff, admin, chat } = await moderatedRoom(1);
    const member = nth(members, 0);
    const { client } = await join(festivalId, member);
    const { client: adminSocket } = await join(festivalId, admin);
    const set = await api("PUT", `${chat}/slow-mode`, { token: staff.token, body: { seconds: 60 } });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ seconds: 60 });
    expect(
      (await api("PUT", `${chat}/slow-mode`, { token: staff.token, body: { seconds: -1 } })).status,
    ).toBe(400);

    expect((await client.say("첫 말")).type).toBe("ack");
    for (let i = 0; i < 3; i++) {
      const early = await client.say(`너무 빠른 말 ${i}`);
      expect(early).toMatchObject({ type: "error", code: "chat.slow_mode" });
      expect(early.type === "error" && early.retryAfterMs).toBeGreaterThan(0);
    }
    // Admins are not slowed.
    expect((await adminSocket.say("운영자 1")).type).toBe("ack");
    expect((await adminSocket.say("운영자 2")).type).toBe("ack");
    expect(client.closed).toBeUndefined();

    expect((await api("PUT", `${chat}/slow-mode`, { token: staff.token, body: { seconds: 0 } })).status).toBe(
      200,
    );
    expect((await client.say("이제 돼요")).type).toBe("ack");
    expect(client.closed).toBeUndefined();
    await closeAll([client, adminSocket]);
  });

  it("answers a muted member's sends with chat.muted and its end time; others still talk; lifting ends it", async () => {
    const { festivalId, members, staff, chat } = await moderatedRoom(2);
    const [muted, other] = [nth(members, 0), nth(members, 1)];
    const { client } = await join(festivalId, muted);
    const { client: otherSocket } = await join(festivalId, other);
    const before = Date.now();
    const mute = await api<{ until: string }>("PUT", `${chat}/mutes/${muted.id}`, {
      token: staff.token,
      body: { minutes: 10 },
    });
    expect(mute.status).toBe(200);
    expect(Date.parse(mute.body.until)).toBeGreaterThanOrEqual(before + 10 * 60_000);

    const refused = await client.say("말할래요");
    expect(refused).toMatchObject({ type: "error", code: "chat.muted", until: mute.body.until });
    expect((await otherSocket.say("저는 돼요")).type).toBe("ack");
    // Muted members keep reading.
    await client.waitType("message", (m) => m.text === "저는 돼요");
    expect(client.closed).toBeUndefined();

    expect((await api("DELETE", `${chat}/mutes/${muted.id}`, { token: staff.token })).status).toBe(204);
    expect((await client.say("이제 말해요")).type).toBe("ack");
    await closeAll([client, otherSocket]);
  });
});

describe("chat moderation: reports", () => {
  it("stores a member's report with reporter and reason; staff list it with the original message", async () => {
    const { festivalId, members, staff, chat } = await moderatedRoom(2);
    const [author, reporter] = [nth(members, 0), nth(members, 1)];
    const { client } = await join(festivalId, author);
    const ack = await client.say("신고당할 말");
    if (ack.type !== "ack") throw new Error(JSON.stringify(ack));
    const path = `${chat}/messages/${ack.seq}/reports`;

    expect((await api("POST", path, { token: reporter.token, body: { reason: " " } })).status).toBe(400);
    const stranger = await createUser();
    expect((await api("POST", path, { token: stranger.token, body: { reason: "스팸" } })).status).toBe(403);
    expect(
      (
        await api("POST", `${chat}/messages/${ack.seq + 50}/reports`, {
          token: reporter.token,
          body: { reason: "x" },
        })
      ).status,
    ).toBe(404);
    expect((await api("POST", path, { token: reporter.token, body: { reason: "욕설" } })).status).toBe(204);
    expect((await api("POST", path, { token: reporter.token, body: { reason: "욕설" } })).status).toBe(204);

    expect((await api("GET", `${chat}/reports`, { token: reporter.token })).status).toBe(403);
    const list = await api<V1FestivalsChatReportsGetResponse>("GET", `${chat}/reports`, {
      token: staff.token,
    });
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({
      seq: ack.seq,
      reporterId: reporter.id,
      reason: "욕설",
      message: { seq: ack.seq, text: "신고당할 말", userId: author.id },
    });
    expect(list.body.nextCursor).toBeNull();
    await client.close();
  });
});

const log = createLogger({ test: "chat.moderation" });

/** Pushes go through the real job code, under a key prefix of this test (windows), on the room's own event. */
function privateServices(): Services {
  const base = getServices(env);
  const prefix = `moderation-test:${crypto.randomUUID()}:`;
  return { ...base, key: (...parts) => prefix + parts.join(":") };
}

describe("chat announcements", () => {
  it("marks an announcement, pins it in the welcome and GET pinned, and pushes it to offline members", async () => {
    const { festivalId, members, staff, chat } = await moderatedRoom(3);
    const [online, offline, member] = [nth(members, 0), nth(members, 1), nth(members, 2)];
    const onlineDevice = await registerDevice(online);
    const offlineDevice = await registerDevice(offline);
    const { client } = await join(festivalId, online);

    expect(
      (await api("POST", `${chat}/announcements`, { token: member.token, body: { text: "x" } })).status,
    ).toBe(403);
    expect(
      (await api("POST", `${chat}/announcements`, { token: staff.token, body: { text: " \n" } })).status,
    ).toBe(400);
    const posted = await api<ChatMessage>("POST", `${chat}/announcements`, {
      token: staff.token,
      body: { text: "입장은 2번 게이트로 바뀌었습니다" },
    });
    expect(posted.status).toBe(201);
    expect(posted.body).toMatchObject({
      kind: "announcement",
      userId: staff.id,
      text: "입장은 2번 게이트로 바뀌었습니다",
    });
    await client.waitType("message", (m) => m.seq === posted.body.seq && m.kind === "announcement");

    const { client: later, welcome } = await join(festivalId, member);
    expect(welcome.pinned).toMatchObject({ seq: posted.body.seq, kind: "announcement" });
    const pinned = await api<{ announcement: ChatMessage | null }>("GET", `${chat}/pinned`, {
      token: member.token,
    });
    expect(pinned.status).toBe(200);
    expect(pinned.body.announcement).toMatchObject({ seq: posted.body.seq, kind: "announcement" });
    expect((await api("GET", `${chat}/pinned`, { token: (await createUser()).token })).status).toBe(403);
    const history = await historyPage(festivalId, member.token);
    expect(history.body.items.find((m) => m.seq === posted.body.seq)?.kind).toBe("announcement");

    // The room's write-through publishes the event that carries the announcement.
    const events = await eventually(
      async () =>
        (await services().redis.lrange(unreadEventsKey(services()), 0, -1))
          .map((line) => JSON.parse(line) as ChatUnreadEvent)
          .filter((e) => e.festivalId === festivalId && e.announcement),
      (found) => found.length > 0,
      { flushRoom: festivalId },
    );
    expect(events[0]?.announcement).toMatchObject({
      seq: posted.body.seq,
      text: "입장은 2번 게이트로 바뀌었습니다",
    });
    // A chat push window already open for the offline member does not hold an announcement back.
    const s = privateServices();
    await s.redis.set(chatWindowKey(s, String(festivalId), offline.id), "0", { ex: 300 });
    await later.close();
    await pushUnreadEvents(s, log, events);
    const pushes = await pushesTo(offlineDevice);
    expect(pushes).toHaveLength(1);
    expect(pushes[0]?.message.notification.body).toContain("입장은 2번 게이트로 바뀌었습니다");
    expect(pushes[0]?.message.data).toMatchObject({
      type: "chat.announcement",
      seq: String(posted.body.seq),
    });
    // A member with the room open saw it live: no push.
    expect(await pushesTo(onlineDevice)).toHaveLength(0);

    // Deleting the announcement unpins it.
    expect((await api("DELETE", `${chat}/messages/${posted.body.seq}`, { token: staff.token })).status).toBe(
      204,
    );
    const unpinned = await api<{ announcement: ChatMessage | null }>("GET", `${chat}/pinned`, {
      token: member.token,
    });
    expect(unpinned.body.announcement).toBeNull();
    // DynamoDB keeps it as posted, marked as an announcement (the deletion lives in the room).
    await drainToKafka(festivalId);
    await runConsumer();
    expect((await dynamoItems(festivalId)).find((m) => m.seq === posted.body.seq)).toMatchObject({
      kind: "announcement",
      text: "입장은 2번 게이트로 바뀌었습니다",
    });
    await client.close();
  });

  it("posts one announcement for a repeated Idempotency-Key and refuses the key with another text", async () => {
    const { festivalId, members, staff, chat } = await moderatedRoom(1);
    const member = nth(members, 0);
    const key = `announce-${crypto.randomUUID()}`;
    const post = (text: string) =>
      rawApi("POST", `${chat}/announcements`, {
        token: staff.token,
        headers: { "idempotency-key": key },
        body: { text },
      });
    const text = "우천으로 공연이 30분 늦게 시작합니다";

    // A client retrying after a lost answer: the same key and body get the first answer again.
    const first = await post(text);
    expect(first.status).toBe(201);
    const seq = (JSON.parse(first.text) as ChatMessage).seq;
    expectReplay(await post(text), first);
    const reused = await post("다른 공지");
    expect(reused.status).toBe(422);
    expect((JSON.parse(reused.text) as ApiError).error.code).toBe("idempotency.key_reused");

    const history = await historyPage(festivalId, member.token);
    expect(history.status).toBe(200);
    expect(history.body.items.filter((m) => m.kind === "announcement")).toEqual([
      expect.objectContaining({ seq, text }),
    ]);
    const pinned = await api<{ announcement: ChatMessage | null }>("GET", `${chat}/pinned`, {
      token: member.token,
    });
    expect(pinned.body.announcement).toMatchObject({ seq, text });
  });
});

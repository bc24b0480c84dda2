import { describe, expect, it } from "vitest";
import { CHAT_LIMITS } from "../../durable-objects/chat-room/contract/protocol";
import { DELETED_NICKNAME } from "../../workers/api/me/service";
import { chatFestival, join } from "./chat-helpers";
import {
  closeAll,
  drainToKafka,
  dynamoItems,
  historyPage,
  outboxState,
  pageAll,
  range,
  runConsumer,
  sendBurst,
} from "./chat-history-helpers";
import { createAdminUser, createUsers, PASSWORD } from "./fixtures";
import { type ApiError, api } from "./helpers";

const { sendBurst: BURST } = CHAT_LIMITS;

describe("GET /v1/festivals/{id}/messages: history", () => {
  it("pages through 1,000+ messages newest first, without repeats or gaps, while new ones arrive", async () => {
    const { festivalId, members } = await chatFestival(60);
    const senders = members.slice(0, 50);
    const late = members.slice(50);
    const reader = members[0] as { token: string };

    // 50 users × 20 = 1000 messages, each user within the room's send burst.
    const first = await sendBurst(festivalId, senders, BURST, "a");
    expect([...first.texts.keys()].sort((x, y) => x - y)).toEqual(range(1, 1000));
    await drainToKafka(festivalId);
    await runConsumer();
    expect((await dynamoItems(festivalId)).map((i) => i.seq)).toEqual(range(1, 1000));
    expect((await outboxState(festivalId)).persistedSeq).toBe(1000);

    // 130 more that only the room has: the newest pages come from it, older ones from DynamoDB.
    const second = await sendBurst(festivalId, late, 13, "b");
    const texts = new Map([...first.texts, ...second.texts]);
    const lastSeq = 1130;
    expect(Math.max(...texts.keys())).toBe(lastSeq);

    // One late user keeps talking while the reader scrolls back; midway the consumer runs and the
    // room drops what DynamoDB now has, moving the boundary between the two sources under the reader.
    const talker = (await join(festivalId, late[0] as { token: string })).client;
    let extra = 0;
    const pages = await pageAll(festivalId, reader.token, 50, async (i) => {
      if (extra < BURST - 13) {
        const ack = await talker.say(`live ${extra++}`);
        expect(ack.type).toBe("ack");
      }
      if (i === 3) {
        await drainToKafka(festivalId);
        await runConsumer();
      }
    });

    const seqs = pages.flatMap((p) => p.items.map((m) => m.seq));
    expect(seqs).toEqual(range(1, lastSeq).reverse());
    for (const page of pages) expect(page.items.length).toBeLessThanOrEqual(50);
    expect(pages.slice(0, -1).every((p) => p.items.length === 50)).toBe(true);
    expect(pages.at(-1)?.nextCursor).toBeNull();
    for (const m of pages.flatMap((p) => p.items)) {
      expect(m.text).toBe(texts.get(m.seq));
      expect(m.nickname).toBe("관객");
      expect(new Date(m.sentAt).toISOString()).toBe(m.sentAt);
    }
    // The live messages came after the first page, so they are not in this scroll, but are in a new one.
    expect(extra).toBeGreaterThan(0);
    const top = await historyPage(festivalId, reader.token, { limit: 10 });
    expect(top.body.items[0]?.seq).toBe(lastSeq + extra);
    await closeAll([...first.clients, ...second.clients, talker]);
  }, 120_000);

  it("includes acked messages that DynamoDB does not have yet, even beyond the recent buffer", async () => {
    const { festivalId, members } = await chatFestival(13);
    const { texts, clients } = await sendBurst(festivalId, members, BURST, "t");
    const total = 13 * BURST;
    expect(total).toBeGreaterThan(CHAT_LIMITS.bufferSize);
    // In Kafka is not in DynamoDB: with no consumer run, the room keeps all of them.
    await drainToKafka(festivalId);
    expect(await outboxState(festivalId)).toMatchObject({ producedSeq: total, persistedSeq: 0, rows: total });
    const token = (members[0] as { token: string }).token;
    const before = await pageAll(festivalId, token, 37);
    expect(before.flatMap((p) => p.items.map((m) => m.seq))).toEqual(range(1, total).reverse());

    await runConsumer();
    // Once persisted, the room drops its outbox copies and the same scroll reads DynamoDB.
    expect(await outboxState(festivalId)).toMatchObject({ persistedSeq: total, rows: 0 });
    const after = await pageAll(festivalId, token, 37);
    expect(after.flatMap((p) => p.items)).toEqual(before.flatMap((p) => p.items));
    expect(after.flatMap((p) => p.items).map((m) => m.text)).toEqual(
      range(1, total)
        .reverse()
        .map((s) => texts.get(s)),
    );
    await closeAll(clients);
  });

  it("answers an empty room, a page past the start, and a cursor from the middle", async () => {
    const { festivalId, members } = await chatFestival(1);
    const token = (members[0] as { token: string }).token;
    const empty = await historyPage(festivalId, token);
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({ items: [], nextCursor: null });

    const { clients } = await sendBurst(festivalId, members, 5, "m");
    const page = await historyPage(festivalId, token, { before: 4, limit: 2 });
    expect(page.body.items.map((m) => m.seq)).toEqual([3, 2]);
    expect(page.body.nextCursor).toBe("2");
    const last = await historyPage(festivalId, token, { before: 2, limit: 2 });
    expect(last.body).toMatchObject({ items: [{ seq: 1 }], nextCursor: null });
    expect((await historyPage(festivalId, token, { before: 1 })).body).toEqual({
      items: [],
      nextCursor: null,
    });
    await closeAll(clients);
  });

  it("shows a deleted account's messages under the anonymous name, also those already in DynamoDB", async () => {
    const { festivalId, members } = await chatFestival(12);
    const [leaver, ...others] = members as [
      { id: number; token: string },
      ...{ id: number; token: string }[],
    ];
    const { clients: mine } = await sendBurst(festivalId, [leaver], 1, "x");
    await closeAll(mine);
    // Enough after it that seq 1 leaves the room's buffer and lives only in DynamoDB.
    const { clients } = await sendBurst(festivalId, others, BURST, "y");
    await drainToKafka(festivalId);
    await runConsumer();
    expect((await dynamoItems(festivalId))[0]).toMatchObject({ seq: 1, nickname: "관객" });

    expect(
      (await api("DELETE", "/v1/me", { token: leaver.token, body: { password: PASSWORD } })).status,
    ).toBe(204);
    const pages = await pageAll(festivalId, (others[0] as { token: string }).token, 100);
    const items = pages.flatMap((p) => p.items);
    expect(items.at(-1)).toMatchObject({ seq: 1, userId: leaver.id, nickname: DELETED_NICKNAME });
    expect(items.filter((m) => m.userId !== leaver.id).every((m) => m.nickname === "관객")).toBe(true);
    await closeAll(clients);
  });
});

describe("GET /v1/festivals/{id}/messages: who may read", () => {
  it("refuses no token (401), a bad token (401) and a non-member (403); admins may read", async () => {
    const { festivalId, members } = await chatFestival(1);
    const { clients } = await sendBurst(festivalId, members, 1, "s");
    const noToken = await api<ApiError>("GET", `/v1/festivals/${festivalId}/messages`);
    expect(noToken.status).toBe(401);
    expect(noToken.body.error.code).toBe("auth.missing_token");
    expect((await historyPage(festivalId, "not-a-token")).status).toBe(401);

    const [stranger] = await createUsers(1);
    const refused = await api<ApiError>("GET", `/v1/festivals/${festivalId}/messages`, {
      token: stranger?.token,
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("chat.not_member");

    const admin = await createAdminUser();
    const seen = await historyPage(festivalId, admin.token);
    expect(seen.status).toBe(200);
    expect(seen.body.items.map((m) => m.seq)).toEqual([1]);
    await closeAll(clients);
  });

  it("answers a festival without a room with 404 and bad paging input with 400", async () => {
    const { festivalId, members } = await chatFestival(1);
    const token = (members[0] as { token: string }).token;
    const missing = await api<ApiError>("GET", "/v1/festivals/999999999/messages", { token });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("chat.room_not_found");
    for (const query of [
      "limit=0",
      "limit=101",
      "limit=x",
      "before=0",
      "before=-3",
      "before=1.5",
      "before=abc",
    ]) {
      const res = await api<ApiError>("GET", `/v1/festivals/${festivalId}/messages?${query}`, { token });
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe("validation.failed");
    }
  });
});

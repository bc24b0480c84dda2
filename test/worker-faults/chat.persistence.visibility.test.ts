import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { V1AdminChatPersistenceGetResponse } from "../../workers/api/chat/v1_admin_chat_persistence_get";
import { runChatConsumer } from "../../workers/jobs/chat-consumer";
import { createLogger } from "../../workers/lib/logger";
import { chatFestival } from "../worker/chat-helpers";
import { closeAll, drainToKafka, runConsumer, sendBurst } from "../worker/chat-history-helpers";
import { createAdmin } from "../worker/fixtures";
import { type ApiError, api, control } from "../worker/helpers";

/** An admin sees how far chat messages are from DynamoDB: per room, and per partition of the consumer. */

const view = (token: string) =>
  api<V1AdminChatPersistenceGetResponse>("GET", "/v1/admin/chat/persistence", { token });

describe("chat persistence: visibility", () => {
  it("shows the room's oldest unpersisted message until the consumer writes it, then the consumer's lag", async () => {
    const admin = await createAdmin();
    const { festivalId, members } = await chatFestival(2);
    const roomId = String(festivalId);
    const before = Date.now();
    // Kafka down: the messages wait in the room's outbox, which the drain reports.
    await control("stop", "kafka");
    let sent: Awaited<ReturnType<typeof sendBurst>>;
    try {
      sent = await sendBurst(festivalId, members, 3, "v");
      await drainToKafka(festivalId, 1_500).catch(() => {});
      const waiting = await view(admin.token);
      expect(waiting.status).toBe(200);
      const room = waiting.body.rooms.find((r) => r.roomId === roomId);
      expect(room).toBeDefined();
      expect(Date.parse(room?.oldestUnpersistedAt ?? "")).toBeGreaterThanOrEqual(before - 1000);
      expect(room?.ageMs).toBeGreaterThanOrEqual(0);
      expect(waiting.body.roomsWithUnpersisted).toBeGreaterThanOrEqual(1);
    } finally {
      await control("start", "kafka");
    }
    await drainToKafka(festivalId);
    expect(await runConsumer()).toMatchObject({ stoppedBy: "idle" });

    const done = await view(admin.token);
    expect(done.body.rooms.find((r) => r.roomId === roomId)).toBeUndefined();
    const consumer = done.body.consumer;
    expect(consumer).toMatchObject({ topic: "chat-messages", group: "chat-persister" });
    expect(consumer?.partitions.length).toBeGreaterThan(0);
    // The run ended with nothing left to read: every partition is caught up.
    expect(consumer?.partitions.some((p) => (p.committed ?? 0) > 0)).toBe(true);
    for (const p of consumer?.partitions ?? []) expect(p.lag).toBe(0);
    await closeAll(sent.clients);
  });

  it("counts a partition the group never committed as behind from the log start, not as unknown", async () => {
    const admin = await createAdmin();
    const { festivalId, members } = await chatFestival(2);
    const sent = await sendBurst(festivalId, members, 2, "lag");
    await drainToKafka(festivalId);
    // A group that never committed (DynamoDB down: the run reads, writes nothing, commits nothing).
    const group = `never-committed-${crypto.randomUUID()}`;
    await control("stop", "dynamo");
    try {
      const run = await runChatConsumer(
        { ...env, KAFKA_CONSUMER_GROUP: group },
        createLogger({ test: "lag" }),
        { budgetMs: 3_000, pollWaitMs: 300, untilIdle: true },
      );
      expect(run).toMatchObject({ stoppedBy: "write-failed", commits: 0 });
    } finally {
      await control("start", "dynamo");
    }
    const consumer = (await view(admin.token)).body.consumer;
    expect(consumer?.group).toBe(group);
    const partitions = consumer?.partitions ?? [];
    expect(partitions.length).toBeGreaterThan(0);
    // The stand-in keeps its whole log (start 0): everything in the partition is behind.
    for (const p of partitions) expect(p).toMatchObject({ committed: null, lag: p.end });
    expect(partitions.some((p) => p.end > 0)).toBe(true);
    await closeAll(sent.clients);
  });

  it("is for admins only", async () => {
    const { members } = await chatFestival(1);
    const res = await api<ApiError>("GET", "/v1/admin/chat/persistence", {
      token: (members[0] as { token: string }).token,
    });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("auth.forbidden");
    expect((await api<ApiError>("GET", "/v1/admin/chat/persistence")).status).toBe(401);
  });
});

import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { OutboxState } from "../../durable-objects/chat-room/outbox";
import type { V1FestivalsMessagesGetResponse } from "../../workers/api/chat/v1_festivals_messages_get";
import { type ChatConsumerOptions, runChatConsumer } from "../../workers/jobs/chat-consumer";
import type { ChatItem } from "../../workers/lib/dynamo.ts";
import { createLogger } from "../../workers/lib/logger";
import { type ChatClient, join, services, stubOf } from "./chat-helpers";
import { api } from "./helpers";

/** Helpers for the durable half of chat: outbox drain, the consumer, DynamoDB and the history route. */

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Each user sends `perUser` messages at once (within the room's send burst) over their own socket
 * and waits for every ack. Returns text by seq; the sockets stay open for the caller.
 */
export async function sendBurst(
  festivalId: number,
  users: { token: string }[],
  perUser: number,
  tag: string,
): Promise<{ texts: Map<number, string>; clients: ChatClient[] }> {
  const clients = await Promise.all(users.map(async (u) => (await join(festivalId, u)).client));
  const texts = new Map<number, string>();
  await Promise.all(
    clients.map(async (c, i) => {
      const from = c.frames.length;
      for (let n = 0; n < perUser; n++)
        c.send({ type: "send", clientMsgId: `${tag}-${i}-${n}`, text: `${tag} ${i}/${n}` });
      for (let n = 0; n < perUser; n++) {
        const ack = await c.waitFor(
          (f) => (f.type === "ack" || f.type === "error") && f.clientMsgId === `${tag}-${i}-${n}`,
          {
            from,
            timeoutMs: 15_000,
          },
        );
        if (ack.type !== "ack") throw new Error(`not acked: ${JSON.stringify(ack)}`);
        texts.set(ack.seq, `${tag} ${i}/${n}`);
      }
    }),
  );
  return { texts, clients };
}

export const closeAll = (clients: ChatClient[]) => Promise.all(clients.map((c) => c.close()));

export function outboxState(festivalId: number) {
  return runInDurableObject(stubOf(festivalId), (_instance, state) => {
    const [row] = state.storage.sql
      .exec<{ produced_seq: number; persisted_seq: number; failures: number; retry_at: number }>(
        "SELECT produced_seq, persisted_seq, failures, retry_at FROM outbox_state WHERE id = 1",
      )
      .toArray();
    const [rows] = state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox").toArray();
    const [last] = state.storage.sql.exec<{ last_seq: number }>("SELECT last_seq FROM room").toArray();
    const out: OutboxState & { rows: number; lastSeq: number } = {
      producedSeq: row?.produced_seq ?? 0,
      persistedSeq: row?.persisted_seq ?? 0,
      failures: row?.failures ?? 0,
      retryAt: row?.retry_at ?? 0,
      rows: rows?.n ?? 0,
      lastSeq: last?.last_seq ?? 0,
    };
    return out;
  });
}

export const alarmAt = (festivalId: number) =>
  runInDurableObject(stubOf(festivalId), (_instance, state) => state.storage.getAlarm());

/**
 * Runs the room's alarm until Kafka has every message of the outbox, waiting out a backoff when the
 * drain is in one (after an outage) rather than sleeping for fixed times.
 */
export async function drainToKafka(festivalId: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const st = await outboxState(festivalId);
    if (st.producedSeq >= st.lastSeq) return;
    if (Date.now() > deadline) throw new Error(`outbox not drained: ${JSON.stringify(st)}`);
    if (st.retryAt > Date.now()) await sleep(Math.min(st.retryAt - Date.now() + 10, 1000));
    else await runDurableObjectAlarm(stubOf(festivalId));
  }
}

/** One pass of the cron consumer over what Kafka holds. */
export function runConsumer(opts: Partial<ChatConsumerOptions> = {}) {
  return runChatConsumer(env, createLogger({ test: "chat-consumer" }), {
    budgetMs: 20_000,
    pollWaitMs: 300,
    untilIdle: true,
    ...opts,
  });
}

/** Every item DynamoDB holds for the room, oldest first (consistent reads). */
export async function dynamoItems(festivalId: number): Promise<ChatItem[]> {
  const items: ChatItem[] = [];
  let beforeSeq: number | undefined;
  do {
    const page = await services().dynamo.queryPage({
      table: env.DYNAMO_TABLE,
      roomId: String(festivalId),
      limit: 500,
      consistentRead: true,
      ...(beforeSeq === undefined ? {} : { beforeSeq }),
    });
    items.push(...page.items);
    beforeSeq = page.nextBeforeSeq;
  } while (beforeSeq !== undefined);
  return items.reverse();
}

export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

export type HistoryPage = V1FestivalsMessagesGetResponse;

/** T: the error envelope when the test expects one. */
export function historyPage<T = HistoryPage>(
  festivalId: number,
  token: string,
  q: { before?: string | number; limit?: number } = {},
) {
  const params = new URLSearchParams();
  if (q.before !== undefined) params.set("before", String(q.before));
  if (q.limit !== undefined) params.set("limit", String(q.limit));
  const query = params.size ? `?${params}` : "";
  return api<T>("GET", `/v1/festivals/${festivalId}/messages${query}`, { token });
}

/** Follows nextCursor to the start of the room; `between` runs after each page (e.g. to send more). */
export async function pageAll(
  festivalId: number,
  token: string,
  limit: number,
  between: (pageIndex: number) => Promise<void> = async () => {},
): Promise<HistoryPage[]> {
  const pages: HistoryPage[] = [];
  let before: string | undefined;
  for (;;) {
    const res = await historyPage(festivalId, token, { limit, ...(before ? { before } : {}) });
    if (res.status !== 200) throw new Error(`history ${res.status}: ${JSON.stringify(res.body)}`);
    pages.push(res.body);
    if (res.body.nextCursor === null) return pages;
    if (pages.length > 10_000) throw new Error("history does not end");
    before = res.body.nextCursor;
    await between(pages.length - 1);
  }
}

/** The Kafka stand-in's state as POST /admin/config answers it (local/kafka-rest/server.ts). */
export interface KafkaStandinConfig {
  consumerInstanceTimeoutMs: number;
  maxRecordBytes: number;
  loseAnswers: { key: string; times: number; lost: number };
}

/** Test-only knobs of the Kafka stand-in (POST /admin/config); `{}` reads them without a change. */
export async function configureKafka(config: {
  consumerInstanceTimeoutMs?: number;
  maxRecordBytes?: number;
  loseAnswers?: { key: string; times: number };
}): Promise<KafkaStandinConfig> {
  const res = await fetch(`${env.KAFKA_URL}/admin/config`, {
    method: "POST",
    headers: {
      authorization: `Basic ${btoa(`${env.KAFKA_USERNAME}:${env.KAFKA_PASSWORD}`)}`,
      "content-type": "application/json",
    },
    body: JSON.stringify(config),
  });
  if (!res.ok) throw new Error(`stand-in config: ${res.status} ${await res.text()}`);
  return (await res.json()) as KafkaStandinConfig;
}

import { afterEach, describe, expect, it } from "vitest";
import type { ChatItem } from "../../workers/lib/dynamo.ts";
import { chatFestival } from "../worker/chat-helpers";
import {
  closeAll,
  configureKafka,
  drainToKafka,
  dynamoItems,
  outboxState,
  pageAll,
  range,
  runConsumer,
  sendBurst,
  sleep,
} from "../worker/chat-history-helpers";
import type { SeededUser } from "../worker/fixtures";

/**
 * A consumer poll whose answer is lost (the consumer's own deadline passed on a loaded machine, or
 * the connection dropped) after the REST proxy handed its records out: the proxy's instance has
 * moved its fetch position past them. Under the dialect of this project (v2, or Upstash's in the
 * worker-faults-upstash project), every acked message must still reach DynamoDB once, in order:
 * the run must not poll on from that position and commit past what it never received.
 */

/** The Kafka stand-in's lost-answer fault (local/kafka-rest/groups.ts `loseAnswers`); no argument: its state. */
const loseAnswers = async (set?: { key: string; times: number }) =>
  (await configureKafka(set ? { loseAnswers: set } : {})).loseAnswers;

afterEach(() => loseAnswers({ key: "", times: 0 }));

function expectExactly(items: ChatItem[], texts: Map<number, string>) {
  const want = [...texts.keys()].sort((a, b) => a - b);
  expect(items.map((i) => i.seq)).toEqual(want);
  expect(new Set(items.map((i) => i.id)).size).toBe(items.length);
  for (const item of items) expect(item.text).toBe(texts.get(item.seq));
}

describe("chat persistence: a consumer poll's answer is lost", () => {
  it("reads the handed-out records again instead of committing past them", async () => {
    const { festivalId, members } = await chatFestival(2);
    const [alice, bob] = members as [SeededUser, SeededUser];
    const first = await sendBurst(festivalId, [alice], 10, "l1");
    await drainToKafka(festivalId);

    // The first answer carrying this room's records never reaches the consumer: it times out
    // (its poll wait + slack, ~5 s) while the proxy has already moved past them.
    await loseAnswers({ key: String(festivalId), times: 1 });
    // Not untilIdle: the loss only costs a message if the same run goes on to read and commit more.
    const run = runConsumer({ budgetMs: 40_000, untilIdle: false });
    let report: Awaited<typeof run>;
    try {
      const lostBy = Date.now() + 30_000;
      while ((await loseAnswers()).lost < 1) {
        if (Date.now() > lostBy) throw new Error("the consumer never gave up on the held poll");
        await sleep(250);
      }
      // Later messages of the same room, read by the same run after the lost poll.
      const second = await sendBurst(festivalId, [bob], 10, "l2");
      await drainToKafka(festivalId);
      // The room drops its copies up to what the consumer says is persisted.
      await expect
        .poll(async () => (await outboxState(festivalId)).persistedSeq, { timeout: 30_000, interval: 250 })
        .toBe(20);
      const texts = new Map([...first.texts, ...second.texts]);
      expect([...texts.keys()].sort((a, b) => a - b)).toEqual(range(1, 20));
      expectExactly(await dynamoItems(festivalId), texts);
      expect(await outboxState(festivalId)).toMatchObject({ persistedSeq: 20, rows: 0 });
      // What a reader sees once the room holds nothing: all of it, from DynamoDB.
      const pages = await pageAll(festivalId, alice.token, 8);
      expect(pages.flatMap((p) => p.items.map((m) => m.seq))).toEqual(range(1, 20).reverse());
      await closeAll([...first.clients, ...second.clients]);
    } finally {
      // Never left running past the test, whatever failed above.
      report = await run;
    }
    expect(report.stoppedBy).toBe("budget");
    // Exactly one answer was lost: the fault fired, and the run went on past it.
    expect(await loseAnswers()).toMatchObject({ times: 0, lost: 1 });
  }, 120_000);
});

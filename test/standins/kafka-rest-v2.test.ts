import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configureKafkaStandin, createKafkaTopic } from "../../local/kafka-rest/admin.ts";
import type { KafkaStandin } from "../../local/kafka-rest/server.ts";
import { startKafkaStandin } from "../../local/kafka-rest/server.ts";

// Conformance of the Kafka stand-in's Confluent REST Proxy API v2, with plain fetch and the request and
// response shapes of the v2 reference (Confluent REST Proxy API v2; Redpanda HTTP Proxy): no client of
// ours in between, so a mistake in the project's client cannot hide one here.

const username = "v2-user";
const password = "v2-pass";
const V2 = "application/vnd.kafka.v2+json";
const BINARY = "application/vnd.kafka.binary.v2+json";
const JSON_V2 = "application/vnd.kafka.json.v2+json";
const auth = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
const b64 = (text: string) => Buffer.from(text).toString("base64");
const unb64 = (text: string) => Buffer.from(text, "base64").toString("utf8");

let root: string;
let standin: KafkaStandin;
let counter = 0;

async function freshTopic(name: string, partitions = 3): Promise<string> {
  counter += 1;
  const topic = `${name}-${counter}`;
  await createKafkaTopic(standin.url, { username, password }, topic, partitions);
  return topic;
}

async function call<T = unknown>(
  method: string,
  url: string,
  opts: { body?: unknown; type?: string; accept?: string; authorization?: string } = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(url.startsWith("http") ? url : `${standin.url}${url}`, {
    method,
    headers: {
      authorization: opts.authorization ?? auth,
      accept: opts.accept ?? V2,
      ...(opts.body === undefined ? {} : { "content-type": opts.type ?? V2 }),
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

interface Offsets {
  offsets: {
    partition: number | null;
    offset: number | null;
    error_code: number | null;
    error: string | null;
  }[];
}
interface WireRecord {
  topic: string;
  key: string | null;
  value: unknown;
  partition: number;
  offset: number;
}

const produce = (topic: string, records: { key?: string; value: string }[]) =>
  call<Offsets>("POST", `/topics/${topic}`, {
    type: BINARY,
    body: {
      records: records.map((r) => ({ key: r.key === undefined ? null : b64(r.key), value: b64(r.value) })),
    },
  });

async function consumer(group: string, name: string, format = "binary") {
  const created = await call<{ instance_id: string; base_uri: string }>("POST", `/consumers/${group}`, {
    body: { name, format, "auto.offset.reset": "earliest", "auto.commit.enable": "false" },
  });
  expect(created.status).toBe(200);
  return created.body;
}

const records = (baseUri: string, accept = BINARY, timeout = 200) =>
  call<WireRecord[]>("GET", `${baseUri}/records?timeout=${timeout}&max_bytes=1000000`, { accept });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "kafka-rest-v2-"));
  standin = await startKafkaStandin({ dataDir: root, username, password, partitions: 4 });
});

afterAll(async () => {
  await standin?.close();
  await rm(root, { recursive: true, force: true });
});

describe("Kafka stand-in, Confluent REST Proxy API v2", () => {
  it("produces binary records keyed to partitions, in order, and answers their offsets", async () => {
    const topic = await freshTopic("produce");
    const res = await produce(
      topic,
      Array.from({ length: 5 }, (_, i) => ({ key: "room-1", value: `m${i}` })),
    );
    expect(res.status).toBe(200);
    const partition = res.body.offsets[0]?.partition;
    expect(res.body.offsets).toEqual(
      [0, 1, 2, 3, 4].map((offset) => ({ partition, offset, error_code: null, error: null })),
    );
    // The same key always lands on the same partition.
    const again = await produce(topic, [{ key: "room-1", value: "m5" }]);
    expect(again.body.offsets[0]).toMatchObject({ partition, offset: 5 });
  });

  it("answers 404 error_code 40401 for a topic nobody created, and writes nothing", async () => {
    const res = await produce("not-created", [{ value: "x" }]);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error_code: 40401, message: expect.stringContaining("not-created") });
    const meta = await call("GET", "/topics/not-created");
    expect(meta).toEqual({ status: 404, body: { error_code: 40401, message: expect.any(String) } });
    const list = await call<string[]>("GET", "/topics");
    expect(list.body).not.toContain("not-created");
  });

  it("lists topics and serves topic, partition and offset metadata", async () => {
    const topic = await freshTopic("meta", 2);
    await produce(topic, [{ value: "a" }, { value: "b" }, { value: "c" }]);
    expect((await call<string[]>("GET", "/topics")).body).toContain(topic);
    const meta = await call<{ name: string; partitions: { partition: number }[] }>("GET", `/topics/${topic}`);
    expect(meta.body.name).toBe(topic);
    expect(meta.body.partitions.map((p) => p.partition)).toEqual([0, 1]);
    const parts = await call<{ partition: number }[]>("GET", `/topics/${topic}/partitions`);
    expect(parts.body.map((p) => p.partition)).toEqual([0, 1]);
    const ends = await Promise.all(
      [0, 1].map(
        async (p) =>
          (await call<{ end_offset: number }>("GET", `/topics/${topic}/partitions/${p}/offsets`)).body,
      ),
    );
    expect(ends.reduce((sum, o) => sum + o.end_offset, 0)).toBe(3);
    expect(ends[0]).toMatchObject({ beginning_offset: 0 });
  });

  it("runs a consumer instance: create, subscribe, records, commit the last record read, delete", async () => {
    const topic = await freshTopic("consume", 1);
    await produce(
      topic,
      ["a", "b", "c", "d"].map((value) => ({ key: "k", value })),
    );
    const { instance_id, base_uri } = await consumer("g-consume", "first");
    expect(instance_id).toBe("first");
    expect(base_uri).toBe(`${standin.url}/consumers/g-consume/instances/first`);
    expect((await call("POST", `${base_uri}/subscription`, { body: { topics: [topic] } })).status).toBe(204);

    const got = await records(base_uri);
    expect(got.status).toBe(200);
    expect(got.body.map((r) => [r.offset, unb64(r.key ?? ""), unb64(r.value as string)])).toEqual([
      [0, "k", "a"],
      [1, "k", "b"],
      [2, "k", "c"],
      [3, "k", "d"],
    ]);
    // Confluent and Karapace: `offsets` names the last record processed (here b, offset 1).
    const commit = await call("POST", `${base_uri}/offsets`, {
      body: { offsets: [{ topic, partition: 0, offset: 1 }] },
    });
    expect(commit.status).toBe(204);
    expect((await call("DELETE", base_uri)).status).toBe(204);
    expect(await records(base_uri)).toEqual({
      status: 404,
      body: { error_code: 40403, message: expect.any(String) },
    });

    // A new member of the group starts after what was committed.
    const second = await consumer("g-consume", "second");
    await call("POST", `${second.base_uri}/subscription`, { body: { topics: [topic] } });
    expect((await records(second.base_uri)).body.map((r) => r.offset)).toEqual([2, 3]);
    await call("DELETE", second.base_uri);
  });

  it("takes Redpanda's commit body too: `partitions` naming the next offset to read", async () => {
    const topic = await freshTopic("redpanda", 1);
    await produce(
      topic,
      ["a", "b", "c"].map((value) => ({ value })),
    );
    const first = await consumer("g-redpanda", "one");
    await call("POST", `${first.base_uri}/subscription`, { body: { topics: [topic] } });
    expect((await records(first.base_uri)).body).toHaveLength(3);
    const commit = await call("POST", `${first.base_uri}/offsets`, {
      body: { partitions: [{ topic, partition: 0, offset: 2 }] },
    });
    expect(commit.status).toBe(204);
    await call("DELETE", first.base_uri);
    const second = await consumer("g-redpanda", "two");
    await call("POST", `${second.base_uri}/subscription`, { body: { topics: [topic] } });
    expect((await records(second.base_uri)).body.map((r) => r.offset)).toEqual([2]);
    await call("DELETE", second.base_uri);
  });

  it("expires an idle instance (404 40403) and refuses a taken name (409 40902)", async () => {
    const topic = await freshTopic("expiry", 1);
    const first = await consumer("g-expiry", "idle");
    expect(
      (await call("POST", `/consumers/g-expiry`, { body: { name: "idle", format: "binary" } })).body,
    ).toEqual({
      error_code: 40902,
      message: expect.any(String),
    });
    await call("POST", `${first.base_uri}/subscription`, { body: { topics: [topic] } });
    await configureKafkaStandin(standin.url, { username, password }, { consumerInstanceTimeoutMs: 100 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(await records(first.base_uri)).toEqual({
        status: 404,
        body: { error_code: 40403, message: "Consumer instance not found." },
      });
      const commit = await call("POST", `${first.base_uri}/offsets`, {
        body: { offsets: [{ topic, partition: 0, offset: 0 }] },
      });
      expect(commit.status).toBe(404);
    } finally {
      await configureKafkaStandin(
        standin.url,
        { username, password },
        { consumerInstanceTimeoutMs: 300_000 },
      );
    }
  });

  it("embeds JSON in the json format, and refuses an Accept that does not match the instance (406)", async () => {
    const topic = await freshTopic("json", 1);
    const produced = await call<Offsets>("POST", `/topics/${topic}`, {
      type: JSON_V2,
      body: { records: [{ key: "k", value: { hello: "세계" } }] },
    });
    expect(produced.body.offsets[0]).toMatchObject({ offset: 0, error_code: null });
    const json = await consumer("g-json", "j", "json");
    await call("POST", `${json.base_uri}/subscription`, { body: { topics: [topic] } });
    expect((await records(json.base_uri, BINARY)).status).toBe(406);
    expect((await records(json.base_uri, JSON_V2)).body).toEqual([
      { topic, key: "k", value: { hello: "세계" }, partition: 0, offset: 0 },
    ]);
    await call("DELETE", json.base_uri);
  });

  it("reports a record over the size limit per record (error_code 1) and writes the others", async () => {
    const topic = await freshTopic("large", 1);
    await configureKafkaStandin(standin.url, { username, password }, { maxRecordBytes: 50 });
    try {
      const res = await produce(topic, [{ value: "ok" }, { value: "x".repeat(51) }]);
      expect(res.status).toBe(200);
      expect(res.body.offsets[0]).toMatchObject({ offset: 0, error_code: null });
      expect(res.body.offsets[1]).toMatchObject({
        error_code: 1,
        error: expect.stringContaining("larger than 50"),
      });
    } finally {
      await configureKafkaStandin(standin.url, { username, password }, { maxRecordBytes: 1_048_588 });
    }
  });

  it("shares the log with the Upstash dialect: what one produces the other consumes", async () => {
    const topic = await freshTopic("shared", 1);
    await produce(topic, [{ key: "room", value: '{"via":"v2"}' }]);
    const upstash = await fetch(`${standin.url}/produce/${topic}`, {
      method: "POST",
      headers: { authorization: auth },
      body: JSON.stringify({ key: "room", value: '{"via":"upstash"}' }),
    });
    expect(upstash.status).toBe(200);
    const c = await consumer("g-shared", "s");
    await call("POST", `${c.base_uri}/subscription`, { body: { topics: [topic] } });
    expect((await records(c.base_uri)).body.map((r) => unb64(r.value as string))).toEqual([
      '{"via":"v2"}',
      '{"via":"upstash"}',
    ]);
    await call("DELETE", c.base_uri);
  });

  it("bounds GET records by max_bytes of unencoded keys and values, as Confluent's proxy does", async () => {
    const topic = await freshTopic("max-bytes", 1);
    // Each record is 10 bytes unencoded: key "k" + a 9-byte value (base64 on the wire is longer).
    await produce(
      topic,
      [1, 2, 3, 4, 5].map((n) => ({ key: "k", value: `value-00${n}` })),
    );
    const c = await consumer("g-max-bytes", "m");
    await call("POST", `${c.base_uri}/subscription`, { body: { topics: [topic] } });
    const get = (maxBytes: string) =>
      call<WireRecord[]>("GET", `${c.base_uri}/records?timeout=200&max_bytes=${maxBytes}`, {
        accept: BINARY,
      });

    // A record is added while the bytes so far plus its own stay under the limit: 10, 20, 30 < 35.
    expect((await get("35")).body.map((r) => r.offset)).toEqual([0, 1, 2]);
    // Reaching the limit exactly is too much: 10 + 10 = 20 is not under 20.
    expect((await get("20")).body.map((r) => r.offset)).toEqual([3]);
    // A limit below the next record answers nothing at once, and the record waits for the next call.
    const started = Date.now();
    expect(await get("5")).toEqual({ status: 200, body: [] });
    expect(Date.now() - started).toBeLessThan(200);
    expect((await get("1000")).body.map((r) => [r.offset, unb64(r.value as string)])).toEqual([
      [4, "value-005"],
    ]);
    expect((await get("lots")).status).toBe(422);
    await call("DELETE", c.base_uri);
  });

  it("splits a group's partitions between its live members, and moves them when one joins or leaves", async () => {
    const topic = await freshTopic("rebalance", 4);
    const toEach = (tag: string) =>
      call<Offsets>("POST", `/topics/${topic}`, {
        type: BINARY,
        body: { records: [0, 1, 2, 3].map((partition) => ({ value: b64(`${tag}${partition}`), partition })) },
      });
    await toEach("a");
    const partitionsOf = (got: { body: WireRecord[] }) =>
      [...new Set(got.body.map((r) => r.partition))].sort();
    const join = async (name: string) => {
      const c = await consumer("g-rebalance", name);
      await call("POST", `${c.base_uri}/subscription`, { body: { topics: [topic] } });
      return c.base_uri;
    };

    // Alone in the group, the first member owns every partition.
    const first = await join("first");
    expect(partitionsOf(await records(first))).toEqual([0, 1, 2, 3]);
    // A second member joins on its first poll and gets half (the range assignor, in join order);
    // nothing was committed, so it starts at the earliest record of its partitions.
    const second = await join("second");
    const secondGot = await records(second);
    expect(partitionsOf(secondGot)).toEqual([2, 3]);
    expect(secondGot.body.map((r) => unb64(r.value as string)).sort()).toEqual(["a2", "a3"]);
    // From now on each member reads only its own share, though the first one never left.
    await toEach("b");
    const firstAgain = await records(first);
    expect(firstAgain.body.map((r) => unb64(r.value as string)).sort()).toEqual(["b0", "b1"]);
    expect((await records(second)).body.map((r) => unb64(r.value as string)).sort()).toEqual(["b2", "b3"]);

    // The second commits its share and leaves: its partitions go back to the first, from the committed offsets.
    await call("POST", `${second}/offsets`, {
      body: { offsets: [2, 3].map((partition) => ({ topic, partition, offset: 1 })) },
    });
    expect((await call("DELETE", second)).status).toBe(204);
    await toEach("c");
    const back = await records(first);
    expect(back.body.map((r) => unb64(r.value as string)).sort()).toEqual(["c0", "c1", "c2", "c3"]);
    await call("DELETE", first);
  });

  it("keeps a silent member's partitions until the proxy expires it, then gives them to the others", async () => {
    const topic = await freshTopic("silent", 2);
    await call<Offsets>("POST", `/topics/${topic}`, {
      type: BINARY,
      body: { records: [0, 1].map((partition) => ({ value: b64(`s${partition}`), partition })) },
    });
    const join = async (name: string) => {
      const c = await consumer("g-silent", name);
      await call("POST", `${c.base_uri}/subscription`, { body: { topics: [topic] } });
      return c.base_uri;
    };
    const left = await join("left-behind");
    expect((await records(left)).body).toHaveLength(2);
    // Like a run that crashed: it never polls or leaves again, yet stays a member holding partition 0.
    const live = await join("live");
    expect((await records(live)).body.map((r) => r.partition)).toEqual([1]);
    expect((await records(live)).body).toEqual([]);

    await configureKafkaStandin(standin.url, { username, password }, { consumerInstanceTimeoutMs: 300 });
    try {
      // The live member keeps polling (so it stays); once the silent one expired it owns partition 0
      // and starts it at the earliest record.
      let got: WireRecord[] = [];
      for (let i = 0; i < 40 && !got.length; i++) got = (await records(live, BINARY, 100)).body;
      expect(got.map((r) => [r.partition, unb64(r.value as string)])).toEqual([[0, "s0"]]);
    } finally {
      await configureKafkaStandin(
        standin.url,
        { username, password },
        { consumerInstanceTimeoutMs: 300_000 },
      );
    }
    await call("DELETE", live);
  });

  it("answers bad credentials with 401 and a v2 error body", async () => {
    const res = await call("GET", "/topics/x", { authorization: `Basic ${b64(`${username}:nope`)}` });
    expect(res).toEqual({
      status: 401,
      body: { error_code: 40101, message: expect.stringMatching(/unauthorized/i) },
    });
  });
});

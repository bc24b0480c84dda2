// Conformance of the DynamoDB stand-in (dynalite) as seen through the Worker's own client
// (workers/lib/dynamo.ts, signed with aws4fetch), plus the chat-table setup.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DynamoStandin, startDynamoStandin } from "../../local/dynamo/server.ts";
import { freePort } from "../../local/http.ts";
import { chatTableDefinition, ensureChatTable } from "../../workers/lib/chat-table.ts";
import { type ChatItem, createDynamo, type Dynamo, DynamoError } from "../../workers/lib/dynamo.ts";

const TABLE = "chat_test";

function clientFor(endpoint: string): Dynamo {
  return createDynamo({
    endpoint,
    region: "ap-northeast-2",
    accessKeyId: "local",
    secretAccessKey: "local-secret",
  });
}

function message(roomId: string, seq: number, text = `message ${seq}`): ChatItem {
  return {
    roomId,
    seq,
    id: `m-${roomId}-${seq}`,
    userId: `u${seq % 3}`,
    nickname: "솜솜",
    text,
    sentAt: 1_700_000_000_000 + seq,
  };
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to fail");
}

describe("DynamoDB stand-in via the Worker client", () => {
  let dir: string;
  let port: number;
  let standin: DynamoStandin;
  let dynamo: Dynamo;
  const logs: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "somsom-dynamo-"));
    port = await freePort();
    standin = await startDynamoStandin({ port, path: join(dir, "db") });
    dynamo = clientFor(standin.endpoint);
  });

  afterAll(async () => {
    await standin?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("ensureChatTable creates the table, then reports it exists", async () => {
    const log = (m: string) => logs.push(m);
    expect(await ensureChatTable(dynamo, TABLE, { ttlAttribute: "expiresAt", log })).toBe("created");
    expect(await ensureChatTable(dynamo, TABLE, { ttlAttribute: "expiresAt", log })).toBe("exists");
    // dynalite has no UpdateTimeToLive: setup must log and carry on rather than fail.
    expect(logs.some((m) => m.includes("TTL not supported"))).toBe(true);

    const { Table } = await dynamo.call<{ Table: { TableStatus: string; KeySchema: unknown } }>(
      "DescribeTable",
      {
        TableName: TABLE,
      },
    );
    expect(Table.TableStatus).toBe("ACTIVE");
    expect(Table.KeySchema).toEqual(chatTableDefinition(TABLE).KeySchema);
  });

  it("refuses an existing table whose keys differ", async () => {
    await dynamo.call("CreateTable", {
      ...chatTableDefinition("chat_wrong_keys"),
      AttributeDefinitions: [
        { AttributeName: "roomId", AttributeType: "S" },
        { AttributeName: "seq", AttributeType: "S" },
      ],
    });
    const err = await caught(ensureChatTable(dynamo, "chat_wrong_keys", { log: () => {} }));
    expect(String(err)).toMatch(/chat needs/);
  });

  it("round-trips an item with Korean text and emoji", async () => {
    const item: ChatItem = {
      ...message("room-kr", 1, "안녕하세요 🎉🍻 축제 가즈아!"),
      expiresAt: 1_900_000_000,
    };
    await dynamo.putItem(TABLE, item);
    expect(await dynamo.getItem(TABLE, { roomId: "room-kr", seq: 1 }, { consistentRead: true })).toEqual(
      item,
    );
    expect(await dynamo.getItem(TABLE, { roomId: "room-kr", seq: 2 })).toBeUndefined();
  });

  it("re-putting the same roomId+seq overwrites (one item)", async () => {
    await dynamo.putItem(TABLE, message("room-dup", 7, "first"));
    await dynamo.putItem(TABLE, message("room-dup", 7, "second"));
    const page = await dynamo.queryPage({ table: TABLE, roomId: "room-dup", limit: 10 });
    expect(page.items.map((i) => i.text)).toEqual(["second"]);
  });

  it("batchWrite stores 60 items (chunked by 25) and pages newest first without repeats or gaps", async () => {
    const items = Array.from({ length: 60 }, (_, i) => message("room-batch", i + 1));
    expect(await dynamo.batchWrite(TABLE, items)).toEqual([]);

    const seen: number[] = [];
    let beforeSeq: number | undefined;
    let pages = 0;
    do {
      const page = await dynamo.queryPage({ table: TABLE, roomId: "room-batch", beforeSeq, limit: 25 });
      seen.push(...page.items.map((i) => i.seq));
      beforeSeq = page.nextBeforeSeq;
      pages++;
    } while (beforeSeq !== undefined && pages < 10);

    expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => 60 - i));
    expect(pages).toBeGreaterThanOrEqual(3);

    // Starting in the middle: strictly older messages only.
    const middle = await dynamo.queryPage({ table: TABLE, roomId: "room-batch", beforeSeq: 10, limit: 100 });
    expect(middle.items.map((i) => i.seq)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(middle.nextBeforeSeq).toBeUndefined();
    // Other rooms never leak in.
    const other = await dynamo.queryPage({ table: TABLE, roomId: "room-none", limit: 5 });
    expect(other).toEqual({ items: [], nextBeforeSeq: undefined });
  });

  it("batchWrite keeps only the last copy of a duplicated key", async () => {
    const unprocessed = await dynamo.batchWrite(TABLE, [
      message("room-bdup", 1, "old"),
      message("room-bdup", 1, "new"),
    ]);
    expect(unprocessed).toEqual([]);
    const page = await dynamo.queryPage({ table: TABLE, roomId: "room-bdup", limit: 10 });
    expect(page.items.map((i) => i.text)).toEqual(["new"]);
  });

  it("an unknown table is a non-retryable ResourceNotFoundException", async () => {
    const err = await caught(dynamo.putItem("no_such_table", message("r", 1)));
    expect(err).toBeInstanceOf(DynamoError);
    expect(err).toMatchObject({
      name: "ResourceNotFoundException",
      code: "ResourceNotFoundException",
      status: 400,
    });
    expect((err as DynamoError).retryable).toBe(false);
  });

  it("keeps data across a restart on the same port and path; a closed stand-in is a retryable error", async () => {
    await dynamo.putItem(TABLE, message("room-persist", 1, "살아남기 💾"));
    await standin.close();

    const err = await caught(dynamo.getItem(TABLE, { roomId: "room-persist", seq: 1 }));
    expect(err).toBeInstanceOf(DynamoError);
    expect(err).toMatchObject({ code: "NetworkError", status: 0, retryable: true });

    standin = await startDynamoStandin({ port, path: join(dir, "db") });
    expect(standin.endpoint).toBe(`http://127.0.0.1:${port}`);
    const restored = await dynamo.getItem(TABLE, { roomId: "room-persist", seq: 1 });
    expect(restored?.text).toBe("살아남기 💾");
    expect(await ensureChatTable(dynamo, TABLE, { log: () => {} })).toBe("exists");
  });

  it("refuses to open a LevelDB directory another stand-in holds", async () => {
    await expect(startDynamoStandin({ path: join(dir, "db") })).rejects.toThrow(/cannot open LevelDB/);
  });

  it("in-memory mode starts on a free port and forgets on close", async () => {
    const mem = await startDynamoStandin({});
    try {
      const client = clientFor(mem.endpoint);
      expect(await ensureChatTable(client, TABLE, { log: () => {} })).toBe("created");
    } finally {
      await mem.close();
    }
    const again = await startDynamoStandin({});
    try {
      expect(await ensureChatTable(clientFor(again.endpoint), TABLE, { log: () => {} })).toBe("created");
    } finally {
      await again.close();
    }
  });
});

// A small DynamoDB client for the Worker. The AWS SDK is far too large for a Worker bundle, and the
// chat only needs a handful of JSON API calls, so this signs requests with aws4fetch and speaks the
// DynamoDB JSON protocol (`X-Amz-Target: DynamoDB_20120810.<Operation>`) directly.
//
// Kept to plain, erasable TypeScript with `.ts` imports so it also runs unbundled under Node
// (local/dynamo-setup.ts), and only Web APIs so it runs in workerd.
import { AwsClient } from "aws4fetch";

export interface DynamoConfig {
  /** e.g. `https://dynamodb.ap-northeast-2.amazonaws.com`, or the local stand-in's URL. */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Per-request deadline; a hung request surfaces as a retryable DynamoError. Default 10 s. */
  timeoutMs?: number;
  /** The table's TTL attribute (CHAT_TTL_ATTRIBUTE): chat items store `expiresAt` under this name. */
  ttlAttribute?: string;
}

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * Error codes that mean "too much traffic, try again later". DynamoDB reports throttling as HTTP 400
 * with one of these types, so the status code alone is not enough to decide.
 */
const THROTTLING_CODES = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "LimitExceededException",
  "TransactionInProgressException",
]);

/**
 * Any failed DynamoDB call. `code` is DynamoDB's error type without its namespace (e.g.
 * `ResourceNotFoundException`), or `NetworkError` / `TimeoutError` / `InvalidResponse` for failures
 * that never produced a DynamoDB answer; `status` is 0 for those. `retryable` tells callers (which own
 * the backoff) whether the same request may succeed later: throttling, 5xx and transport failures.
 */
export class DynamoError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;

  constructor(code: string, message: string, status: number, retryable: boolean, options?: ErrorOptions) {
    super(message, options);
    this.name = code;
    this.code = code;
    this.status = status;
    this.retryable = retryable;
  }
}

export function isDynamoError(err: unknown, code?: string): err is DynamoError {
  return err instanceof DynamoError && (code === undefined || err.code === code);
}

async function errorFromResponse(res: Response): Promise<DynamoError> {
  const text = await res.text().catch(() => "");
  let type = res.headers.get("x-amzn-ErrorType") ?? "";
  let message = "";
  try {
    const body = JSON.parse(text) as { __type?: string; message?: string; Message?: string };
    type = body.__type ?? type;
    message = body.message ?? body.Message ?? "";
  } catch {
    // Not JSON (e.g. an HTML page from a proxy, or dynalite's XML 404): keep the raw text.
    message = text.slice(0, 200);
  }
  // Types look like `com.amazonaws.dynamodb.v20120810#ResourceNotFoundException`; the header form
  // may carry a `:http://...` suffix.
  const code = type.split("#").pop()?.split(":")[0] || `HTTP${res.status}`;
  const retryable = res.status >= 500 || res.status === 429 || THROTTLING_CODES.has(code);
  return new DynamoError(code, message || `DynamoDB returned HTTP ${res.status}`, res.status, retryable);
}

// ---------------------------------------------------------------------------------------------
// Attribute values (only the types the chat uses: S, N, NULL, BOOL, M, L)

export type AttributeValue =
  | { S: string }
  | { N: string }
  | { NULL: true }
  | { BOOL: boolean }
  | { M: AttributeMap }
  | { L: AttributeValue[] };
export type AttributeMap = Record<string, AttributeValue>;

export type PlainValue = string | number | boolean | null | PlainValue[] | { [key: string]: PlainValue };

export function marshalValue(value: PlainValue): AttributeValue {
  if (value === null) return { NULL: true };
  if (typeof value === "string") return { S: value };
  if (typeof value === "boolean") return { BOOL: value };
  if (typeof value === "number") {
    // DynamoDB has no NaN/Infinity; failing here beats a ValidationException for the whole batch.
    if (!Number.isFinite(value)) throw new TypeError(`cannot store non-finite number ${value} in DynamoDB`);
    return { N: String(value) };
  }
  if (Array.isArray(value)) return { L: value.map(marshalValue) };
  return { M: marshalItem(value) };
}

/** Marshals an object; properties that are `undefined` are left out (DynamoDB has no such value). */
export function marshalItem(item: { readonly [key: string]: PlainValue | undefined }): AttributeMap {
  const out: AttributeMap = {};
  for (const [key, value] of Object.entries(item)) {
    if (value !== undefined) out[key] = marshalValue(value);
  }
  return out;
}

/** Numbers come back as JS numbers: fine for seq and timestamps, lossy above 2^53. */
export function unmarshalValue(av: AttributeValue): PlainValue {
  if ("S" in av) return av.S;
  if ("N" in av) return Number(av.N);
  if ("BOOL" in av) return av.BOOL;
  if ("NULL" in av) return null;
  if ("L" in av) return av.L.map(unmarshalValue);
  if ("M" in av) return unmarshalItem(av.M);
  throw new TypeError(`unsupported DynamoDB attribute type ${Object.keys(av).join(",")}`);
}

export function unmarshalItem(map: AttributeMap): Record<string, PlainValue> {
  const out: Record<string, PlainValue> = {};
  for (const [key, av] of Object.entries(map)) out[key] = unmarshalValue(av);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Chat items

/** One stored chat message. Partition key `roomId`, sort key `seq` (per-room sequence number). */
export interface ChatItem {
  roomId: string;
  seq: number;
  id: string;
  userId: string;
  nickname: string;
  text: string;
  /** Epoch milliseconds. */
  sentAt: number;
  /** "announcement" for an organiser's announcement; absent for a member's message. */
  kind?: "announcement";
  /** Expiry, epoch *seconds* (DynamoDB's TTL unit), stored under the table's TTL attribute; absent = kept forever. */
  expiresAt?: number;
}

/** The attribute `expiresAt` is stored under when no TTL attribute is configured. */
const DEFAULT_TTL_ATTRIBUTE = "expiresAt";

export function marshalChatItem(item: ChatItem, ttlAttribute = DEFAULT_TTL_ATTRIBUTE): AttributeMap {
  return marshalItem({
    roomId: item.roomId,
    seq: item.seq,
    id: item.id,
    userId: item.userId,
    nickname: item.nickname,
    text: item.text,
    sentAt: item.sentAt,
    kind: item.kind,
    [ttlAttribute]: item.expiresAt,
  });
}

/** Reads a stored item back, checking the fields so a malformed row fails loudly here, not in the UI. */
export function unmarshalChatItem(map: AttributeMap, ttlAttribute = DEFAULT_TTL_ATTRIBUTE): ChatItem {
  const raw = unmarshalItem(map);
  const str = (key: string): string => {
    const v = raw[key];
    if (typeof v !== "string") throw new TypeError(`chat item field ${key} is not a string`);
    return v;
  };
  const num = (key: string): number => {
    const v = raw[key];
    if (typeof v !== "number") throw new TypeError(`chat item field ${key} is not a number`);
    return v;
  };
  const item: ChatItem = {
    roomId: str("roomId"),
    seq: num("seq"),
    id: str("id"),
    userId: str("userId"),
    nickname: str("nickname"),
    text: str("text"),
    sentAt: num("sentAt"),
  };
  if (raw.kind === "announcement") item.kind = "announcement";
  const expiresAt = raw[ttlAttribute];
  if (expiresAt !== undefined && expiresAt !== null) item.expiresAt = num(ttlAttribute);
  return item;
}

// ---------------------------------------------------------------------------------------------
// Client

/** DynamoDB's per-request limit for BatchWriteItem. */
export const BATCH_WRITE_MAX = 25;

export interface QueryPageInput {
  table: string;
  roomId: string;
  /** Only messages with `seq < beforeSeq`; omitted = start from the newest. */
  beforeSeq?: number;
  /** Page size (DynamoDB may return fewer, e.g. at its 1 MB response limit). */
  limit: number;
  consistentRead?: boolean;
}

export interface ChatPage {
  /** Newest first. */
  items: ChatItem[];
  /** Pass as `beforeSeq` for the next (older) page; undefined when there is nothing older. */
  nextBeforeSeq: number | undefined;
}

export interface Dynamo {
  /** Low-level call: `target` is the operation name, e.g. "PutItem"; `body` its JSON request. */
  call<T>(target: string, body: unknown): Promise<T>;
  /** Writes (or overwrites: same roomId+seq) one message. */
  putItem(table: string, item: ChatItem): Promise<void>;
  getItem(
    table: string,
    key: { roomId: string; seq: number },
    opts?: { consistentRead?: boolean },
  ): Promise<ChatItem | undefined>;
  /**
   * Writes any number of messages, 25 per BatchWriteItem request (sent one after another). Returns
   * the items DynamoDB left unprocessed (throttling); empty means all were written. The caller owns
   * backoff and should pass the returned items back in. If it throws, some chunks may already be
   * written; retrying the whole batch is safe because a put by key simply overwrites.
   */
  batchWrite(table: string, items: readonly ChatItem[]): Promise<ChatItem[]>;
  /** One page of a room's history, newest first. */
  queryPage(input: QueryPageInput): Promise<ChatPage>;
}

export function createDynamo(cfg: DynamoConfig): Dynamo {
  const aws = new AwsClient({
    accessKeyId: cfg.accessKeyId,
    secretAccessKey: cfg.secretAccessKey,
    service: "dynamodb",
    region: cfg.region,
    // aws4fetch retries 5xx/429 ten times by default; callers here manage backoff themselves and
    // need to see throttling (which DynamoDB reports as 400 anyway) promptly.
    retries: 0,
  });
  const url = `${cfg.endpoint.replace(/\/+$/, "")}/`;
  const timeoutMs = cfg.timeoutMs ?? 10_000;
  const ttl = cfg.ttlAttribute ?? DEFAULT_TTL_ATTRIBUTE;
  const toItem = (map: AttributeMap) => unmarshalChatItem(map, ttl);

  async function call<T>(target: string, body: unknown): Promise<T> {
    let res: Response;
    try {
      res = await aws.fetch(url, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-amz-json-1.0",
          "X-Amz-Target": `DynamoDB_20120810.${target}`,
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const timedOut = err instanceof Error && err.name === "TimeoutError";
      const code = timedOut ? "TimeoutError" : "NetworkError";
      // Node's fetch hides the useful part (ECONNREFUSED, ...) in `cause`.
      const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
      const detail = [err instanceof Error ? err.message : String(err), cause?.code]
        .filter(Boolean)
        .join(": ");
      throw new DynamoError(code, `DynamoDB ${target} failed: ${detail}`, 0, true, { cause: err });
    }
    if (!res.ok) throw await errorFromResponse(res);
    try {
      return (await res.json()) as T;
    } catch (err) {
      // A 200 with an unreadable body means the response was cut off in transit.
      throw new DynamoError("InvalidResponse", `DynamoDB ${target}: unreadable response`, res.status, true, {
        cause: err,
      });
    }
  }

  async function putItem(table: string, item: ChatItem): Promise<void> {
    await call("PutItem", { TableName: table, Item: marshalChatItem(item, ttl) });
  }

  async function getItem(
    table: string,
    key: { roomId: string; seq: number },
    opts: { consistentRead?: boolean } = {},
  ): Promise<ChatItem | undefined> {
    const out = await call<{ Item?: AttributeMap }>("GetItem", {
      TableName: table,
      Key: marshalItem({ roomId: key.roomId, seq: key.seq }),
      ConsistentRead: opts.consistentRead ?? false,
    });
    return out.Item ? toItem(out.Item) : undefined;
  }

  async function batchWrite(table: string, items: readonly ChatItem[]): Promise<ChatItem[]> {
    // DynamoDB rejects a whole request that names the same key twice; a later copy of a message
    // would overwrite the earlier one anyway, so keep only the last.
    const byKey = new Map<string, ChatItem>();
    for (const item of items) byKey.set(`${item.roomId}\u0000${item.seq}`, item);
    const unique = [...byKey.values()];

    const unprocessed: ChatItem[] = [];
    for (let i = 0; i < unique.length; i += BATCH_WRITE_MAX) {
      const chunk = unique.slice(i, i + BATCH_WRITE_MAX);
      const out = await call<{
        UnprocessedItems?: Record<string, { PutRequest?: { Item: AttributeMap } }[]>;
      }>("BatchWriteItem", {
        RequestItems: {
          [table]: chunk.map((item) => ({ PutRequest: { Item: marshalChatItem(item, ttl) } })),
        },
      });
      for (const req of out.UnprocessedItems?.[table] ?? []) {
        if (req.PutRequest) unprocessed.push(toItem(req.PutRequest.Item));
      }
    }
    return unprocessed;
  }

  async function queryPage(input: QueryPageInput): Promise<ChatPage> {
    const values: AttributeMap = { ":r": { S: input.roomId } };
    let condition = "#r = :r";
    if (input.beforeSeq !== undefined) {
      values[":b"] = marshalValue(input.beforeSeq);
      condition += " AND #s < :b";
    }
    const out = await call<{ Items?: AttributeMap[]; LastEvaluatedKey?: AttributeMap }>("Query", {
      TableName: input.table,
      KeyConditionExpression: condition,
      // Placeholders keep the expression safe from DynamoDB's long reserved-word list.
      ExpressionAttributeNames:
        input.beforeSeq !== undefined ? { "#r": "roomId", "#s": "seq" } : { "#r": "roomId" },
      ExpressionAttributeValues: values,
      ScanIndexForward: false,
      Limit: input.limit,
      ConsistentRead: input.consistentRead ?? false,
    });
    const items = (out.Items ?? []).map(toItem);
    // LastEvaluatedKey is the last item read (the oldest of this page), so `seq < it` continues
    // exactly where this page stopped: no repeats, no gaps.
    const lastSeq = out.LastEvaluatedKey?.seq;
    const nextBeforeSeq = lastSeq && "N" in lastSeq ? Number(lastSeq.N) : undefined;
    return { items, nextBeforeSeq };
  }

  return { call, putItem, getItem, batchWrite, queryPage };
}

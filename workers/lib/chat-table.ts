// The chat history table, as data, and an idempotent "make sure it exists" used by
// `npm run dynamo:setup` (against the local stand-in or real DynamoDB) and by tests.
// One item per message: partition key roomId (S), sort key seq (N), optional TTL attribute.
import { type Dynamo, isDynamoError } from "./dynamo.ts";

export interface KeySchemaElement {
  AttributeName: string;
  KeyType: "HASH" | "RANGE";
}

export interface AttributeDefinition {
  AttributeName: string;
  AttributeType: "S" | "N" | "B";
}

export interface CreateTableRequest {
  TableName: string;
  AttributeDefinitions: AttributeDefinition[];
  KeySchema: KeySchemaElement[];
  BillingMode: "PAY_PER_REQUEST" | "PROVISIONED";
}

/** The CreateTable request body. On-demand billing: chat traffic is bursty (festival nights). */
export function chatTableDefinition(tableName: string): CreateTableRequest {
  return {
    TableName: tableName,
    AttributeDefinitions: [
      { AttributeName: "roomId", AttributeType: "S" },
      { AttributeName: "seq", AttributeType: "N" },
    ],
    KeySchema: [
      { AttributeName: "roomId", KeyType: "HASH" },
      { AttributeName: "seq", KeyType: "RANGE" },
    ],
    BillingMode: "PAY_PER_REQUEST",
  };
}

export interface EnsureChatTableOptions {
  /** Item attribute holding the expiry (epoch seconds), e.g. "expiresAt"; omitted = no TTL. */
  ttlAttribute?: string;
  /** How long to wait for the table to become ACTIVE. Default 5 minutes (real creation takes seconds). */
  timeoutMs?: number;
  /** Progress messages; default console.log. */
  log?: (message: string) => void;
}

interface TableDescription {
  TableStatus?: string;
  KeySchema?: KeySchemaElement[];
  AttributeDefinitions?: AttributeDefinition[];
}

interface TimeToLiveDescription {
  TimeToLiveStatus?: "ENABLING" | "DISABLING" | "ENABLED" | "DISABLED";
  AttributeName?: string;
}

/**
 * Creates the chat table unless it exists, waits until it is ACTIVE, checks its keys match what the
 * chat code expects, and enables TTL when asked. Safe to run any number of times.
 */
export async function ensureChatTable(
  dynamo: Dynamo,
  tableName: string,
  opts: EnsureChatTableOptions = {},
): Promise<"created" | "exists"> {
  const log = opts.log ?? console.log;
  const definition = chatTableDefinition(tableName);

  let result: "created" | "exists";
  try {
    await dynamo.call("CreateTable", definition);
    result = "created";
    log(`created table ${tableName}`);
  } catch (err) {
    // Also raised while the table is still CREATING (or DELETING); waitUntilActive sorts those out.
    if (!isDynamoError(err, "ResourceInUseException")) throw err;
    result = "exists";
    log(`table ${tableName} already exists`);
  }

  const table = await waitUntilActive(dynamo, tableName, result === "created", opts.timeoutMs ?? 300_000);
  assertSameKeys(tableName, table, definition);
  log(`table ${tableName} is ACTIVE`);

  if (opts.ttlAttribute) await ensureTtl(dynamo, tableName, opts.ttlAttribute, log);
  return result;
}

async function waitUntilActive(
  dynamo: Dynamo,
  tableName: string,
  justCreated: boolean,
  timeoutMs: number,
): Promise<TableDescription> {
  const deadline = Date.now() + timeoutMs;
  let delayMs = 100;
  for (;;) {
    const table = await describeTable(dynamo, tableName, justCreated);
    if (table?.TableStatus === "ACTIVE") return table;
    if (table?.TableStatus === "DELETING") {
      throw new Error(`table ${tableName} is being deleted; run setup again once it is gone`);
    }
    if (Date.now() + delayMs > deadline) {
      throw new Error(`table ${tableName} did not become ACTIVE within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    delayMs = Math.min(delayMs * 2, 2_000);
  }
}

async function describeTable(
  dynamo: Dynamo,
  tableName: string,
  justCreated: boolean,
): Promise<TableDescription | undefined> {
  try {
    const { Table } = await dynamo.call<{ Table?: TableDescription }>("DescribeTable", {
      TableName: tableName,
    });
    return Table;
  } catch (err) {
    // DynamoDB is eventually consistent: right after CreateTable, DescribeTable may still say the
    // table does not exist. Keep polling in that case only.
    if (justCreated && isDynamoError(err, "ResourceNotFoundException")) return undefined;
    throw err;
  }
}

// An existing table with other keys (say, a hand-made one with seq as a string) would make every
// chat write fail with a ValidationException much later; say so now instead.
function assertSameKeys(tableName: string, table: TableDescription, want: CreateTableRequest): void {
  const typeOf = (name: string, defs: AttributeDefinition[] | undefined) =>
    defs?.find((d) => d.AttributeName === name)?.AttributeType;
  const describe = (keys: KeySchemaElement[] | undefined, defs: AttributeDefinition[] | undefined) =>
    (keys ?? [])
      .map((k) => `${k.AttributeName} ${k.KeyType} ${typeOf(k.AttributeName, defs) ?? "?"}`)
      .sort()
      .join(", ");
  const have = describe(table.KeySchema, table.AttributeDefinitions);
  const expected = describe(want.KeySchema, want.AttributeDefinitions);
  if (have !== expected) {
    throw new Error(`table ${tableName} has keys [${have}] but the chat needs [${expected}]`);
  }
}

async function ensureTtl(
  dynamo: Dynamo,
  tableName: string,
  attribute: string,
  log: (message: string) => void,
): Promise<void> {
  try {
    const { TimeToLiveDescription: ttl } = await dynamo.call<{
      TimeToLiveDescription?: TimeToLiveDescription;
    }>("DescribeTimeToLive", { TableName: tableName });
    const status = ttl?.TimeToLiveStatus;
    if (status === "ENABLED" || status === "ENABLING") {
      if (ttl?.AttributeName === attribute) {
        log(`TTL already ${status} on ${tableName}.${attribute}`);
        return;
      }
      // DynamoDB allows one TTL attribute and will not switch it in place.
      throw new Error(
        `TTL on ${tableName} uses ${ttl?.AttributeName ?? "?"}; disable it before switching to ${attribute}`,
      );
    }
    await dynamo.call("UpdateTimeToLive", {
      TableName: tableName,
      TimeToLiveSpecification: { Enabled: true, AttributeName: attribute },
    });
    log(`enabled TTL on ${tableName}.${attribute}`);
  } catch (err) {
    // dynalite (the local stand-in) does not implement UpdateTimeToLive. Real DynamoDB never answers
    // UnknownOperationException for it, so this only ever skips TTL locally, where it does not matter.
    if (!isDynamoError(err, "UnknownOperationException")) throw err;
    log(`TTL not supported by this endpoint (local stand-in?); skipped enabling it on ${attribute}`);
  }
}

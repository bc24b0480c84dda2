// `npm run dynamo:setup`: creates the chat history table (and its TTL) if missing. Runs against the
// local stand-in during development and, by an operator, against real DynamoDB, using the very
// client the Worker uses.
//
// Settings come from the environment; `.dev.vars` in the repo root fills in whatever the environment
// does not set (pass --no-dev-vars to ignore it, e.g. when targeting AWS from a dev checkout whose
// .dev.vars points at the stand-in).
//   DYNAMO_ENDPOINT        default https://dynamodb.${AWS_REGION}.amazonaws.com
//   AWS_REGION             required for real DynamoDB
//   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
//   DYNAMO_TABLE           default somsom_chat_messages
//   CHAT_TTL_ATTRIBUTE     optional, e.g. expiresAt
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ensureChatTable } from "../workers/lib/chat-table.ts";
import { createDynamo, isDynamoError } from "../workers/lib/dynamo.ts";

const repoRoot = resolve(import.meta.dirname, "..");

/** KEY=VALUE lines; blank lines and # comments skipped; surrounding quotes removed. */
function readDevVars(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return {};
  }
  const vars: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match || line.trimStart().startsWith("#")) continue;
    const [, key = "", raw = ""] = match;
    vars[key] = raw.replace(/^(["'])(.*)\1$/, "$2");
  }
  return vars;
}

function settings() {
  const fromFile = process.argv.includes("--no-dev-vars") ? {} : readDevVars(resolve(repoRoot, ".dev.vars"));
  // The environment wins over .dev.vars; empty values count as unset.
  const get = (key: string): string | undefined => process.env[key] || fromFile[key] || undefined;

  const customEndpoint = get("DYNAMO_ENDPOINT");
  // A custom endpoint (the stand-in) only uses the region to scope the signature, so any will do;
  // for AWS itself, guessing a region would put the table in the wrong place.
  const region = get("AWS_REGION") ?? (customEndpoint ? "us-east-1" : undefined);
  const accessKeyId = get("AWS_ACCESS_KEY_ID");
  const secretAccessKey = get("AWS_SECRET_ACCESS_KEY");

  const missing = [
    region ? undefined : "AWS_REGION",
    accessKeyId ? undefined : "AWS_ACCESS_KEY_ID",
    secretAccessKey ? undefined : "AWS_SECRET_ACCESS_KEY",
  ].filter((name) => name !== undefined);
  if (!region || !accessKeyId || !secretAccessKey) {
    throw new Error(`missing settings: ${missing.join(", ")} (set them in the environment or .dev.vars)`);
  }

  return {
    endpoint: customEndpoint ?? `https://dynamodb.${region}.amazonaws.com`,
    region,
    accessKeyId,
    secretAccessKey,
    table: get("DYNAMO_TABLE") ?? "somsom_chat_messages",
    ttlAttribute: get("CHAT_TTL_ATTRIBUTE"),
  };
}

try {
  const cfg = settings();
  console.log(`DynamoDB ${cfg.endpoint} (region ${cfg.region}), table ${cfg.table}`);
  const dynamo = createDynamo(cfg);
  const result = await ensureChatTable(dynamo, cfg.table, {
    ttlAttribute: cfg.ttlAttribute,
    log: (message) => console.log(`  ${message}`),
  });
  if (!cfg.ttlAttribute) console.log("  no CHAT_TTL_ATTRIBUTE set: messages are kept forever");
  console.log(`done: table ${result}`);
} catch (err) {
  const detail = isDynamoError(err)
    ? `${err.code}: ${err.message}`
    : err instanceof Error
      ? err.message
      : err;
  console.error(`dynamo:setup failed: ${detail}`);
  process.exitCode = 1;
}

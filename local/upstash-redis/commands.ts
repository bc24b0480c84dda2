/**
 * What the REST stand-in lets through to Redis, and the few rewrites that keep a shared local
 * Redis behaving like a private Upstash database.
 */
import { createHash } from "node:crypto";
import type { RespArg, RespValue } from "../resp.ts";

/**
 * Commands that make no sense over stateless HTTP with pooled, pipelined connections: they either
 * change per-connection state (which would leak into other requests), block the shared connection,
 * or reach outside this database / this Redis (which other stand-ins and tests share).
 */
const REFUSED = new Set([
  // connection state
  "select",
  "multi",
  "exec",
  "discard",
  "watch",
  "unwatch",
  "hello",
  "auth",
  "client",
  "reset",
  "quit",
  "readonly",
  "readwrite",
  "asking",
  // pub/sub and streaming
  "subscribe",
  "unsubscribe",
  "psubscribe",
  "punsubscribe",
  "ssubscribe",
  "sunsubscribe",
  "monitor",
  "sync",
  "psync",
  "replconf",
  // blocking
  "blpop",
  "brpop",
  "brpoplpush",
  "blmove",
  "blmpop",
  "bzpopmin",
  "bzpopmax",
  "bzmpop",
  "wait",
  "waitaof",
  // other databases or the server itself
  "swapdb",
  "move",
  "shutdown",
  "debug",
  "config",
  "replicaof",
  "slaveof",
  "failover",
  "module",
  "acl",
]);

/** A command ready to send, plus an optional fix-up of its reply. */
export interface PreparedCommand {
  args: RespArg[];
  fixReply?: (reply: RespValue) => RespValue;
}

export type Prepared = PreparedCommand | { refused: string };

/**
 * Lua shebang flags Upstash understands but open-source Redis rejects ("Unexpected flag in script
 * shebang"). `allow-key-locking` is what @upstash/ratelimit and many apps put on their scripts.
 */
const UPSTASH_ONLY_SCRIPT_FLAGS = new Set(["allow-key-locking"]);

/**
 * SHA1 of a script as the client sent it → SHA1 of the script Redis actually holds. Clients
 * compute the SHA of their own text and call EVALSHA with it, so it must keep working after the
 * shebang was rewritten. In memory only: after a restart EVALSHA answers NOSCRIPT and the client
 * falls back to EVAL, exactly as after a Redis restart.
 */
const scriptShas = new Map<string, string>();

const sha1 = (text: string | Buffer) => createHash("sha1").update(text).digest("hex");

/**
 * Drops Upstash-only flags from a `#!lua flags=...` first line; undefined if nothing changed. A
 * shebang left with no flags becomes an empty line: the script is then an ordinary (most
 * permissive) EVAL script, and line numbers in Lua error messages stay the same.
 */
export function normalizeScript(script: string): string | undefined {
  const lineEnd = script.indexOf("\n");
  const first = lineEnd === -1 ? script : script.slice(0, lineEnd);
  const rest = lineEnd === -1 ? "" : script.slice(lineEnd);
  const match = /^(#!\S+)\s+flags=(\S*)\s*$/.exec(first);
  if (!match) return undefined;
  const [, engine = "", flagList = ""] = match;
  const flags = flagList.split(",").filter((flag) => flag !== "");
  const kept = flags.filter((flag) => !UPSTASH_ONLY_SCRIPT_FLAGS.has(flag));
  if (kept.length === flags.length) return undefined;
  return kept.length === 0 ? rest : `${engine} flags=${kept.join(",")}${rest}`;
}

/** Rewrites a script argument if needed and remembers the SHA mapping. */
function rewriteScript(script: string): string {
  const normalized = normalizeScript(script);
  if (normalized === undefined) return script;
  scriptShas.set(sha1(script), sha1(normalized));
  return normalized;
}

const mappedSha = (sha: string) => scriptShas.get(sha.toLowerCase()) ?? sha;

/** True if an XREAD/XREADGROUP asks to block (the option comes before STREAMS; keys may be named "block"). */
function hasBlockOption(args: readonly string[]): boolean {
  for (const arg of args.slice(1)) {
    const word = arg.toLowerCase();
    if (word === "streams") return false;
    if (word === "block") return true;
  }
  return false;
}

/** Decides whether a command may run and how it is sent. The first argument is the command name. */
export function prepareCommand(command: readonly string[]): Prepared {
  const [name = "", ...rest] = command;
  const lower = name.toLowerCase();
  if (REFUSED.has(lower) || ((lower === "xread" || lower === "xreadgroup") && hasBlockOption(command))) {
    return { refused: `ERR Command is not available over REST: '${lower}'` };
  }
  switch (lower) {
    // The Upstash database is one Redis database; FLUSHALL must not wipe the other databases
    // that other stand-ins and test suites use on the same local Redis.
    case "flushall":
      return { args: ["FLUSHDB", ...rest] };
    case "eval":
    case "eval_ro": {
      const [script, ...more] = rest;
      return { args: script === undefined ? [...command] : [name, rewriteScript(script), ...more] };
    }
    case "evalsha":
    case "evalsha_ro": {
      const [sha, ...more] = rest;
      return { args: sha === undefined ? [...command] : [name, mappedSha(sha), ...more] };
    }
    case "script": {
      const [sub = "", ...subArgs] = rest;
      const subLower = sub.toLowerCase();
      if (subLower === "load" && subArgs.length === 1 && subArgs[0] !== undefined) {
        const original = subArgs[0];
        const normalized = rewriteScript(original);
        if (normalized === original) break;
        // Answer with the SHA of the text the client sent: that is the one it will EVALSHA.
        const originalSha = sha1(original);
        return {
          args: [name, sub, normalized],
          fixReply: (reply) => (Buffer.isBuffer(reply) ? Buffer.from(originalSha) : reply),
        };
      }
      if (subLower === "exists") return { args: [name, sub, ...subArgs.map(mappedSha)] };
      break;
    }
  }
  return { args: [...command] };
}

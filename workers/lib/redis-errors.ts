import type { Redis } from "@upstash/redis/cloudflare";

/**
 * @upstash/redis puts the whole command into its error text (`…, command was: ["SET","k","<value>"]`),
 * and Redis itself quotes arguments in some errors (`unknown command …, with args beginning with:`),
 * so an error that reaches a log, a health answer or an error cause would carry check-in codes, chat
 * text or emails. Every Redis error is therefore rewritten where it is born, in the client: its
 * message keeps only the reply's error code (ERR, NOSCRIPT, WRONGTYPE, …) and phrases known to hold no
 * data, which is also all that callers branch on (NOSCRIPT for script caching, "Redis is unavailable"
 * for dependency-down answers).
 */
export class RedisCommandError extends Error {
  /** The Redis/Upstash error code: the reply's first word, e.g. `ERR`, `NOSCRIPT`, `WRONGTYPE`. */
  readonly code: string;
  constructor(code: string, phrase: string | undefined) {
    super(phrase ? `${code} ${phrase}` : code);
    // Keeps the name callers and the official client know.
    this.name = "UpstashError";
    this.code = code;
  }
}

/** Fixed phrases that carry no data and that callers or operators rely on. */
const SAFE_PHRASES = [
  /Redis is unavailable/i,
  /Unauthorized/i,
  /max (daily )?requests? limit exceeded/i,
  /No matching script/i,
  /unknown command/i,
  /wrong number of arg(ument)?s/i,
  /Operation against a key holding the wrong kind of value/i,
];

/** The code of one Upstash error text (`ERR …`, or a pipeline's `Command 2 [ SET ] failed: ERR …`). */
function codeOf(text: string): string {
  const reply = /failed: (.*)$/s.exec(text)?.[1] ?? text;
  return /^[A-Z][A-Z_]{1,30}\b/.exec(reply)?.[0] ?? "ERR";
}

function cleanText(text: string): string {
  const code = codeOf(text);
  const phrase = SAFE_PHRASES.map((p) => p.exec(text)?.[0]).find((m) => m !== undefined);
  return phrase ? `${code} ${phrase}` : code;
}

function cleanError(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof RedisCommandError) return err;
  // UpstashError (and its JSON-parse subclass, which quotes the response body): rewritten.
  // Anything else (fetch's TypeError "Network connection lost", an abort) carries no command.
  if (err.name !== "UpstashError" && err.name !== "UpstashJSONParseError") return err;
  const text = cleanText(err.message);
  const space = text.indexOf(" ");
  return new RedisCommandError(
    space === -1 ? text : text.slice(0, space),
    space === -1 ? undefined : text.slice(space + 1),
  );
}

type Entry = { result?: unknown; error?: string };
const cleanEntry = (e: Entry): Entry =>
  typeof e?.error === "string" ? { ...e, error: cleanText(e.error) } : e;

/** Installs the rewrite on a client: thrown errors and a pipeline's per-command errors alike. */
export function withSafeErrors(redis: Redis): Redis {
  redis.use(async (req, next) => {
    try {
      const res = await next(req);
      // A pipeline answers one {result}|{error} per command; the client turns errors into throws later.
      if (Array.isArray(res)) return (res as Entry[]).map(cleanEntry) as typeof res;
      return cleanEntry(res as Entry) as typeof res;
    } catch (err) {
      throw cleanError(err);
    }
  });
  return redis;
}

/** What a log line may say about any error that came from Redis: its name and code, nothing else. */
export function safeRedisError(err: unknown): { name: string; code?: string } {
  if (err instanceof RedisCommandError) return { name: err.name, code: err.code };
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      ...(typeof code === "string" || typeof code === "number" ? { code: String(code) } : {}),
    };
  }
  return { name: typeof err };
}

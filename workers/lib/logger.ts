/** JSON-lines logger. Secrets never reach a log line: sensitive keys are redacted at any depth. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const SENSITIVE = /pass(word)?|secret|token|authorization|cookie|hash|salt|jwt|signature|checkin/i;

/**
 * drizzle's failed-query errors end their message with the bound values (`\nparams: ...`): a new
 * password hash, an email, a token. That part is cut from any string, stack traces included.
 */
const QUERY_PARAMS = /\nparams: [\s\S]*?(?=\n {4}at |$)/g;
const scrub = (text: string) => text.replace(QUERY_PARAMS, "\nparams: [redacted]");

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return scrub(value);
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return { name: value.name, message: scrub(value.message) };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = SENSITIVE.test(k) ? "[redacted]" : redact(v, depth + 1);
  return out;
}

export function createLogger(base: Record<string, unknown> = {}): Logger {
  const write = (level: string, msg: string, fields?: Record<string, unknown>) => {
    const line = JSON.stringify({
      level,
      time: new Date().toISOString(),
      msg,
      ...base,
      ...(redact(fields) as object),
    });
    if (level === "error") console.error(line);
    else if (level === "warn") console.warn(line);
    else console.log(line);
  };
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    child: (fields) => createLogger({ ...base, ...(redact(fields) as object) }),
  };
}

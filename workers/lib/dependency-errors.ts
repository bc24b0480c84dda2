import { isDynamoError } from "./dynamo.ts";

/** An error's text with its causes (drizzle wraps the driver's error as `cause`), for classification. */
export function errorText(err: unknown, depth = 0): string {
  if (depth > 4 || err === null || err === undefined) return "";
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return `${message} ${errorText((err as { cause?: unknown }).cause, depth + 1)}`;
}

// A dependency did not answer: fetch could not connect, the HTTP front answered 5xx, PlanetScale
// (or its stand-in) could not reach MySQL (Vitess `Unavailable`, client errno 2002/2003/2006/2013) or
// had no connection to spare (`ResourceExhausted`, MySQL's "Too many connections" errno 1040: seen
// locally when a benchmark's stack and a test run share one MariaDB), Upstash could not reach Redis.
// Errors our own statement caused (syntax, constraint) are not here.
const UNREACHABLE =
  /fetch failed|network|ECONNREFUSED|connection (refused|reset|lost)|Expected JSON response|HTTP 5\d\d|code = (Unavailable|ResourceExhausted)|\(errno (20(02|03|06|13)|1040)\)|Redis is unavailable/i;

/** True when retrying later can succeed because a dependency was down, not because the request was wrong. */
export function isDependencyDown(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (isDynamoError(e) && e.retryable) return true;
  }
  return UNREACHABLE.test(errorText(err));
}

/**
 * An error with an HTTP status, thrown anywhere in the stand-in and answered in the dialect of the
 * request: `{ error, status }` for Upstash's (what `@upstash/kafka` wraps in an `UpstashError`),
 * `{ error_code, message }` for the Confluent REST Proxy API v2, whose `error_code` is the HTTP status
 * times 100 plus a subcode (40401 unknown topic, 40403 unknown consumer instance, ...).
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: number;

  constructor(status: number, message: string, code = status) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, message);
}

/** Produce or consume on a topic nobody created: the stand-ins, like the real services, never auto-create. */
export function unknownTopic(name: string): ApiError {
  return new ApiError(404, `Topic ${name} not found.`, 40401);
}

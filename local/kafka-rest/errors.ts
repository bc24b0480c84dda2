/**
 * An error with an HTTP status, thrown anywhere in the stand-in and turned into the JSON error body
 * `{ error, status }` that `@upstash/kafka` wraps in an `UpstashError`.
 */
export class ApiError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, message);
}

/**
 * Any failed Kafka call: network, timeout, or a non-2xx answer (`status` 0 when there was no answer).
 * `code` is the REST proxy's own `error_code` when it sent one (v2: HTTP status × 100 + a subcode,
 * e.g. 40403 "consumer instance not found"; Upstash repeats the HTTP status).
 */
export class KafkaError extends Error {
  readonly status: number;
  readonly code: number;
  constructor(message: string, status: number, options?: ErrorOptions & { code?: number }) {
    super(message, options);
    this.name = "KafkaError";
    this.status = status;
    this.code = options?.code ?? status;
  }

  /**
   * Kafka refused these records themselves (malformed, too large): sending the same records again
   * fails the same way. Auth (401/403), unknown topics (404) and outages are fixed by an operator
   * or by time, so they are not permanent for the records.
   */
  get permanent(): boolean {
    return this.status === 400 || this.status === 413 || this.status === 422;
  }

  /** v2: the consumer instance is gone (expired after idling, or its proxy node restarted). */
  get instanceGone(): boolean {
    return this.code === 40403;
  }
}

export const isKafkaError = (err: unknown): err is KafkaError => err instanceof KafkaError;

/** Any failed Kafka call: network, timeout, or a non-2xx answer (`status` 0 when there was no answer). */
export class KafkaError extends Error {
  readonly status: number;
  constructor(message: string, status: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "KafkaError";
    this.status = status;
  }
}

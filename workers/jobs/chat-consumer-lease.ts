import type { Logger } from "../lib/logger";
import { scriptOf } from "../lib/redis-scripts";
import type { Services } from "../lib/services";

/**
 * The chat consumer's drain lease in Redis: one run drains the Kafka group at a time (why, and why it
 * is an optimisation rather than the safety: ./chat-consumer). A run takes it with SET NX PX, keeps
 * it alive from a timer while it drains (a long DynamoDB retry must not let it lapse), and deletes it
 * when it ends, so the run waiting for it starts within one WAIT_STEP_MS. A crashed run's lease
 * lapses after LEASE_MS. Renew and release only touch a lease that is still this run's or nobody's
 * (a Lua compare-and-set), so a run that lost it never removes its successor's.
 */

const LEASE_MS = 10_000;
const RENEW_EVERY_MS = 3_000;
const WAIT_STEP_MS = 250;

/**
 * Extends this run's lease, or takes it back when it lapsed and nobody took it meanwhile (a renewal
 * late because the isolate was starved must not end a run no other run waits to replace); 0 = it is
 * another run's now.
 */
const RENEW = `local owner = redis.call("GET", KEYS[1])
if owner == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end
if not owner then redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2]) return 1 end
return 0`;
const RELEASE = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`;

/** The lease of one consumer group: the id of the run that drains it. */
export const drainLeaseKey = (s: Services, group: string) => s.key("chat", "consumer-lease", group);

export class DrainLease {
  readonly #s: Services;
  readonly #log: Logger;
  readonly #group: string;
  readonly #owner: string;
  #timer: ReturnType<typeof setInterval> | undefined;
  #held = false;
  #lost = false;

  constructor(s: Services, log: Logger, group: string, owner: string) {
    this.#s = s;
    this.#log = log;
    this.#group = group;
    this.#owner = owner;
  }

  get #key() {
    return drainLeaseKey(this.#s, this.#group);
  }

  /** Another run holds the lease now: this one must stop polling. */
  get lost(): boolean {
    return this.#lost;
  }

  /** Waits for the lease until `until`; false = another run held it all that time. */
  async acquire(until: number): Promise<boolean> {
    for (;;) {
      try {
        const got = await this.#s.redis.set(this.#key, this.#owner, { nx: true, px: LEASE_MS });
        if (got === "OK") {
          this.#held = true;
          this.#timer = setInterval(() => void this.#renew(), RENEW_EVERY_MS);
          return true;
        }
      } catch (error) {
        // Persistence must not stop with Redis: drain without the lease (the group keeps runs apart).
        this.#log.warn("chat consumer: lease unavailable (Redis); draining without it", { error });
        return true;
      }
      if (Date.now() + WAIT_STEP_MS > until) return false;
      await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
    }
  }

  async #renew() {
    try {
      const renewed = await scriptOf(this.#s.redis, RENEW).exec([this.#key], [this.#owner, String(LEASE_MS)]);
      if (Number(renewed) === 1) return;
      this.#lost = true;
      this.#held = false;
      this.abandon();
      this.#log.warn("chat consumer: the drain lease lapsed and another run took it; stopping");
    } catch {
      // A Redis blip: keep draining; the lease lapses only after LEASE_MS without a renewal.
    }
  }

  async release() {
    this.abandon();
    if (!this.#held) return;
    this.#held = false;
    await scriptOf(this.#s.redis, RELEASE)
      .exec([this.#key], [this.#owner])
      .catch((error) => {
        this.#log.warn("chat consumer: could not release the drain lease; it lapses by itself", { error });
      });
  }

  /** Stops renewing without releasing (a crash, or the lease is gone). */
  abandon() {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

import type { Logger } from "../../lib/logger";
import type { Services } from "../../lib/services";
import { offerHintKey } from "../sales/announce";

/**
 * A Redis "this day has no place left" flag in front of MySQL, so the sale-day crowd that arrives
 * after the last place is answered without a database round trip. It is only ever a shortcut:
 * MySQL decides every success, and with Redis down every request simply goes to MySQL.
 *
 * Staleness is bounded two ways. A cancellation bumps the day's generation after it commits, and
 * the flag is set only if the generation is still the one read before the failed transaction began
 * (so a flag can never hide places freed after that failure was decided). Changes this area does
 * not see (capacity raised by an admin, waitlist holds released) wait out the short TTL.
 */
const FLAG_TTL_MS = 2_000;
const GEN_TTL_MS = 24 * 3600 * 1000;

const flagKey = (s: Services, festivalId: number, day: string) => s.key("res", "soldout", festivalId, day);
const genKey = (s: Services, festivalId: number, day: string) => s.key("res", "gen", festivalId, day);

const MARK = `
if (redis.call('GET', KEYS[2]) or '0') == ARGV[1] then redis.call('SET', KEYS[1], '1', 'PX', ARGV[2]) end
return 1
`;

export interface SoldOutState {
  soldOut: boolean;
  generation: string;
  /** The user holds a waitlist offer for the day (sales/announce.ts): its places look sold out. */
  offerHint: boolean;
}

/** One MGET: the flag, its generation, and the user's offer hint (undefined when Redis failed). */
export async function readSoldOut(
  s: Services,
  festivalId: number,
  day: string,
  userId: number,
): Promise<SoldOutState | undefined> {
  try {
    const [flag, generation, hint] = await s.redis.mget<(string | null)[]>(
      flagKey(s, festivalId, day),
      genKey(s, festivalId, day),
      offerHintKey(s, festivalId, day, userId),
    );
    return { soldOut: flag === "1", generation: generation ?? "0", offerHint: hint !== null };
  } catch {
    return undefined;
  }
}

export async function markSoldOut(
  s: Services,
  festivalId: number,
  day: string,
  seen: SoldOutState | undefined,
): Promise<void> {
  if (!seen) return;
  try {
    await s.redis.eval(
      MARK,
      [flagKey(s, festivalId, day), genKey(s, festivalId, day)],
      [seen.generation, String(FLAG_TTL_MS)],
    );
  } catch {
    // A missing flag only costs a database round trip.
  }
}

/** After places were freed (committed): no flag may claim these days are full any more. */
export async function clearSoldOut(
  s: Services,
  logger: Logger,
  days: { festivalId: number; day: string }[],
): Promise<void> {
  if (!days.length) return;
  try {
    const p = s.redis.pipeline();
    for (const { festivalId, day } of days) {
      p.incr(genKey(s, festivalId, day));
      p.pexpire(genKey(s, festivalId, day), GEN_TTL_MS);
      p.del(flagKey(s, festivalId, day));
    }
    await p.exec();
  } catch (err) {
    logger.warn("sold-out flags not cleared; they expire on their own", { error: err });
  }
}

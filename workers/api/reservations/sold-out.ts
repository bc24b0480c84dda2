import type { Logger } from "../../lib/logger";
import { scriptOf } from "../../lib/redis-scripts";
import type { Services } from "../../lib/services";
import { offerHintKey } from "../sales/announce";

/**
 * A Redis "this day has no place left" flag in front of MySQL, so the sale-day crowd that arrives
 * after the last place is answered without a database round trip. It is only ever a shortcut:
 * MySQL decides every success, and with Redis down every request simply goes to MySQL. The
 * reservation's gate (gate.ts) reads it in its one script.
 *
 * Staleness is bounded two ways. A cancellation bumps the day's generation after it commits, and
 * the flag is set only if the generation is still the one read before the refused attempt began
 * (so a flag can never hide places freed after that refusal was decided). Changes this area does
 * not see (capacity raised by an admin, waitlist holds released) wait out the short TTL.
 *
 * When the short flag lapses while the day was sold out a moment ago (`known`, a minute), ONE
 * caller at a time takes a recheck lease and asks MySQL; everyone else keeps the sold-out answer
 * until that caller knows. Without it a crowd of hundreds went to the database together every time
 * the flag lapsed, only to be refused. A caller that then gets places clears `known`, so a day with
 * places again lets everyone through at once.
 */
const FLAG_TTL_MS = 2_000;
const KNOWN_TTL_MS = 60_000;
const RECHECK_MS = 2_000;
const GEN_TTL_MS = 24 * 3600 * 1000;

const flagKey = (s: Services, festivalId: number, day: string) => s.key("res", "soldout", festivalId, day);
const genKey = (s: Services, festivalId: number, day: string) => s.key("res", "gen", festivalId, day);
const knownKey = (s: Services, festivalId: number, day: string) =>
  s.key("res", "soldout-known", festivalId, day);
const recheckKey = (s: Services, festivalId: number, day: string) =>
  s.key("res", "soldout-recheck", festivalId, day);

/** The keys the gate's script reads, in the order of SOLD_OUT_LUA's KEYS[k..k+4]. */
export const soldOutKeys = (s: Services, festivalId: number, day: string, userId: number) => [
  flagKey(s, festivalId, day),
  genKey(s, festivalId, day),
  offerHintKey(s, festivalId, day, userId),
  knownKey(s, festivalId, day),
  recheckKey(s, festivalId, day),
];

/**
 * The flag's read as a Lua fragment for the gate's script (KEYS[k..k+4] = soldOutKeys). Sets the
 * locals `flag` ('1' when the day counts as sold out for this caller's purpose), `gen`, `hint` (1:
 * the caller holds a waitlist offer) and `recheck` (1: this caller holds the recheck lease).
 */
export const soldOutLua = (k: number) => `
local flag = redis.call('GET', KEYS[${k}]) or ''
local gen = redis.call('GET', KEYS[${k + 1}]) or '0'
local hint = redis.call('EXISTS', KEYS[${k + 2}])
local recheck = 0
if flag ~= '1' and redis.call('EXISTS', KEYS[${k + 3}]) == 1 then
  if redis.call('SET', KEYS[${k + 4}], '1', 'NX', 'PX', ${RECHECK_MS}) then recheck = 1 else flag = '1' end
end
`;

const MARK = `
if (redis.call('GET', KEYS[2]) or '0') == ARGV[1] then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
  redis.call('SET', KEYS[3], '1', 'PX', ARGV[3])
end
redis.call('DEL', KEYS[4])
return 1
`;

export interface SoldOutState {
  soldOut: boolean;
  generation: string;
  /** The user holds a waitlist offer for the day (sales/announce.ts): its places look sold out. */
  offerHint: boolean;
  /** This request holds the recheck lease: it asks MySQL for everyone (see above). */
  recheck: boolean;
}

export async function markSoldOut(
  s: Services,
  festivalId: number,
  day: string,
  seen: SoldOutState | undefined,
): Promise<void> {
  if (!seen) return;
  try {
    await scriptOf(s.redis, MARK).exec(
      [
        flagKey(s, festivalId, day),
        genKey(s, festivalId, day),
        knownKey(s, festivalId, day),
        recheckKey(s, festivalId, day),
      ],
      [seen.generation, String(FLAG_TTL_MS), String(KNOWN_TTL_MS)],
    );
  } catch {
    // A missing flag only costs a database round trip.
  }
}

/** The recheck found places: the day is open to everyone again at once. */
export async function forgetSoldOut(s: Services, festivalId: number, day: string): Promise<void> {
  try {
    await s.redis.del(knownKey(s, festivalId, day), recheckKey(s, festivalId, day));
  } catch {
    // `known` lapses on its own within KNOWN_TTL_MS; until then one caller at a time rechecks.
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
      p.del(flagKey(s, festivalId, day), knownKey(s, festivalId, day));
    }
    await p.exec();
  } catch (err) {
    logger.warn("sold-out flags not cleared; they expire on their own", { error: err });
  }
}

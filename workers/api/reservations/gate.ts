import type { Context } from "hono";
import { scriptOf } from "../../lib/redis-scripts";
import type { AccessClaims } from "../auth/tokens";
import type { HonoEnv } from "../hono-env";
import { authenticate, bearerToken } from "../middleware/auth";
import {
  IDEMPOTENCY_TTL_MS,
  type IdempotencyHashes,
  idempotencyKey,
  replayEntry,
} from "../middleware/idempotency";
import { rateLimit } from "../middleware/rate-limit";
import { guardLua, guardRefusal, scriptGuard } from "../middleware/script-guard";
import { RESERVATION_WRITE_LIMITS } from "../sales/limits";
import { type SoldOutState, soldOutKeys, soldOutLua } from "./sold-out";

/**
 * A reservation's sale-day gate: everything Redis knows about the request, in ONE script, before the
 * database is asked. On sale day every round trip to the stand-ins (or, in production, to Upstash)
 * costs about what a whole small request costs, and the middleware chain made four of them (the
 * token's deny list and session version, the request limits, the idempotency entry, the sold-out
 * flag). In order, as the middleware answered:
 *   1. the token check and the route's limits (middleware/script-guard.ts): 401, 429;
 *   2. the Idempotency-Key's entry: a remembered answer (a rule violation) is replayed;
 *   3. the day's sold-out flag, its generation and the caller's waitlist-offer hint (sold-out.ts,
 *      which also lets one caller at a time recheck MySQL when the short flag lapses);
 *   4. when the request goes on to the database, the key is marked "attempted" (24 h, like the
 *      entry it becomes). So once a day is full, a key that was never marked cannot have a
 *      reservation: the 409 is answered from this script alone, with no database lookup. A marked
 *      key (a retry of a request that reached the database) is looked up in MySQL as before, and a
 *      retry after a Worker died between its write and its answer still gets its reservation.
 * With Redis down the gate falls back to the middleware's steps (authenticate answers 503; the
 * limits and the flag fail open) and every key is looked up in MySQL.
 */
const GATE_SCRIPT = `${guardLua(7, 4)}
local entry = ''
if ARGV[3] == '1' then entry = redis.call('GET', KEYS[1]) or '' end
${soldOutLua(2)}
local marked = 0
if ARGV[3] == '1' and entry == '' and not (flag == '1' and hint == 0) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  marked = 1
end
return {0, entry, flag, gen, hint, marked, recheck}
`;

export type GateOutcome =
  /** A remembered answer to replay as it is. */
  | { kind: "replay"; response: Response }
  /** The day is full and this request cannot have a reservation already: 409 without the database. */
  | { kind: "sold_out" }
  /**
   * On to the database. `flag` is undefined when Redis did not answer; `keyIsNew` means no earlier
   * request with this key reached the database (no lookup needed before inserting).
   */
  | { kind: "go"; flag: SoldOutState | undefined; keyIsNew: boolean };

const SCOPE = "reservations.create";

export async function reservationGate(
  c: Context<HonoEnv>,
  claims: AccessClaims,
  festivalId: number,
  day: string,
  idempotency: IdempotencyHashes | undefined,
): Promise<GateOutcome> {
  const s = c.get("services");
  const userId = Number(claims.sub);
  const guard = scriptGuard(c, claims, RESERVATION_WRITE_LIMITS);
  const entryKey = idempotencyKey(s, SCOPE, userId, idempotency?.keyHash ?? "-");
  let raw: unknown;
  try {
    raw = await scriptOf(s.redis, GATE_SCRIPT).exec(
      [entryKey, ...soldOutKeys(s, festivalId, day, userId), ...guard.keys],
      [
        JSON.stringify({ s: "a", fp: idempotency?.requestHash ?? "" }),
        String(IDEMPOTENCY_TTL_MS),
        idempotency ? "1" : "0",
        ...guard.args,
      ],
    );
  } catch {
    return withoutScript(c);
  }
  const refused = guardRefusal(raw, guard);
  if (refused) throw refused;
  c.set("user", { id: userId, role: claims.role, sv: claims.sv });
  const [, entry, flag, generation, hint, marked, recheck] = raw as [
    number,
    string,
    string,
    string | number,
    number,
    number,
    number,
  ];
  if (entry && idempotency) {
    const response = replayEntry(c, entry, idempotency.requestHash);
    if (response) return { kind: "replay", response };
  }
  const state: SoldOutState = {
    soldOut: flag === "1",
    generation: String(generation),
    offerHint: Number(hint) === 1,
    recheck: Number(recheck) === 1,
  };
  if (state.soldOut && !state.offerHint && !entry) return { kind: "sold_out" };
  return { kind: "go", flag: state, keyIsNew: Number(marked) === 1 };
}

/** Redis did not run the script: the middleware's own steps, which know how to fail. */
async function withoutScript(c: Context<HonoEnv>): Promise<GateOutcome> {
  const user = await authenticate(bearerToken(c.req.header("authorization")) ?? "", c.env, c.get("services"));
  c.set("user", { id: user.id, role: user.role, sv: user.sv });
  await rateLimit(...RESERVATION_WRITE_LIMITS)(c, async () => {});
  return { kind: "go", flag: undefined, keyIsNew: false };
}

/**
 * The virtual waiting room of one festival: three Redis keys, changed only by one Lua script (so
 * every step is atomic, whichever Worker runs it).
 *
 *   line  ZSET userId → ticket. Before opening a ticket is a random 40-bit number (the pre-queue is
 *         drawn fairly: independent uniform tickets are a uniform shuffle); from opening on it is
 *         2^40 + INCR, so every later arrival sorts after everyone already in line. ZADD NX: one
 *         entry per user, and a position (ZRANK + 1) can only shrink as people ahead leave the line.
 *   adm   ZSET userId → admission expiry (ms). "Admitted but not done"; the entry goes when the user
 *         reserves, leaves, or the admission expires.
 *   meta  HASH seq (ticket counter), admitted (admissions since the epoch began), epoch, clock.
 *
 * Admission is computed lazily on every call rather than by a cron tick (which fires once a
 * minute, far too coarse for "100 users per minute"): by time t the queue may have admitted
 * floor(rate × (t - opensAt) / 1 min) users in total; the script moves the head of the line into
 * `adm` until that budget is used or `adm` holds `cap` users. So the line moves exactly at the rate
 * however often (or rarely) it is read, and in ticket order. `clock` keeps time monotonic across
 * Workers whose clocks differ a little: a position once shown never grows back.
 *
 * Changing the rate (or switching the queue on) restarts the budget: the festival row gets a new
 * opensAt and epoch, and the first call that carries the new epoch zeroes `admitted`. A call carrying
 * an older epoch (its settings were read before the change) admits nobody.
 */
import { eq } from "drizzle-orm";
import { festivals } from "../../db/schema/festivals";
import { AppError } from "../../lib/errors";
import { microCache } from "../../lib/micro-cache";
import { scriptOf } from "../../lib/redis-scripts";
import type { Services } from "../../lib/services";
import { guardLua, guardRefusal, type ScriptGuard } from "../middleware/script-guard";

/** How long an admission lasts: the admitted user has this long to reserve. */
export const ADMISSION_TTL_MS = 10 * 60_000;
const DAY_MS = 86_400_000;

export interface QueueConfig {
  festivalId: number;
  enabled: boolean;
  ratePerMinute: number;
  activeCap: number;
  /** Admission clock start (epoch ms). */
  opensAt: number;
  epoch: number;
  saleClosesAt: number;
  cancelled: boolean;
}

export type QueueColumns = Pick<
  typeof festivals.$inferSelect,
  | "id"
  | "queueEnabled"
  | "queueRatePerMinute"
  | "queueActiveCap"
  | "queueOpensAt"
  | "queueEpoch"
  | "saleOpensAt"
  | "saleClosesAt"
  | "cancelledAt"
>;

/** The selection of QueueColumns (the settings read, and the sale batch's locking read). */
export const queueColumns = {
  id: festivals.id,
  queueEnabled: festivals.queueEnabled,
  queueRatePerMinute: festivals.queueRatePerMinute,
  queueActiveCap: festivals.queueActiveCap,
  queueOpensAt: festivals.queueOpensAt,
  queueEpoch: festivals.queueEpoch,
  saleOpensAt: festivals.saleOpensAt,
  saleClosesAt: festivals.saleClosesAt,
  cancelledAt: festivals.cancelledAt,
} satisfies Record<keyof QueueColumns, unknown>;

export const queueConfigOf = (f: QueueColumns): QueueConfig => ({
  festivalId: f.id,
  enabled: f.queueEnabled,
  ratePerMinute: f.queueRatePerMinute,
  activeCap: f.queueActiveCap,
  opensAt: (f.queueOpensAt ?? f.saleOpensAt).getTime(),
  epoch: f.queueEpoch,
  saleClosesAt: f.saleClosesAt.getTime(),
  cancelled: f.cancelledAt !== null,
});

/**
 * Sale-day joins read the settings from this isolate's memory for up to a second, so a join is one
 * Redis script and no database round trip. Only an open queue's settings are kept (switched on,
 * admission clock started): a copy can then never draw a pre-queue ticket after the true opening, so
 * the line stays in arrival order. What a copy can lag by ≤ 1 s in other isolates: a rate change (a
 * call with an older epoch admits nobody), the queue switched off, the sale closed or cancelled. An
 * admin change in this isolate clears it at once (clearMicroCaches).
 */
const openConfigs = microCache<QueueConfig>(1_000);

export async function loadQueueConfigForJoin(
  s: Services,
  festivalId: number,
  now: number,
): Promise<QueueConfig> {
  const key = String(festivalId);
  const hit = openConfigs.get(key);
  if (hit) return hit;
  const cfg = await loadQueueConfig(s, festivalId);
  if (cfg.enabled && !cfg.cancelled && cfg.opensAt <= now) openConfigs.set(key, cfg);
  return cfg;
}

export async function loadQueueConfig(s: Services, festivalId: number): Promise<QueueConfig> {
  const [f] = await s.db.select(queueColumns).from(festivals).where(eq(festivals.id, festivalId)).limit(1);
  if (!f) throw new AppError(404, "festival.not_found", "No such festival");
  return queueConfigOf(f);
}

/**
 * The queue step, shared by both scripts below: `line`, `adm` and `meta` are set by the caller's
 * first line, ARGV[1..10] as `runQueue` passes them.
 */
const STEP = `
local op, uid = ARGV[1], ARGV[2]
local now = tonumber(ARGV[3])
local anchor, rate, cap = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local ttl, epoch = tonumber(ARGV[7]), tonumber(ARGV[8])

local m = redis.call('HMGET', meta, 'clock', 'epoch', 'admitted')
local clock = tonumber(m[1] or '0')
if clock > now then now = clock else redis.call('HSET', meta, 'clock', ARGV[3]) end
local admitted = tonumber(m[3] or '0')
local seen = tonumber(m[2] or '-1')
local current = true
if epoch > seen then
  redis.call('HSET', meta, 'epoch', ARGV[8], 'admitted', '0')
  admitted = 0
elseif epoch < seen then
  current = false
end

local added = 0
if op == 'leave' then
  redis.call('ZREM', line, uid)
  redis.call('ZREM', adm, uid)
elseif op == 'done' then
  redis.call('ZREM', adm, uid)
elseif op == 'join' then
  local a = redis.call('ZSCORE', adm, uid)
  if not (a and tonumber(a) > now) and not redis.call('ZSCORE', line, uid) then
    local ticket
    if now < anchor then ticket = ARGV[9] else ticket = 1099511627776 + redis.call('HINCRBY', meta, 'seq', 1) end
    added = redis.call('ZADD', line, 'NX', ticket, uid)
  end
end

if current and now >= anchor then
  redis.call('ZREMRANGEBYSCORE', adm, '-inf', now)
  local n = math.min(math.floor(rate * (now - anchor) / 60000) - admitted, cap - redis.call('ZCARD', adm))
  if n > 0 then
    local popped = redis.call('ZPOPMIN', line, n)
    local count = 0
    for i = 1, #popped, 2 do
      redis.call('ZADD', adm, now + ttl, popped[i])
      count = count + 1
    end
    if count > 0 then admitted = redis.call('HINCRBY', meta, 'admitted', count) end
  end
end

for _, k in ipairs({line, adm, meta}) do redis.call('PEXPIRE', k, ARGV[10]) end

local size, active = redis.call('ZCARD', line), redis.call('ZCARD', adm)
local exp = redis.call('ZSCORE', adm, uid)
if exp and tonumber(exp) > now then return {2, 0, size, active, admitted, exp, added} end
local rank = redis.call('ZRANK', line, uid)
if rank then
  if now < anchor then return {3, rank + 1, size, active, admitted, '0', added} end
  return {1, rank + 1, size, active, admitted, '0', added}
end
return {0, 0, size, active, admitted, '0', added}
`;

const SCRIPT = `local line, adm, meta = KEYS[1], KEYS[2], KEYS[3]\n${STEP}`;

/**
 * A sale-day join in one round trip: the access token's revocation check and the route's request
 * limits (middleware/script-guard.ts: KEYS[4..], ARGV[11..]) and then the join, in one script, so
 * nobody is put in line unless everything before passed, and no other caller's step can interleave.
 * Answers the guard's refusal, else the queue step's answer.
 */
const JOIN_SCRIPT = `local line, adm, meta = KEYS[1], KEYS[2], KEYS[3]
${guardLua(4, 11)}
${STEP}`;

const STATES = ["none", "waiting", "admitted", "pre_queue"] as const;

export interface QueueState {
  state: (typeof STATES)[number];
  /** 1 = next to be admitted; 0 when not waiting. */
  position: number;
  /** Users in line (not yet admitted). */
  waiting: number;
  /** Admitted and not done. */
  admittedActive: number;
  /** Admitted since the current rate took effect. */
  admittedTotal: number;
  admissionExpiresAt: number | null;
  /** This call put the user in line (a join that found them there already: false). */
  added: boolean;
}

export type QueueOp = "join" | "read" | "leave" | "done";

const keys = (s: Services, festivalId: number) => [
  s.key("q", festivalId, "line"),
  s.key("q", festivalId, "adm"),
  s.key("q", festivalId, "meta"),
];

/** A uniformly random pre-queue ticket in [1, 2^40). */
function randomTicket(): string {
  const [hi = 0, lo = 0] = crypto.getRandomValues(new Uint32Array(2));
  return String((hi & 0xff) * 2 ** 32 + lo || 1);
}

const unavailable = () =>
  new AppError(503, "queue.unavailable", "The waiting room is unavailable; retry shortly", {
    headers: { "Retry-After": "2" },
  });

function stepArgs(cfg: QueueConfig, op: QueueOp, userId: number, now: number): string[] {
  // The keys outlive the sale by a day, and every call pushes that out again.
  const keep = Math.max(7 * DAY_MS, cfg.saleClosesAt + DAY_MS - now);
  return [
    op,
    String(userId),
    String(now),
    String(cfg.opensAt),
    String(cfg.ratePerMinute),
    String(cfg.activeCap),
    String(ADMISSION_TTL_MS),
    String(cfg.epoch),
    randomTicket(),
    String(Math.ceil(keep)),
  ];
}

function toState(raw: unknown): QueueState {
  const r = (raw as (number | string)[]).map(Number);
  return {
    state: STATES[r[0] ?? 0] ?? "none",
    position: r[1] ?? 0,
    waiting: r[2] ?? 0,
    admittedActive: r[3] ?? 0,
    admittedTotal: r[4] ?? 0,
    admissionExpiresAt: r[0] === 2 ? (r[5] ?? null) : null,
    added: r[6] === 1,
  };
}

export async function runQueue(
  s: Services,
  cfg: QueueConfig,
  op: QueueOp,
  userId: number,
  now = Date.now(),
): Promise<QueueState> {
  let raw: unknown;
  try {
    raw = await scriptOf(s.redis, SCRIPT).exec(keys(s, cfg.festivalId), stepArgs(cfg, op, userId, now));
  } catch {
    throw unavailable();
  }
  return toState(raw);
}

export type JoinOutcome = { kind: "refused"; error: AppError } | { kind: "done"; state: QueueState };

/** A join with its auth check and request limits, in one round trip (JOIN_SCRIPT). */
export async function runJoin(
  s: Services,
  cfg: QueueConfig,
  userId: number,
  guard: ScriptGuard,
): Promise<JoinOutcome> {
  let raw: unknown;
  try {
    raw = await scriptOf(s.redis, JOIN_SCRIPT).exec(
      [...keys(s, cfg.festivalId), ...guard.keys],
      [...stepArgs(cfg, "join", userId, guard.now), ...guard.args],
    );
  } catch {
    throw unavailable();
  }
  const refused = guardRefusal(raw, guard);
  return refused ? { kind: "refused", error: refused } : { kind: "done", state: toState(raw) };
}

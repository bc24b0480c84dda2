import { createRoute, type z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { AppError, errorResponses } from "../../lib/errors";
import { tooManyRequests } from "../../lib/rate-limit";
import { sessionVersionKey } from "../auth/sessions";
import { verifyAccessToken } from "../auth/tokens";
import type { HonoEnv } from "../hono-env";
import { AUTH_ERRORS, authenticate, bearerToken, revokedJtiKey } from "../middleware/auth";
import { clientAddress, RATE_LIMIT_ERRORS, rateLimit } from "../middleware/rate-limit";
import type { App } from "../router";
import { assertJoinable, toQueueStatus } from "./admission";
import { QUEUE_WRITE_LIMITS } from "./limits";
import { type JoinLimit, loadQueueConfigForJoin, type QueueConfig, runJoin } from "./queue";
import { FestivalParamsSchema, QueueStatusSchema } from "./schemas";

export type V1FestivalsQueuePostResponse = z.infer<typeof QueueStatusSchema>;

/**
 * The token's signature and expiry (no I/O), before the parameters are validated, as `requireAuth`
 * does on every other route. Its Redis half (deny list, session version) rides in the join script.
 */
const requireSignedToken = () =>
  createMiddleware<HonoEnv>(async (c, next) => {
    const token = bearerToken(c.req.header("authorization"));
    if (!token)
      throw new AppError(401, "auth.missing_token", "Send an access token: Authorization: Bearer <token>");
    c.set("claims", await verifyAccessToken(token, c.env.JWT_SECRET));
    await next();
  });

const route = createRoute({
  method: "post",
  path: "/v1/festivals/{festivalId}/queue",
  operationId: "festivalsQueuePost",
  tags: ["queue"],
  summary: "Join the festival's waiting room (joining again answers the same entry)",
  description:
    "Users are admitted in arrival order at the festival's admission rate; those who join before the " +
    "sale opens are ordered by a fair draw at opening. Once `status` is `admitted`, reserve with " +
    "`admission.token` before it expires. 201 for a new entry, 200 when already in.",
  security: [{ bearer: [] }],
  middleware: [requireSignedToken()] as const,
  request: { params: FestivalParamsSchema },
  responses: {
    200: { description: "Already in", content: { "application/json": { schema: QueueStatusSchema } } },
    201: { description: "Joined", content: { "application/json": { schema: QueueStatusSchema } } },
    ...errorResponses(
      400,
      ...AUTH_ERRORS,
      ...RATE_LIMIT_ERRORS,
      [404, "festival.not_found"],
      [422, "queue.disabled", "queue.closed"],
      [503, "queue.unavailable"],
    ),
  },
});

/** `"60 s"` → 60000, as @upstash/ratelimit reads a window (its `ms`). */
function windowMs(d: string): number {
  const m = /^(\d+(?:\.\d+)?)\s?(ms|s|m|h|d|w)$/.exec(d);
  const unit = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 }[m?.[2] ?? ""];
  if (!m || !unit) throw new Error(`window ${d}`);
  return Math.round(Number.parseFloat(m[1] as string) * unit);
}

/** The route's limits for this caller, as `rateLimit(...QUEUE_WRITE_LIMITS)` counts them. */
function joinLimits(c: Context<HonoEnv>, s: HonoEnv["Variables"]["services"], userId: number) {
  return QUEUE_WRITE_LIMITS.flatMap(({ policy, by }) => {
    const who = by === "user" ? userId : clientAddress(c);
    if (who === undefined) return [];
    const limit: JoinLimit = {
      // The prefix lib/rate-limit.ts gives the policy's Ratelimit: the same counters
      // (test/worker/queue.join-script.test.ts checks they are shared with DELETE .../queue/me).
      prefix: s.key("ratelimit", policy.name),
      identifier: `${by}:${who}`,
      limit: policy.limit,
      windowMs: windowMs(policy.window),
    };
    return [{ policy, limit }];
  });
}

export function registerV1FestivalsQueuePost(app: App) {
  app.openapi(route, async (c) => {
    const s = c.get("services");
    const claims = c.get("claims");
    const userId = Number(claims.sub);
    const festivalId = c.req.valid("param").festivalId;
    const now = Date.now();
    let cfg: QueueConfig;
    try {
      // From the isolate's memory on sale day (queue.ts): no round trip.
      cfg = await loadQueueConfigForJoin(s, festivalId, now);
      assertJoinable(cfg, now);
    } catch (err) {
      // Nobody can join (no such festival, queue off or closed, database down): the answer and the
      // counting of the routes with middleware, in their order: 401, then 429, then this error.
      const user = await authenticate(bearerToken(c.req.header("authorization")) ?? "", c.env, s);
      c.set("user", { id: user.id, role: user.role, sv: user.sv });
      await rateLimit(...QUEUE_WRITE_LIMITS)(c, async () => {});
      throw err;
    }
    // Sale day: the token's revocation check, the limits and the join in one round trip.
    const limits = joinLimits(c, s, userId);
    const out = await runJoin(
      s,
      cfg,
      userId,
      {
        revokedKey: revokedJtiKey(s, claims.jti),
        sessionVersionKey: sessionVersionKey(s, userId),
        sv: claims.sv,
        limits: limits.map((l) => l.limit),
      },
      now,
    );
    if (out.kind === "revoked")
      throw new AppError(401, "auth.invalid_token", "The access token is missing, expired or invalid");
    if (out.kind === "limited") {
      // The middleware's answer: the refused limit whose window reopens last.
      const waits = out.refused.flatMap((i) => {
        const l = limits[i];
        if (!l) return [];
        const reset = (Math.floor(now / l.limit.windowMs) + 1) * l.limit.windowMs;
        return [{ policy: l.policy, seconds: Math.max(1, Math.ceil((reset - Date.now()) / 1000)) }];
      });
      const worst = waits.reduce((a, b) => (b.seconds > a.seconds ? b : a));
      throw tooManyRequests(worst.policy, worst.seconds);
    }
    c.set("user", { id: userId, role: claims.role, sv: claims.sv });
    const status = await toQueueStatus(c.env, cfg, userId, out.state);
    if (!status) throw new Error("queue join left the user outside the queue");
    c.header("Cache-Control", "private, no-store");
    c.set("quietAccessLog", true);
    return c.json(status, out.state.added ? 201 : 200);
  });
}

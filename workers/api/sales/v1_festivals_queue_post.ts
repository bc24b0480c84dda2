import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { AUTH_ERRORS, authenticate, bearerToken, requireSignedToken } from "../middleware/auth";
import { RATE_LIMIT_ERRORS, rateLimit } from "../middleware/rate-limit";
import { scriptGuard } from "../middleware/script-guard";
import type { App } from "../router";
import { assertJoinable, toQueueStatus } from "./admission";
import { QUEUE_WRITE_LIMITS } from "./limits";
import { loadQueueConfigForJoin, type QueueConfig, runJoin } from "./queue";
import { FestivalParamsSchema, QueueStatusSchema } from "./schemas";

export type V1FestivalsQueuePostResponse = z.infer<typeof QueueStatusSchema>;

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
    const out = await runJoin(s, cfg, userId, scriptGuard(c, claims, QUEUE_WRITE_LIMITS, now));
    if (out.kind === "refused") throw out.error;
    c.set("user", { id: userId, role: claims.role, sv: claims.sv });
    const status = await toQueueStatus(c.env, cfg, userId, out.state);
    if (!status) throw new Error("queue join left the user outside the queue");
    c.header("Cache-Control", "private, no-store");
    c.set("quietAccessLog", true);
    return c.json(status, out.state.added ? 201 : 200);
  });
}

import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import { RATE_LIMIT_ERRORS, rateLimit } from "../middleware/rate-limit";
import type { App } from "../router";
import { joinQueue } from "./admission";
import { QUEUE_WRITE_LIMITS } from "./limits";
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
  middleware: [requireAuth(), rateLimit(...QUEUE_WRITE_LIMITS)] as const,
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
    const { status, created } = await joinQueue(
      c.get("services"),
      c.env,
      c.req.valid("param").festivalId,
      c.get("user").id,
    );
    c.header("Cache-Control", "private, no-store");
    return created ? c.json(status, 201) : c.json(status, 200);
  });
}

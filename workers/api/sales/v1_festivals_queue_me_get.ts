import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import { RATE_LIMIT_ERRORS, rateLimit } from "../middleware/rate-limit";
import type { App } from "../router";
import { myQueueStatus } from "./admission";
import { QUEUE_READ_LIMITS } from "./limits";
import { FestivalParamsSchema, QueueStatusSchema } from "./schemas";

export type V1FestivalsQueueMeGetResponse = z.infer<typeof QueueStatusSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/festivals/{festivalId}/queue/me",
  operationId: "festivalsQueueMeGet",
  tags: ["queue"],
  summary: "My place in the waiting room, or my admission token once admitted",
  description:
    "404 queue.not_joined when not in the room (never joined, left, reserved, or admission expired).",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), rateLimit(...QUEUE_READ_LIMITS)] as const,
  request: { params: FestivalParamsSchema },
  responses: {
    200: { description: "My status", content: { "application/json": { schema: QueueStatusSchema } } },
    ...errorResponses(
      400,
      ...AUTH_ERRORS,
      ...RATE_LIMIT_ERRORS,
      [404, "festival.not_found", "queue.not_joined"],
      [422, "queue.disabled"],
      [503, "queue.unavailable"],
    ),
  },
});

export function registerV1FestivalsQueueMeGet(app: App) {
  app.openapi(route, async (c) => {
    const status = await myQueueStatus(
      c.get("services"),
      c.env,
      c.req.valid("param").festivalId,
      c.get("user").id,
    );
    c.header("Cache-Control", "private, no-store");
    return c.json(status, 200);
  });
}

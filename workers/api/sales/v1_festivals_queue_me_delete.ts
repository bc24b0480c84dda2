import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import { RATE_LIMIT_ERRORS, rateLimit } from "../middleware/rate-limit";
import type { App } from "../router";
import { leaveQueue } from "./admission";
import { QUEUE_WRITE_LIMITS } from "./limits";
import { FestivalParamsSchema } from "./schemas";

const route = createRoute({
  method: "delete",
  path: "/v1/festivals/{festivalId}/queue/me",
  operationId: "festivalsQueueMeDelete",
  tags: ["queue"],
  summary: "Leave the waiting room (or give back an admission); idempotent",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), rateLimit(...QUEUE_WRITE_LIMITS)] as const,
  request: { params: FestivalParamsSchema },
  responses: {
    204: { description: "Not in the room any more" },
    ...errorResponses(
      400,
      ...AUTH_ERRORS,
      ...RATE_LIMIT_ERRORS,
      [404, "festival.not_found"],
      [503, "queue.unavailable"],
    ),
  },
});

export function registerV1FestivalsQueueMeDelete(app: App) {
  app.openapi(route, async (c) => {
    await leaveQueue(c.get("services"), c.req.valid("param").festivalId, c.get("user").id);
    return c.body(null, 204);
  });
}

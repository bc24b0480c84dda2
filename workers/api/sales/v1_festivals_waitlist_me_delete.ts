import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import { RATE_LIMIT_ERRORS, rateLimit } from "../middleware/rate-limit";
import type { App } from "../router";
import { WAITLIST_WRITE_LIMITS } from "./limits";
import { DayParamsSchema } from "./schemas";
import { leaveWaitlist } from "./waitlist";

const route = createRoute({
  method: "delete",
  path: "/v1/festivals/{festivalId}/waitlist/me/{day}",
  operationId: "festivalsWaitlistMeDelete",
  tags: ["waitlist"],
  summary: "Leave a day's waitlist, or decline its offer (the places pass to the next in line)",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), rateLimit(...WAITLIST_WRITE_LIMITS)] as const,
  request: { params: DayParamsSchema },
  responses: {
    204: { description: "Left" },
    ...errorResponses(
      400,
      ...AUTH_ERRORS,
      ...RATE_LIMIT_ERRORS,
      [404, "waitlist.not_found"],
      [503, "service.busy"],
    ),
  },
});

export function registerV1FestivalsWaitlistMeDelete(app: App) {
  app.openapi(route, async (c) => {
    const { festivalId, day } = c.req.valid("param");
    await leaveWaitlist(c.get("services"), c.get("logger"), festivalId, c.get("user").id, day);
    return c.body(null, 204);
  });
}

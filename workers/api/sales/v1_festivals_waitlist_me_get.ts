import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import { RATE_LIMIT_ERRORS, rateLimit } from "../middleware/rate-limit";
import type { App } from "../router";
import { WAITLIST_READ_LIMITS } from "./limits";
import { FestivalParamsSchema, WaitlistListSchema } from "./schemas";
import { myWaitlist } from "./waitlist";

export type V1FestivalsWaitlistMeGetResponse = z.infer<typeof WaitlistListSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/festivals/{festivalId}/waitlist/me",
  operationId: "festivalsWaitlistMeGet",
  tags: ["waitlist"],
  summary: "My waitlist entries in this festival (positions, offers), newest first",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), rateLimit(...WAITLIST_READ_LIMITS)] as const,
  request: { params: FestivalParamsSchema },
  responses: {
    200: { description: "My entries", content: { "application/json": { schema: WaitlistListSchema } } },
    ...errorResponses(400, ...AUTH_ERRORS, ...RATE_LIMIT_ERRORS),
  },
});

export function registerV1FestivalsWaitlistMeGet(app: App) {
  app.openapi(route, async (c) => {
    const list = await myWaitlist(
      c.get("services"),
      c.get("logger"),
      c.req.valid("param").festivalId,
      c.get("user").id,
    );
    c.header("Cache-Control", "private, no-store");
    return c.json(list, 200);
  });
}

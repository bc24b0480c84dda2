import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import { RATE_LIMIT_ERRORS, rateLimit } from "../middleware/rate-limit";
import type { App } from "../router";
import { WAITLIST_WRITE_LIMITS } from "./limits";
import { FestivalParamsSchema, WaitlistEntrySchema, WaitlistJoinSchema } from "./schemas";
import { joinWaitlist } from "./waitlist";

export type V1FestivalsWaitlistPostRequest = z.input<typeof WaitlistJoinSchema>;
export type V1FestivalsWaitlistPostResponse = z.infer<typeof WaitlistEntrySchema>;

const route = createRoute({
  method: "post",
  path: "/v1/festivals/{festivalId}/waitlist",
  operationId: "festivalsWaitlistPost",
  tags: ["waitlist"],
  summary: "Wait for places on a sold-out day (joining again answers the same entry)",
  description:
    "When places free up they are offered to the line in arrival order (an entry wanting more than is " +
    "free lets smaller ones behind it pass). An offer holds the places for the festival's offer time; " +
    "claim it by reserving the same day (POST /v1/festivals/{festivalId}/reservations). 409 " +
    "waitlist.places_available when the day can serve the quantity now.",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), rateLimit(...WAITLIST_WRITE_LIMITS)] as const,
  request: {
    params: FestivalParamsSchema,
    body: { required: true, content: { "application/json": { schema: WaitlistJoinSchema } } },
  },
  responses: {
    200: { description: "Already waiting", content: { "application/json": { schema: WaitlistEntrySchema } } },
    201: { description: "Joined", content: { "application/json": { schema: WaitlistEntrySchema } } },
    ...errorResponses(
      400,
      ...AUTH_ERRORS,
      ...RATE_LIMIT_ERRORS,
      [404, "festival.not_found"],
      [409, "waitlist.places_available"],
      [422, "waitlist.not_on_sale", "waitlist.invalid_day", "waitlist.limit_exceeded"],
      [503, "service.busy"],
    ),
  },
});

export function registerV1FestivalsWaitlistPost(app: App) {
  app.openapi(route, async (c) => {
    const { entry, created } = await joinWaitlist(
      c.get("services"),
      c.get("logger"),
      c.req.valid("param").festivalId,
      c.get("user").id,
      c.req.valid("json"),
    );
    return created ? c.json(entry, 201) : c.json(entry, 200);
  });
}

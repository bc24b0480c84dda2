import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import { AUTH_ERRORS, requireAuth, requireFestivalStaff, STAFF_ERRORS } from "../middleware/auth";
import type { App } from "../router";
import { deleteSanctionHandler } from "./moderation";

const route = createRoute({
  method: "delete",
  path: "/v1/festivals/{festivalId}/chat/mutes/{userId}",
  operationId: "festivalsChatMutesDelete",
  tags: ["chat", "admin"],
  summary: "Lift a mute (admins and this festival's staff; idempotent)",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireFestivalStaff()] as const,
  request: { params: z.object({ festivalId: IdParamSchema, userId: IdParamSchema }) },
  responses: {
    204: { description: "No mute holds" },
    ...errorResponses(400, ...AUTH_ERRORS, ...STAFF_ERRORS, [404, "chat.room_not_found"]),
  },
});

export function registerV1FestivalsChatMutesDelete(app: App) {
  app.openapi(route, deleteSanctionHandler("mute"));
}

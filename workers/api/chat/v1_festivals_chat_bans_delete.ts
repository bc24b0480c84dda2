import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import { AUTH_ERRORS, requireAuth, requireFestivalStaff, STAFF_ERRORS } from "../middleware/auth";
import type { App } from "../router";
import { deleteSanctionHandler } from "./moderation";

const route = createRoute({
  method: "delete",
  path: "/v1/festivals/{festivalId}/chat/bans/{userId}",
  operationId: "festivalsChatBansDelete",
  tags: ["chat", "admin"],
  summary: "Lift a ban (admins and this festival's staff; idempotent)",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireFestivalStaff()] as const,
  request: { params: z.object({ festivalId: IdParamSchema, userId: IdParamSchema }) },
  responses: {
    204: { description: "No ban holds" },
    ...errorResponses(400, ...AUTH_ERRORS, ...STAFF_ERRORS, [404, "chat.room_not_found"]),
  },
});

export function registerV1FestivalsChatBansDelete(app: App) {
  app.openapi(route, deleteSanctionHandler("ban"));
}

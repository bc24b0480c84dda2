import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import { ADMIN_ERRORS, AUTH_ERRORS, requireAdmin, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { securityEvent } from "./security-events";
import { grantStaff } from "./staff";

const route = createRoute({
  method: "put",
  path: "/v1/festivals/{festivalId}/staff/{userId}",
  operationId: "festivalsStaffPut",
  tags: ["admin"],
  summary: "Make a user staff of this festival: they may check people in at its gate (admins)",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireAdmin()] as const,
  request: { params: z.object({ festivalId: IdParamSchema, userId: IdParamSchema }) },
  responses: {
    204: { description: "Granted (or already staff)" },
    ...errorResponses(400, ...AUTH_ERRORS, ...ADMIN_ERRORS, [404, "festival.not_found", "user.not_found"]),
  },
});

export function registerV1FestivalsStaffPut(app: App) {
  app.openapi(route, async (c) => {
    const { festivalId, userId } = c.req.valid("param");
    await grantStaff(c.get("services"), festivalId, userId, c.get("user").id);
    securityEvent(c.get("logger"), "staff.granted", {
      actorId: c.get("user").id,
      targetId: userId,
      festivalId,
      ip: c.req.header("cf-connecting-ip"),
    });
    return c.body(null, 204);
  });
}

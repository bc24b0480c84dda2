import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import { ADMIN_ERRORS, AUTH_ERRORS, requireAdmin, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { securityEvent } from "./security-events";
import { revokeStaff } from "./staff";

const route = createRoute({
  method: "delete",
  path: "/v1/festivals/{festivalId}/staff/{userId}",
  operationId: "festivalsStaffDelete",
  tags: ["admin"],
  summary: "Take a user's staff role at this festival away, effective at once (admins)",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireAdmin()] as const,
  request: { params: z.object({ festivalId: IdParamSchema, userId: IdParamSchema }) },
  responses: {
    204: { description: "Revoked (or was not staff)" },
    ...errorResponses(400, ...AUTH_ERRORS, ...ADMIN_ERRORS),
  },
});

export function registerV1FestivalsStaffDelete(app: App) {
  app.openapi(route, async (c) => {
    const { festivalId, userId } = c.req.valid("param");
    await revokeStaff(c.get("services"), festivalId, userId);
    securityEvent(c.get("logger"), "staff.revoked", {
      actorId: c.get("user").id,
      targetId: userId,
      festivalId,
      ip: c.req.header("cf-connecting-ip"),
    });
    return c.body(null, 204);
  });
}

import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { ADMIN_ERRORS, AUTH_ERRORS, requireAdmin, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { salesView } from "./admin";
import { FestivalParamsSchema, SalesViewSchema } from "./schemas";

export type V1FestivalsSalesGetResponse = z.infer<typeof SalesViewSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/festivals/{festivalId}/sales",
  operationId: "festivalsSalesGet",
  tags: ["queue", "waitlist", "admin"],
  summary: "The festival's waiting room and waitlists at a glance (admins)",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireAdmin()] as const,
  request: { params: FestivalParamsSchema },
  responses: {
    200: { description: "Sales state", content: { "application/json": { schema: SalesViewSchema } } },
    ...errorResponses(400, ...AUTH_ERRORS, ...ADMIN_ERRORS, [404, "festival.not_found"]),
  },
});

export function registerV1FestivalsSalesGet(app: App) {
  app.openapi(route, async (c) => {
    const view = await salesView(c.get("services"), c.get("logger"), c.req.valid("param").festivalId);
    c.header("Cache-Control", "private, no-store");
    return c.json(view, 200);
  });
}

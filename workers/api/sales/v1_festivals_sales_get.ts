import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import type { App } from "../app";
import { requireAdmin, requireAuth } from "../middleware/auth";
import { salesView } from "./admin";
import { FestivalParamsSchema, SalesViewSchema } from "./schemas";

export type V1FestivalsSalesGetResponse = z.infer<typeof SalesViewSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/festivals/{festivalId}/sales",
  tags: ["queue", "waitlist", "admin"],
  summary: "The festival's waiting room and waitlists at a glance (admins)",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireAdmin()] as const,
  request: { params: FestivalParamsSchema },
  responses: {
    200: { description: "Sales state", content: { "application/json": { schema: SalesViewSchema } } },
    400: errorResponses[400],
    401: errorResponses[401],
    403: errorResponses[403],
    404: errorResponses[404],
    503: errorResponses[503],
  },
});

export function registerV1FestivalsSalesGet(app: App) {
  app.openapi(route, async (c) => {
    const view = await salesView(c.get("services"), c.get("logger"), c.req.valid("param").festivalId);
    c.header("Cache-Control", "private, no-store");
    return c.json(view, 200);
  });
}

import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { ADMIN_ERRORS, AUTH_ERRORS, requireAdmin, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { salesView, updateSalesSettings } from "./admin";
import { FestivalParamsSchema, SalesSettingsSchema, SalesViewSchema } from "./schemas";

export type V1FestivalsSalesPatchRequest = z.input<typeof SalesSettingsSchema>;
export type V1FestivalsSalesPatchResponse = z.infer<typeof SalesViewSchema>;

const route = createRoute({
  method: "patch",
  path: "/v1/festivals/{festivalId}/sales",
  operationId: "festivalsSalesPatch",
  tags: ["queue", "waitlist", "admin"],
  summary: "Waiting room and waitlist settings (admins)",
  description:
    "While `queueEnabled`, reservations need an admission token. Switching the queue on or changing " +
    "its rate restarts admission from now (or from the sale opening, if later). `offerMinutes` applies " +
    "to offers made from now on.",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireAdmin()] as const,
  request: {
    params: FestivalParamsSchema,
    body: { required: true, content: { "application/json": { schema: SalesSettingsSchema } } },
  },
  responses: {
    200: {
      description: "Sales state after the change",
      content: { "application/json": { schema: SalesViewSchema } },
    },
    ...errorResponses(
      400,
      ...AUTH_ERRORS,
      ...ADMIN_ERRORS,
      [404, "festival.not_found"],
      [503, "service.busy"],
    ),
  },
});

export function registerV1FestivalsSalesPatch(app: App) {
  app.openapi(route, async (c) => {
    const s = c.get("services");
    const id = c.req.valid("param").festivalId;
    await updateSalesSettings(s, c.get("logger"), id, c.req.valid("json"));
    return c.json(await salesView(s, c.get("logger"), id), 200);
  });
}

import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import { ADMIN_ERRORS, AUTH_ERRORS, requireAdmin, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { listForFestival } from "./queries";
import { ListQuerySchema, ReservationListSchema } from "./schemas";

export type V1FestivalsReservationsGetResponse = z.infer<typeof ReservationListSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/festivals/{festivalId}/reservations",
  operationId: "festivalsReservationsGet",
  tags: ["reservations", "admin"],
  summary: "A festival's reservations, newest first (admins)",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireAdmin()] as const,
  request: { params: z.object({ festivalId: IdParamSchema }), query: ListQuerySchema },
  responses: {
    200: { description: "One page", content: { "application/json": { schema: ReservationListSchema } } },
    ...errorResponses(400, ...AUTH_ERRORS, ...ADMIN_ERRORS, [404, "festival.not_found"]),
  },
});

export function registerV1FestivalsReservationsGet(app: App) {
  app.openapi(route, async (c) => {
    const page = await listForFestival(
      c.get("services"),
      c.env,
      c.req.valid("param").festivalId,
      c.req.valid("query"),
    );
    c.header("Cache-Control", "private, no-store");
    return c.json(page, 200);
  });
}

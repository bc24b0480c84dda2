import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { getForViewer } from "./queries";
import { ReservationSchema } from "./schemas";

export type V1ReservationsGetResponse = z.infer<typeof ReservationSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/reservations/{id}",
  operationId: "reservationsGet",
  tags: ["reservations"],
  summary: "One reservation with its check-in code (its owner or an admin; others get 404)",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { params: z.object({ id: IdParamSchema }) },
  responses: {
    200: { description: "The reservation", content: { "application/json": { schema: ReservationSchema } } },
    ...errorResponses(400, ...AUTH_ERRORS, [404, "reservation.not_found"]),
  },
});

export function registerV1ReservationsGet(app: App) {
  app.openapi(route, async (c) => {
    const view = await getForViewer(c.get("services"), c.env, c.get("user"), c.req.valid("param").id);
    c.header("Cache-Control", "private, no-store");
    return c.json(view, 200);
  });
}

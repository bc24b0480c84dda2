import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { idempotent } from "../../lib/idempotency";
import { IdempotencyHeaderSchema, IdParamSchema } from "../../lib/schemas";
import type { App } from "../app";
import { requireAuth } from "../middleware/auth";
import { cancelOwn } from "./cancel";
import { ReservationSchema } from "./schemas";

export type V1ReservationsCancelResponse = z.infer<typeof ReservationSchema>;

const route = createRoute({
  method: "post",
  path: "/v1/reservations/{id}/cancel",
  tags: ["reservations"],
  summary: "Cancel my reservation; its places are free again at once",
  description: "Already cancelled or checked in: 409 reservation.not_cancellable. A past day: 422.",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), idempotent("reservations.cancel")] as const,
  request: { params: z.object({ id: IdParamSchema }), headers: IdempotencyHeaderSchema },
  responses: {
    200: { description: "Cancelled", content: { "application/json": { schema: ReservationSchema } } },
    400: errorResponses[400],
    401: errorResponses[401],
    404: errorResponses[404],
    409: errorResponses[409],
    422: errorResponses[422],
    503: errorResponses[503],
  },
});

export function registerV1ReservationsCancel(app: App) {
  app.openapi(route, async (c) => {
    const id = c.req.valid("param").id;
    const view = await cancelOwn(c.get("services"), c.env, c.get("logger"), c.get("user").id, id);
    return c.json(view, 200);
  });
}

import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdempotencyHeaderSchema, IdParamSchema } from "../../lib/schemas";
import { runFollowUpNow } from "../follow-ups";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import { IDEMPOTENCY_ERRORS, idempotent } from "../middleware/idempotency";
import { RATE_LIMIT_ERRORS, rateLimit } from "../middleware/rate-limit";
import type { App } from "../router";
import { RESERVATION_WRITE_LIMITS } from "../sales/limits";
import { cancelOwn } from "./cancel";
import { ReservationSchema } from "./schemas";

export type V1ReservationsCancelResponse = z.infer<typeof ReservationSchema>;

const route = createRoute({
  method: "post",
  path: "/v1/reservations/{id}/cancel",
  operationId: "reservationsCancel",
  tags: ["reservations"],
  summary: "Cancel my reservation; its places are free again at once",
  description: "Already cancelled or checked in: 409 reservation.not_cancellable. A past day: 422.",
  security: [{ bearer: [] }],
  middleware: [
    requireAuth(),
    rateLimit(...RESERVATION_WRITE_LIMITS),
    idempotent("reservations.cancel"),
  ] as const,
  request: { params: z.object({ id: IdParamSchema }), headers: IdempotencyHeaderSchema },
  responses: {
    200: { description: "Cancelled", content: { "application/json": { schema: ReservationSchema } } },
    ...errorResponses(
      400,
      ...AUTH_ERRORS,
      ...RATE_LIMIT_ERRORS,
      ...IDEMPOTENCY_ERRORS,
      [404, "reservation.not_found"],
      [409, "reservation.not_cancellable"],
      [422, "reservation.cancel_closed"],
      [503, "service.busy"],
    ),
  },
});

export function registerV1ReservationsCancel(app: App) {
  app.openapi(route, async (c) => {
    const id = c.req.valid("param").id;
    const s = c.get("services");
    const { view, followUp } = await cancelOwn(s, c.env, c.get("logger"), c.get("user").id, id);
    // The notice before the answer (cancelling is no rush); the cron sends it if this Worker dies.
    await runFollowUpNow(s, c.get("logger"), followUp);
    return c.json(view, 200);
  });
}

import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdempotencyHeaderSchema, IdParamSchema } from "../../lib/schemas";
import { runFollowUpNow } from "../follow-ups";
import { ADMIN_ERRORS, AUTH_ERRORS, requireAdmin, requireAuth } from "../middleware/auth";
import { IDEMPOTENCY_ERRORS, idempotent } from "../middleware/idempotency";
import type { App } from "../router";
import { cancelByAdmin } from "./cancel";
import { ReservationSchema } from "./schemas";

export type V1AdminReservationsCancelResponse = z.infer<typeof ReservationSchema>;

const route = createRoute({
  method: "post",
  path: "/v1/admin/reservations/{id}/cancel",
  operationId: "adminReservationsCancel",
  tags: ["reservations", "admin"],
  summary: "Cancel any user's reservation (admin); its places are free again at once",
  description:
    "The reservation's cancelReason becomes `admin` and its holder is told. Already cancelled or " +
    "checked in: 409 reservation.not_cancellable.",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireAdmin(), idempotent("reservations.admin_cancel")] as const,
  request: { params: z.object({ id: IdParamSchema }), headers: IdempotencyHeaderSchema },
  responses: {
    200: { description: "Cancelled", content: { "application/json": { schema: ReservationSchema } } },
    ...errorResponses(
      400,
      ...AUTH_ERRORS,
      ...ADMIN_ERRORS,
      ...IDEMPOTENCY_ERRORS,
      [404, "reservation.not_found"],
      [409, "reservation.not_cancellable"],
      [503, "service.busy"],
    ),
  },
});

export function registerV1AdminReservationsCancel(app: App) {
  app.openapi(route, async (c) => {
    const s = c.get("services");
    const { view, followUp } = await cancelByAdmin(s, c.env, c.get("logger"), c.req.valid("param").id);
    c.get("logger").info("admin cancelled a reservation", {
      actorId: c.get("user").id,
      reservationId: view.id,
      userId: view.userId,
    });
    await runFollowUpNow(s, c.get("logger"), followUp);
    return c.json(view, 200);
  });
}

import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { DaySchema, IdempotencyHeaderSchema, IdParamSchema } from "../../lib/schemas";
import { runFollowUpNow } from "../follow-ups";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import { IDEMPOTENCY_ERRORS, idempotencyOf, idempotent } from "../middleware/idempotency";
import { RATE_LIMIT_ERRORS, rateLimit } from "../middleware/rate-limit";
import type { App } from "../router";
import { RESERVATION_WRITE_LIMITS } from "../sales/limits";
import { ReservationSchema } from "./schemas";
import { reserve } from "./service";

const AdmissionTokenSchema = z.string().min(1).max(1000);

const ReserveRequestSchema = z
  .object({
    day: DaySchema,
    quantity: z.number().int().min(1).max(100).openapi({ example: 2 }),
    admissionToken: AdmissionTokenSchema.optional().openapi({
      description: "While the festival's waiting room is on (or send it as X-Admission-Token)",
    }),
  })
  .strict();

const ReserveHeadersSchema = IdempotencyHeaderSchema.extend({
  "x-admission-token": AdmissionTokenSchema.optional().openapi({
    description: "The waiting room's admission token (sales/admission-token.ts)",
  }),
});

export type V1FestivalsReservationsPostRequest = z.input<typeof ReserveRequestSchema>;
export type V1FestivalsReservationsPostResponse = z.infer<typeof ReservationSchema>;

const route = createRoute({
  method: "post",
  path: "/v1/festivals/{festivalId}/reservations",
  operationId: "festivalsReservationsPost",
  tags: ["reservations"],
  summary: "Reserve places on one festival day (confirmed at once, or refused)",
  description:
    "Sold out is a 409 (a later retry may succeed once places free up, so it is never replayed from an " +
    "Idempotency-Key); rule violations (not on sale, invalid day, per-user limit) are 422. A repeat with " +
    "the same Idempotency-Key answers the reservation it made (also after a lost answer). While the " +
    "festival's waiting room is on, a valid admission token is required (403 otherwise). A user holding " +
    "a waitlist offer for the day claims it with this call (no admission needed).",
  security: [{ bearer: [] }],
  // Durable: the key is stored with the reservation row (service.ts), so a retry after a Worker died
  // between the write and the answer still gets the reservation that was made.
  middleware: [
    requireAuth(),
    rateLimit(...RESERVATION_WRITE_LIMITS),
    idempotent("reservations.create", { durable: true }),
  ] as const,
  request: {
    params: z.object({ festivalId: IdParamSchema }),
    headers: ReserveHeadersSchema,
    body: { required: true, content: { "application/json": { schema: ReserveRequestSchema } } },
  },
  responses: {
    201: { description: "Confirmed", content: { "application/json": { schema: ReservationSchema } } },
    ...errorResponses(
      400,
      ...AUTH_ERRORS,
      ...RATE_LIMIT_ERRORS,
      ...IDEMPOTENCY_ERRORS,
      [403, "queue.admission_required", "queue.admission_expired", "queue.admission_invalid"],
      [404, "festival.not_found"],
      [409, "reservation.sold_out", "waitlist.offer_expired"],
      [422, "reservation.not_on_sale", "reservation.invalid_day", "reservation.limit_exceeded"],
      [503, "service.busy"],
    ),
  },
});

export function registerV1FestivalsReservationsPost(app: App) {
  app.openapi(route, async (c) => {
    const body = c.req.valid("json");
    const s = c.get("services");
    const { view, replayed, followUp } = await reserve(
      s,
      c.env,
      c.get("logger"),
      c.get("user").id,
      c.req.valid("param").festivalId,
      { ...body, admissionToken: body.admissionToken ?? c.req.valid("header")["x-admission-token"] },
      await idempotencyOf(c),
    );
    if (replayed) c.header("Idempotent-Replayed", "true");
    // Chat membership and the inbox entry after the answer, off the sale's critical path; the outbox
    // row makes the cron do them if this Worker dies first.
    if (followUp) c.executionCtx.waitUntil(runFollowUpNow(s, c.get("logger"), followUp));
    return c.json(view, 201);
  });
}

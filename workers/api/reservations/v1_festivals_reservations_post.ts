import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { DaySchema, IdempotencyHeaderSchema, IdParamSchema } from "../../lib/schemas";
import { runFollowUpSoon } from "../follow-ups";
import { AUTH_ERRORS, requireSignedToken } from "../middleware/auth";
import { IDEMPOTENCY_ERRORS, idempotencyOf, idempotent } from "../middleware/idempotency";
import { RATE_LIMIT_ERRORS } from "../middleware/rate-limit";
import type { App } from "../router";
import { reservationGate } from "./gate";
import { ReservationSchema } from "./schemas";
import { reserve, soldOut } from "./service";

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
  // The token's Redis half, the limits, the idempotency entry and the sold-out flag are one script
  // (gate.ts), run once the request is valid. Durable: the key is stored with the reservation row
  // (service.ts), so a retry after a Worker died between the write and the answer still gets the
  // reservation that was made; the middleware remembers only the refusals.
  middleware: [requireSignedToken(), idempotent("reservations.create", { durable: true })] as const,
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
    const festivalId = c.req.valid("param").festivalId;
    const idempotency = await idempotencyOf(c);
    const gate = await reservationGate(c, c.get("claims"), festivalId, body.day, idempotency);
    // A confirmation logs its own line (service.ts); the crowd's sold-out answers need none.
    c.set("quietAccessLog", true);
    if (gate.kind === "replay") return gate.response as never;
    if (gate.kind === "sold_out") throw soldOut(body.day, 0);
    const { view, replayed, followUp } = await reserve(
      s,
      c.env,
      c.get("logger"),
      c.get("user").id,
      festivalId,
      {
        ...body,
        admissionToken: body.admissionToken ?? c.req.valid("header")["x-admission-token"],
        requestId: c.get("requestId"),
      },
      idempotency,
      gate,
    );
    if (replayed) c.header("Idempotent-Replayed", "true");
    // Chat membership and the inbox entry after the answer, off the sale's critical path; the outbox
    // row makes the cron do them if this Worker dies first.
    if (followUp) c.executionCtx.waitUntil(runFollowUpSoon(s, c.get("logger"), followUp));
    return c.json(view, 201);
  });
}

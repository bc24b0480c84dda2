import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdempotencyHeaderSchema, IdParamSchema } from "../../lib/schemas";
import { AUTH_ERRORS, requireAuth, requireFestivalStaff, STAFF_ERRORS } from "../middleware/auth";
import { IDEMPOTENCY_ERRORS, idempotent } from "../middleware/idempotency";
import type { App } from "../router";
import { checkIn } from "./checkin";
import { ReservationSchema } from "./schemas";

const CheckInRequestSchema = z
  .object({ code: z.string().min(1).max(100).openapi({ example: "SP-42-MZXW6YTBOI2HA5LTMFZGK3TU" }) })
  .strict();

export type V1FestivalsCheckInsPostRequest = z.input<typeof CheckInRequestSchema>;
export type V1FestivalsCheckInsPostResponse = z.infer<typeof ReservationSchema>;

const route = createRoute({
  method: "post",
  path: "/v1/festivals/{festivalId}/check-ins",
  operationId: "festivalsCheckInsPost",
  tags: ["reservations", "admin"],
  summary:
    "Check a reservation in at the gate with its code (admins and this festival's staff); each code works once",
  description:
    "A code is accepted once, at its own festival's gate, on its own day (the festival's timezone), " +
    "while neither the festival nor the reservation is cancelled.",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireFestivalStaff(), idempotent("checkins.create")] as const,
  request: {
    params: z.object({ festivalId: IdParamSchema }),
    headers: IdempotencyHeaderSchema,
    body: { required: true, content: { "application/json": { schema: CheckInRequestSchema } } },
  },
  responses: {
    200: { description: "Checked in", content: { "application/json": { schema: ReservationSchema } } },
    ...errorResponses(
      400,
      ...AUTH_ERRORS,
      ...STAFF_ERRORS,
      ...IDEMPOTENCY_ERRORS,
      [409, "checkin.already_used"],
      [
        422,
        "checkin.invalid",
        "checkin.wrong_festival",
        "checkin.festival_cancelled",
        "checkin.reservation_cancelled",
        "checkin.wrong_day",
      ],
    ),
  },
});

export function registerV1FestivalsCheckInsPost(app: App) {
  app.openapi(route, async (c) => {
    const s = c.get("services");
    const view = await checkIn(
      s,
      c.env,
      c.get("logger"),
      c.req.valid("param").festivalId,
      c.req.valid("json").code,
    );
    return c.json(view, 200);
  });
}

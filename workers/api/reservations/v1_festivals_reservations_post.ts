import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { idempotent } from "../../lib/idempotency";
import type { App } from "../app";
import { requireAuth } from "../middleware/auth";
import { DaySchema, IdempotencyHeaderSchema, IdParamSchema, ReservationSchema } from "./schemas";
import { reserve } from "./service";

const ReserveRequestSchema = z
  .object({ day: DaySchema, quantity: z.number().int().min(1).max(100).openapi({ example: 2 }) })
  .strict();

export type V1FestivalsReservationsPostRequest = z.input<typeof ReserveRequestSchema>;
export type V1FestivalsReservationsPostResponse = z.infer<typeof ReservationSchema>;

const route = createRoute({
  method: "post",
  path: "/v1/festivals/{festivalId}/reservations",
  tags: ["reservations"],
  summary: "Reserve places on one festival day (confirmed at once, or refused)",
  description:
    "Sold out is a 409 (a later retry may succeed once places free up, so it is never replayed from an " +
    "Idempotency-Key); rule violations (not on sale, invalid day, per-user limit) are 422.",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), idempotent("reservations.create")] as const,
  request: {
    params: z.object({ festivalId: IdParamSchema }),
    headers: IdempotencyHeaderSchema,
    body: { required: true, content: { "application/json": { schema: ReserveRequestSchema } } },
  },
  responses: {
    201: { description: "Confirmed", content: { "application/json": { schema: ReservationSchema } } },
    400: errorResponses[400],
    401: errorResponses[401],
    404: errorResponses[404],
    409: errorResponses[409],
    422: errorResponses[422],
    503: errorResponses[503],
  },
});

export function registerV1FestivalsReservationsPost(app: App) {
  app.openapi(route, async (c) => {
    const view = await reserve(
      c.get("services"),
      c.env,
      c.get("logger"),
      c.get("user").id,
      c.req.valid("param").festivalId,
      c.req.valid("json"),
    );
    return c.json(view, 201);
  });
}

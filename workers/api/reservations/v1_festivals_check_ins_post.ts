import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { idempotent } from "../../lib/idempotency";
import { IdempotencyHeaderSchema, IdParamSchema } from "../../lib/schemas";
import type { App } from "../app";
import { requireAdmin, requireAuth } from "../middleware/auth";
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
  tags: ["reservations", "admin"],
  summary: "Check a reservation in at the gate with its code (admins); each code works once",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireAdmin(), idempotent("checkins.create")] as const,
  request: {
    params: z.object({ festivalId: IdParamSchema }),
    headers: IdempotencyHeaderSchema,
    body: { required: true, content: { "application/json": { schema: CheckInRequestSchema } } },
  },
  responses: {
    200: { description: "Checked in", content: { "application/json": { schema: ReservationSchema } } },
    400: errorResponses[400],
    401: errorResponses[401],
    403: errorResponses[403],
    409: errorResponses[409],
    422: errorResponses[422],
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

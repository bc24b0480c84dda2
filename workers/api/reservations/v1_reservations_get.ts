import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import type { App } from "../app";
import { requireAuth } from "../middleware/auth";
import { getForViewer } from "./queries";
import { ReservationSchema } from "./schemas";

export type V1ReservationsGetResponse = z.infer<typeof ReservationSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/reservations/{id}",
  tags: ["reservations"],
  summary: "One reservation with its check-in code (its owner or an admin; others get 404)",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { params: z.object({ id: IdParamSchema }) },
  responses: {
    200: { description: "The reservation", content: { "application/json": { schema: ReservationSchema } } },
    400: errorResponses[400],
    401: errorResponses[401],
    404: errorResponses[404],
  },
});

export function registerV1ReservationsGet(app: App) {
  app.openapi(route, async (c) => {
    const view = await getForViewer(c.get("services"), c.env, c.get("user"), c.req.valid("param").id);
    c.header("Cache-Control", "private, no-store");
    return c.json(view, 200);
  });
}

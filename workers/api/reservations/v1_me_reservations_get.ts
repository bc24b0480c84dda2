import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import type { App } from "../app";
import { requireAuth } from "../middleware/auth";
import { listMine } from "./queries";
import { ListQuerySchema, ReservationListSchema } from "./schemas";

export type V1MeReservationsGetQuery = z.input<typeof ListQuerySchema>;
export type V1MeReservationsGetResponse = z.infer<typeof ReservationListSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/me/reservations",
  tags: ["reservations", "me"],
  summary: "My reservations, newest first, optionally of one status",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { query: ListQuerySchema },
  responses: {
    200: { description: "One page", content: { "application/json": { schema: ReservationListSchema } } },
    400: errorResponses[400],
    401: errorResponses[401],
  },
});

export function registerV1MeReservationsGet(app: App) {
  app.openapi(route, async (c) => {
    const page = await listMine(c.get("services"), c.env, c.get("user").id, c.req.valid("query"));
    c.header("Cache-Control", "private, no-store");
    return c.json(page, 200);
  });
}

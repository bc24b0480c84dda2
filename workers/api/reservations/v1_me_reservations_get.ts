import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { listMine } from "./queries";
import { ListQuerySchema, ReservationListSchema } from "./schemas";

export type V1MeReservationsGetQuery = z.input<typeof ListQuerySchema>;
export type V1MeReservationsGetResponse = z.infer<typeof ReservationListSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/me/reservations",
  operationId: "meReservationsGet",
  tags: ["reservations", "me"],
  summary: "My reservations, newest first, optionally of one status",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { query: ListQuerySchema },
  responses: {
    200: { description: "One page", content: { "application/json": { schema: ReservationListSchema } } },
    ...errorResponses(400, ...AUTH_ERRORS),
  },
});

export function registerV1MeReservationsGet(app: App) {
  app.openapi(route, async (c) => {
    const page = await listMine(c.get("services"), c.env, c.get("user").id, c.req.valid("query"));
    c.header("Cache-Control", "private, no-store");
    return c.json(page, 200);
  });
}

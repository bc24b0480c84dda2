import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import type { App } from "../app";
import { requireAuth } from "../middleware/auth";
import { leaveQueue } from "./admission";
import { FestivalParamsSchema } from "./schemas";

const route = createRoute({
  method: "delete",
  path: "/v1/festivals/{festivalId}/queue/me",
  tags: ["queue"],
  summary: "Leave the waiting room (or give back an admission); idempotent",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { params: FestivalParamsSchema },
  responses: {
    204: { description: "Not in the room any more" },
    400: errorResponses[400],
    401: errorResponses[401],
    404: errorResponses[404],
    503: errorResponses[503],
  },
});

export function registerV1FestivalsQueueMeDelete(app: App) {
  app.openapi(route, async (c) => {
    await leaveQueue(c.get("services"), c.req.valid("param").festivalId, c.get("user").id);
    return c.body(null, 204);
  });
}

import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import type { App } from "../app";
import { requireAuth } from "../middleware/auth";
import { myQueueStatus } from "./admission";
import { FestivalParamsSchema, QueueStatusSchema } from "./schemas";

export type V1FestivalsQueueMeGetResponse = z.infer<typeof QueueStatusSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/festivals/{festivalId}/queue/me",
  tags: ["queue"],
  summary: "My place in the waiting room, or my admission token once admitted",
  description:
    "404 queue.not_joined when not in the room (never joined, left, reserved, or admission expired).",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { params: FestivalParamsSchema },
  responses: {
    200: { description: "My status", content: { "application/json": { schema: QueueStatusSchema } } },
    400: errorResponses[400],
    401: errorResponses[401],
    404: errorResponses[404],
    422: errorResponses[422],
    503: errorResponses[503],
  },
});

export function registerV1FestivalsQueueMeGet(app: App) {
  app.openapi(route, async (c) => {
    const status = await myQueueStatus(
      c.get("services"),
      c.env,
      c.req.valid("param").festivalId,
      c.get("user").id,
    );
    c.header("Cache-Control", "private, no-store");
    return c.json(status, 200);
  });
}

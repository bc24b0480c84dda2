import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { reportMessage } from "./moderation";

const ReportRequestSchema = z
  .object({ reason: z.string().trim().min(1).max(500).openapi({ example: "욕설" }) })
  .strict();

export type V1FestivalsChatMessagesReportsPostRequest = z.input<typeof ReportRequestSchema>;

const route = createRoute({
  method: "post",
  path: "/v1/festivals/{festivalId}/chat/messages/{seq}/reports",
  operationId: "festivalsChatMessagesReportsPost",
  tags: ["chat"],
  summary: "Report a message to the festival's staff (members and admins; once per message)",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: {
    params: z.object({ festivalId: IdParamSchema, seq: IdParamSchema }),
    body: { required: true, content: { "application/json": { schema: ReportRequestSchema } } },
  },
  responses: {
    204: { description: "Reported (a repeated report changes nothing)" },
    ...errorResponses(
      400,
      ...AUTH_ERRORS,
      [403, "chat.not_member"],
      [404, "chat.room_not_found", "chat.message_not_found"],
    ),
  },
});

export function registerV1FestivalsChatMessagesReportsPost(app: App) {
  app.openapi(route, async (c) => {
    const { festivalId, seq } = c.req.valid("param");
    await reportMessage(c.get("services"), c.get("user"), festivalId, seq, c.req.valid("json").reason);
    return c.body(null, 204);
  });
}

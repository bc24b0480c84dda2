import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { pinnedAnnouncement } from "./moderation";
import { ChatPinnedSchema } from "./schemas";

export type V1FestivalsChatPinnedGetResponse = z.infer<typeof ChatPinnedSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/festivals/{festivalId}/chat/pinned",
  operationId: "festivalsChatPinnedGet",
  tags: ["chat"],
  summary: "The room's pinned announcement, if any (members and admins)",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { params: z.object({ festivalId: IdParamSchema }) },
  responses: {
    200: {
      description: "The pinned announcement",
      content: { "application/json": { schema: ChatPinnedSchema } },
    },
    ...errorResponses(400, ...AUTH_ERRORS, [403, "chat.not_member"], [404, "chat.room_not_found"]),
  },
});

export function registerV1FestivalsChatPinnedGet(app: App) {
  app.openapi(route, async (c) => {
    const announcement = await pinnedAnnouncement(
      c.get("services"),
      c.get("user"),
      c.req.valid("param").festivalId,
    );
    c.header("Cache-Control", "private, no-store");
    return c.json({ announcement }, 200);
  });
}

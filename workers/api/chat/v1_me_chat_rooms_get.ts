import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { CursorSchema } from "../../lib/schemas";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import type { App } from "../router";

import { listMyRooms } from "./my-rooms";
import { ChatRoomListSchema } from "./schemas";

const QuerySchema = z.object({
  cursor: CursorSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

export type V1MeChatRoomsGetResponse = z.infer<typeof ChatRoomListSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/me/chat-rooms",
  operationId: "meChatRoomsGet",
  tags: ["chat", "me"],
  summary: "My chat rooms with their last message and my unread count",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { query: QuerySchema },
  responses: {
    200: { description: "One page", content: { "application/json": { schema: ChatRoomListSchema } } },
    ...errorResponses(400, ...AUTH_ERRORS),
  },
});

export function registerV1MeChatRoomsGet(app: App) {
  app.openapi(route, async (c) => {
    const page = await listMyRooms(c.get("services"), c.get("user").id, c.req.valid("query"));
    c.header("Cache-Control", "private, no-store");
    return c.json(page, 200);
  });
}

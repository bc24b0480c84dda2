import { createRoute, z } from "@hono/zod-openapi";
import { AppError, errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { readHistory } from "./history";
import { chatAccess } from "./rooms";
import { beforePageQuery, ChatMessagePageSchema } from "./schemas";

/** `before`: messages with a smaller seq; omitted = the newest. The previous page's nextCursor. */
const QuerySchema = beforePageQuery({ example: 951 });

export type V1FestivalsMessagesGetQuery = z.input<typeof QuerySchema>;
export type V1FestivalsMessagesGetResponse = z.infer<typeof ChatMessagePageSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/festivals/{id}/messages",
  operationId: "festivalsMessagesGet",
  tags: ["chat"],
  summary: "The room's message history, newest first (members and admins)",
  description:
    "Keyset pages by seq for infinite scroll: pass a page's `nextCursor` as `before` for the older " +
    "page; `nextCursor` is null at the start of the room. Stable while new messages arrive. Every " +
    "acked message is included, also those not yet written to the history store.",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { params: z.object({ id: IdParamSchema }), query: QuerySchema },
  responses: {
    200: { description: "One page", content: { "application/json": { schema: ChatMessagePageSchema } } },
    ...errorResponses(
      400,
      ...AUTH_ERRORS,
      [403, "chat.not_member"],
      [404, "chat.room_not_found"],
      [503, "chat.history_unavailable"],
    ),
  },
});

export function registerV1FestivalsMessagesGet(app: App) {
  app.openapi(route, async (c) => {
    const s = c.get("services");
    const user = c.get("user");
    const festivalId = c.req.valid("param").id;
    const access = await chatAccess(s, festivalId, user.id);
    if (!access.nickname) throw new AppError(401, "auth.invalid_token", "This account no longer exists");
    if (!access.member && user.role !== "admin") {
      throw new AppError(403, "chat.not_member", "Join the festival's chat room first");
    }
    const page = await readHistory(s, c.env, festivalId, c.req.valid("query"));
    c.header("Cache-Control", "private, no-store");
    return c.json(page, 200);
  });
}

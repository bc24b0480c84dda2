import { createRoute, z } from "@hono/zod-openapi";
import { encodeIdentity, IDENTITY_HEADER } from "../../../durable-objects/chat-room/contract/identity";
import { BEARER_PROTOCOL_PREFIX, CHAT_PROTOCOL } from "../../../durable-objects/chat-room/contract/protocol";
import { AppError, errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import { authenticate, bearerToken } from "../middleware/auth";
import type { App } from "../router";
import { chatAccess, roomStub } from "./rooms";

const route = createRoute({
  method: "get",
  path: "/v1/festivals/{id}/chat",
  operationId: "festivalsChatGet",
  tags: ["chat"],
  summary: "Open the room's WebSocket (members and admins)",
  description:
    "Send the access token as `Authorization: Bearer <token>`, or (browsers) as the WebSocket " +
    `subprotocols \`${CHAT_PROTOCOL}\` and \`${BEARER_PROTOCOL_PREFIX}<token>\`; the server then selects ` +
    `\`${CHAT_PROTOCOL}\`. Frames are described in DESIGN.md (chat protocol).`,
  security: [{ bearer: [] }],
  request: { params: z.object({ id: IdParamSchema }) },
  responses: {
    101: { description: "Switching to the chat WebSocket" },
    ...errorResponses(
      [400, "chat.protocol_required"],
      [401, "auth.missing_token", "auth.invalid_token"],
      [403, "chat.not_member"],
      [404, "chat.room_not_found"],
      [426, "chat.upgrade_required"],
    ),
  },
});

/** The token and the membership are checked here, before the upgrade reaches the room object. */
export function registerV1FestivalsChatGet(app: App) {
  app.openapi(route, async (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new AppError(426, "chat.upgrade_required", "Connect with a WebSocket upgrade", {
        headers: { Upgrade: "websocket" },
      });
    }
    const offered = (c.req.header("sec-websocket-protocol") ?? "")
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean);
    if (offered.length && !offered.includes(CHAT_PROTOCOL)) {
      throw new AppError(400, "chat.protocol_required", `Offer the subprotocol ${CHAT_PROTOCOL}`);
    }
    const token =
      bearerToken(c.req.header("authorization")) ??
      offered.find((p) => p.startsWith(BEARER_PROTOCOL_PREFIX))?.slice(BEARER_PROTOCOL_PREFIX.length);
    if (!token) throw new AppError(401, "auth.missing_token", "Send an access token to open the chat");

    const s = c.get("services");
    const user = await authenticate(token, c.env, s);
    const festivalId = c.req.valid("param").id;
    const access = await chatAccess(s, festivalId, user.id);
    if (!access.nickname) throw new AppError(401, "auth.invalid_token", "This account no longer exists");
    if (!access.member && user.role !== "admin") {
      throw new AppError(403, "chat.not_member", "Join the festival's chat room first");
    }

    const identity = encodeIdentity({
      festivalId,
      userId: user.id,
      nickname: access.nickname,
      role: user.role,
      readSeq: access.readSeq,
      ...(offered.length ? { protocol: CHAT_PROTOCOL } : {}),
    });
    return roomStub(festivalId, c.env.CHAT_ROOM).fetch("https://chat-room.internal/connect", {
      headers: { upgrade: "websocket", [IDENTITY_HEADER]: identity },
    });
  });
}

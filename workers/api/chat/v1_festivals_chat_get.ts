import { createRoute, z } from "@hono/zod-openapi";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
  encodeIdentity,
  IDENTITY_HEADER,
  PLACES_SHARDS_HEADER,
  SHARD_HEADER,
} from "../../../durable-objects/chat-room/contract/identity";
import {
  BEARER_PROTOCOL_PREFIX,
  CHAT_PROTOCOL,
  ConnectQuerySchema,
} from "../../../durable-objects/chat-room/contract/protocol";
import { AppError, errorResponses } from "../../lib/errors";
import { enforce, type LimitPolicy } from "../../lib/rate-limit";
import { IdParamSchema } from "../../lib/schemas";
import { authenticate, bearerToken } from "../middleware/auth";
import type { App } from "../router";
import { chatAccess, noteAdminVisit, roomStub, shardStub } from "./rooms";

/**
 * Upgrades per user, counted before the membership query: a reconnect loop costs one Redis call,
 * not a database query and a socket each. Open on a Redis outage: the room's own caps still hold.
 */
const UPGRADE_LIMIT: LimitPolicy = { name: "chat-upgrade", limit: 30, window: "60 s", onRedisDown: "open" };

const route = createRoute({
  method: "get",
  path: "/v1/festivals/{id}/chat",
  operationId: "festivalsChatGet",
  tags: ["chat"],
  summary: "Open the room's WebSocket (members and admins)",
  description:
    "Send the access token as `Authorization: Bearer <token>`, or (browsers) as the WebSocket " +
    `subprotocols \`${CHAT_PROTOCOL}\` and \`${BEARER_PROTOCOL_PREFIX}<token>\`; the server then selects ` +
    `\`${CHAT_PROTOCOL}\`. A client that holds messages up to seq N connects with \`?after=N\`: the ` +
    "welcome then carries exactly the messages after N (`resumed: true`), or none when the gap is too " +
    "large (`resumed: false`, load it from the history). The socket closes with 4001 when the token " +
    "expires, 4002 when the session is revoked, 4003 when the user leaves the room, 4004 when staff " +
    "ban the user (a banned user's connect is refused: 403 `chat.banned`), 1008 after too " +
    "many refused frames. Frames are described in DESIGN.md (chat protocol).",
  security: [{ bearer: [] }],
  request: { params: z.object({ id: IdParamSchema }), query: ConnectQuerySchema },
  responses: {
    101: { description: "Switching to the chat WebSocket" },
    ...errorResponses(
      [400, "chat.protocol_required"],
      [401, "auth.missing_token", "auth.invalid_token"],
      [403, "chat.not_member", "chat.banned"],
      [404, "chat.room_not_found"],
      [426, "chat.upgrade_required"],
      [429, "rate.limited", "chat.too_many_sockets"],
      [503, "chat.room_full"],
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
    // Taken before the checks: a leave the room hears of after this moment refuses this socket.
    const checkedAt = Date.now();
    const user = await authenticate(token, c.env, s);
    await enforce(s, c.get("logger"), UPGRADE_LIMIT, `user:${user.id}`);
    const festivalId = c.req.valid("param").id;
    const access = await chatAccess(s, festivalId, user.id);
    if (!access.nickname) throw new AppError(401, "auth.invalid_token", "This account no longer exists");
    if (!access.member && user.role !== "admin") {
      throw new AppError(403, "chat.not_member", "Join the festival's chat room first");
    }
    // An admin's socket in a room they are no member of: the room list cannot find it on demotion.
    if (!access.member) await noteAdminVisit(s, user.id, festivalId);

    const identity = encodeIdentity({
      festivalId,
      userId: user.id,
      nickname: access.nickname,
      role: user.role,
      readSeq: access.readSeq,
      exp: user.claims.exp,
      jti: user.claims.jti,
      checkedAt,
      ...c.req.valid("query"),
      ...(offered.length ? { protocol: CHAT_PROTOCOL } : {}),
    });
    const headers = { upgrade: "websocket", [IDENTITY_HEADER]: identity };
    let res = await roomStub(festivalId, c.env.CHAT_ROOM).fetch("https://chat-room.internal/connect", {
      headers: { ...headers, [PLACES_SHARDS_HEADER]: "1" },
    });
    // A large room holds this socket on one of its shards: the same connect goes there.
    const shard = res.status === 307 ? res.headers.get(SHARD_HEADER) : null;
    if (shard !== null) {
      res = await shardStub(festivalId, Number(shard), c.env.CHAT_SHARD).fetch(
        "https://chat-shard.internal/connect",
        {
          headers: { ...headers, [SHARD_HEADER]: shard },
        },
      );
    }
    if (res.status === 101) return res;
    // The room refused (caps, a leave or logout that raced this check): same envelope as any error.
    const refusal = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
    throw new AppError(
      res.status as ContentfulStatusCode,
      refusal.code ?? "internal",
      refusal.message ?? "The room refused the connection",
      res.status === 503 ? { headers: { "Retry-After": "30" } } : {},
    );
  });
}

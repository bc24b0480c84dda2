import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import { ADMIN_ERRORS, AUTH_ERRORS, requireAdmin, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { roomStub, shardStub } from "./rooms";

const counter = (what: string) => z.number().int().describe(`${what}, since the object was last loaded`);

const RoomFanoutSchema = z
  .object({
    roomId: z.string(),
    roomSockets: z.number().int().describe("Sockets the room's own object holds"),
    messagesAccepted: counter("Messages the room accepted"),
    socketFramesSent: counter("Frames the room's object wrote to its own sockets"),
    shardCalls: counter("Delivery calls the room made to its shards (each carries a batch of frames)"),
    shardFramesDropped: counter("Frames dropped for a shard that stayed unreachable (its clients resume)"),
    shards: z
      .array(
        z.object({
          shard: z.number().int(),
          sockets: z.number().int().describe("Sockets the shard holds"),
          deliveries: counter("Delivery calls this shard received"),
          socketFramesSent: counter("Frames this shard wrote to its sockets"),
        }),
      )
      .describe("Shards that hold sockets; empty while the room is one object"),
  })
  .openapi("ChatRoomFanout");

export type V1AdminChatRoomsGetResponse = z.infer<typeof RoomFanoutSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/admin/chat/rooms/{id}",
  operationId: "adminChatRoomGet",
  tags: ["chat", "admin"],
  summary:
    "Where a festival room's sockets are (its object and its shards) and what a message costs each (admins)",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireAdmin()] as const,
  request: { params: z.object({ id: IdParamSchema }) },
  responses: {
    200: {
      description: "The room's fan-out",
      content: { "application/json": { schema: RoomFanoutSchema } },
    },
    ...errorResponses(...AUTH_ERRORS, ...ADMIN_ERRORS),
  },
});

export function registerV1AdminChatRoomsGet(app: App) {
  app.openapi(route, async (c) => {
    const festivalId = c.req.valid("param").id;
    const room = await roomStub(festivalId, c.env.CHAT_ROOM).fanout();
    const shards = await Promise.all(
      room.shards.map(async ({ shard }) => ({
        shard,
        ...(await shardStub(festivalId, shard, c.env.CHAT_SHARD).fanout()),
      })),
    );
    c.header("Cache-Control", "private, no-store");
    return c.json({ roomId: String(festivalId), ...room, shards }, 200);
  });
}

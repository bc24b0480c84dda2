import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { ADMIN_ERRORS, AUTH_ERRORS, requireAdmin, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { persistenceView } from "./persistence";

const PersistenceSchema = z
  .object({
    rooms: z
      .array(
        z.object({
          roomId: z.string(),
          oldestUnpersistedAt: z.iso.datetime(),
          ageMs: z.number().int(),
        }),
      )
      .describe("Rooms holding messages DynamoDB does not have yet, longest waiting first (at most 100)"),
    roomsWithUnpersisted: z.number().int(),
    consumer: z
      .object({
        topic: z.string(),
        group: z.string(),
        reportedAt: z.iso.datetime(),
        partitions: z.array(
          z.object({
            partition: z.number().int(),
            committed: z
              .number()
              .int()
              .nullable()
              .describe("Next offset the group reads; null before its first commit"),
            end: z.number().int(),
            lag: z
              .number()
              .int()
              .describe(
                "Records of the partition not yet in DynamoDB (from the log start before any commit)",
              ),
          }),
        ),
      })
      .nullable()
      .describe("As of the consumer's last run; null before its first"),
  })
  .openapi("ChatPersistence");

export type V1AdminChatPersistenceGetResponse = z.infer<typeof PersistenceSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/admin/chat/persistence",
  operationId: "adminChatPersistenceGet",
  tags: ["chat", "admin"],
  summary:
    "How far chat messages are from DynamoDB: oldest unpersisted message per room, consumer lag per partition (admins)",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireAdmin()] as const,
  responses: {
    200: {
      description: "The persistence path",
      content: { "application/json": { schema: PersistenceSchema } },
    },
    ...errorResponses(...AUTH_ERRORS, ...ADMIN_ERRORS),
  },
});

export function registerV1AdminChatPersistenceGet(app: App) {
  app.openapi(route, async (c) => {
    const view = await persistenceView(c.get("services"), c.get("logger"));
    c.header("Cache-Control", "private, no-store");
    return c.json(view, 200);
  });
}

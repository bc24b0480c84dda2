import { createRoute, z } from "@hono/zod-openapi";
import { and, eq, isNull } from "drizzle-orm";
import { users } from "../../db/schema/users";
import { errorResponses } from "../../lib/errors";
import { NicknameSchema, NotificationPrefsSchema, ProfileSchema } from "../auth/schemas";
import { toProfile } from "../auth/service";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { requireActiveUser } from "./service";

const PatchMeRequestSchema = z
  .object({ nickname: NicknameSchema, notifications: NotificationPrefsSchema.partial() })
  .partial()
  .strict();

export type V1MePatchRequest = z.input<typeof PatchMeRequestSchema>;

const route = createRoute({
  method: "patch",
  path: "/v1/me",
  operationId: "mePatch",
  tags: ["me"],
  summary: "Change my nickname or notification preferences",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { body: { required: true, content: { "application/json": { schema: PatchMeRequestSchema } } } },
  responses: {
    200: { description: "Updated profile", content: { "application/json": { schema: ProfileSchema } } },
    ...errorResponses(400, ...AUTH_ERRORS, [404, "user.not_found"]),
  },
});

export function registerV1MePatch(app: App) {
  app.openapi(route, async (c) => {
    const s = c.get("services");
    const userId = c.get("user").id;
    await requireActiveUser(s, userId);
    const { nickname, notifications: n } = c.req.valid("json");
    const set = {
      ...(nickname !== undefined && { nickname }),
      ...(n?.reminders !== undefined && { notifyReminders: n.reminders }),
      ...(n?.reminderOffsetsHours !== undefined && {
        reminderOffsetsHours: [...new Set(n.reminderOffsetsHours)].sort((a, b) => b - a),
      }),
      ...(n?.chat !== undefined && { notifyChat: n.chat }),
      ...(n?.festivalUpdates !== undefined && { notifyFestivalUpdates: n.festivalUpdates }),
    };
    // Deleted rows stay (anonymised): never write a new nickname onto one that a racing DELETE emptied.
    if (Object.keys(set).length) {
      await s.db
        .update(users)
        .set(set)
        .where(and(eq(users.id, userId), isNull(users.deletedAt)));
    }
    return c.json(toProfile(await requireActiveUser(s, userId)), 200);
  });
}

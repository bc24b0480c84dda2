import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import { AUTH_ERRORS, requireAuth, requireFestivalStaff, STAFF_ERRORS } from "../middleware/auth";
import type { App } from "../router";
import { setSlowMode } from "./moderation";

const SlowModeSchema = z
  .object({ seconds: z.number().int().min(0).max(3600).openapi({ example: 10 }) })
  .strict()
  .openapi("ChatSlowMode");

export type V1FestivalsChatSlowModePutRequest = z.input<typeof SlowModeSchema>;

const route = createRoute({
  method: "put",
  path: "/v1/festivals/{festivalId}/chat/slow-mode",
  operationId: "festivalsChatSlowModePut",
  tags: ["chat", "admin"],
  summary:
    "Set slow mode: seconds between two messages of a member, 0 = off (admins and this festival's staff)",
  description:
    "A `send` that comes too early is answered with an `error` frame `chat.slow_mode` carrying " +
    "`retryAfterMs`; the socket stays open. Admins are not slowed.",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireFestivalStaff()] as const,
  request: {
    params: z.object({ festivalId: IdParamSchema }),
    body: { required: true, content: { "application/json": { schema: SlowModeSchema } } },
  },
  responses: {
    200: { description: "Slow mode as set", content: { "application/json": { schema: SlowModeSchema } } },
    ...errorResponses(400, ...AUTH_ERRORS, ...STAFF_ERRORS, [404, "chat.room_not_found"]),
  },
});

export function registerV1FestivalsChatSlowModePut(app: App) {
  app.openapi(route, async (c) => {
    const { seconds } = c.req.valid("json");
    await setSlowMode(c.get("services"), c.req.valid("param").festivalId, c.get("user").id, seconds);
    return c.json({ seconds }, 200);
  });
}

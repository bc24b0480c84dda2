import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { PasswordSchema, TokenPairSchema } from "../auth/schemas";
import { securityEvent } from "../auth/security-events";
import { tokensFor } from "../auth/service";
import { runSessionsRevokedHooks } from "../hooks";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { changePassword } from "./service";

const ChangePasswordRequestSchema = z
  .object({
    // No rules on the current one: it may predate them.
    currentPassword: z.string().min(1).max(1024).openapi({ example: "festival-2026" }),
    newPassword: PasswordSchema,
  })
  .strict();

export type V1MePasswordPutRequest = z.input<typeof ChangePasswordRequestSchema>;
export type V1MePasswordPutResponse = z.infer<typeof TokenPairSchema>;

const route = createRoute({
  method: "put",
  path: "/v1/me/password",
  operationId: "mePasswordPut",
  tags: ["me"],
  summary: "Change my password: every session ends, and this device gets a new token pair",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: ChangePasswordRequestSchema } } },
  },
  responses: {
    200: {
      description: "Changed; a new session",
      content: { "application/json": { schema: TokenPairSchema } },
    },
    ...errorResponses(
      400,
      ...AUTH_ERRORS,
      [403, "auth.wrong_password"],
      [404, "user.not_found"],
      [429, "auth.too_many_attempts"],
    ),
  },
});

export function registerV1MePasswordPut(app: App) {
  app.openapi(route, async (c) => {
    const s = c.get("services");
    const log = c.get("logger");
    const userId = c.get("user").id;
    const ip = c.req.header("cf-connecting-ip");
    const user = await changePassword(s, log, userId, { ...c.req.valid("json"), ip });
    securityEvent(log, "sessions.revoked", {
      actorId: userId,
      targetId: userId,
      ip,
      reason: "password_changed",
    });
    await runSessionsRevokedHooks(s, userId, log);
    return c.json(await tokensFor(s, c.env, user), 200);
  });
}

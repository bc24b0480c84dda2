import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { securityEvent } from "../auth/security-events";
import { runAccountDeletedHooks, runSessionsRevokedHooks } from "../hooks";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { confirmPassword, deleteAccount } from "./service";

// The password is asked again: a stolen access token alone must not delete the account.
const DeleteMeRequestSchema = z.object({ password: z.string().min(1).max(1024) }).strict();

export type V1MeDeleteRequest = z.input<typeof DeleteMeRequestSchema>;

const route = createRoute({
  method: "delete",
  path: "/v1/me",
  operationId: "meDelete",
  tags: ["me"],
  summary:
    "Delete my account (password required): every session ends, future reservations are cancelled and my chat identity is anonymised",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { body: { required: true, content: { "application/json": { schema: DeleteMeRequestSchema } } } },
  responses: {
    204: { description: "Deleted" },
    ...errorResponses(
      400,
      ...AUTH_ERRORS,
      [403, "auth.wrong_password"],
      [404, "user.not_found"],
      [429, "auth.too_many_attempts"],
      [503, "service.busy"],
    ),
  },
});

export function registerV1MeDelete(app: App) {
  app.openapi(route, async (c) => {
    const s = c.get("services");
    const log = c.get("logger");
    const userId = c.get("user").id;
    const ip = c.req.header("cf-connecting-ip");
    try {
      await confirmPassword(s, log, userId, c.req.valid("json").password, ip);
    } catch (err) {
      securityEvent(log, "account.delete_refused", { actorId: userId, targetId: userId, ip });
      throw err;
    }
    await deleteAccount(s, userId, {
      sessionsRevoked: (s, id) => runSessionsRevokedHooks(s, id, log),
      cleanUp: runAccountDeletedHooks,
    });
    securityEvent(log, "account.deleted", { actorId: userId, targetId: userId, ip });
    return c.body(null, 204);
  });
}

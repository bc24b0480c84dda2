import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { ProfileSchema } from "../auth/schemas";
import { toProfile } from "../auth/service";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { requireActiveUser } from "./service";

const route = createRoute({
  method: "get",
  path: "/v1/me",
  operationId: "meGet",
  tags: ["me"],
  summary: "My profile and notification preferences",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  responses: {
    200: { description: "Profile", content: { "application/json": { schema: ProfileSchema } } },
    ...errorResponses(...AUTH_ERRORS, [404, "user.not_found"]),
  },
});

export function registerV1MeGet(app: App) {
  app.openapi(route, async (c) => {
    const user = await requireActiveUser(c.get("services"), c.get("user").id);
    c.header("Cache-Control", "private, no-store");
    return c.json(toProfile(user), 200);
  });
}

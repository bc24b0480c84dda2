import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import type { App } from "../app";
import { ProfileSchema } from "../auth/schemas";
import { toProfile } from "../auth/service";
import { requireAuth } from "../middleware/auth";
import { requireActiveUser } from "./service";

const route = createRoute({
  method: "get",
  path: "/v1/me",
  tags: ["me"],
  summary: "My profile and notification preferences",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  responses: {
    200: { description: "Profile", content: { "application/json": { schema: ProfileSchema } } },
    401: errorResponses[401],
    404: errorResponses[404],
    500: errorResponses[500],
  },
});

export function registerV1MeGet(app: App) {
  app.openapi(route, async (c) => {
    const user = await requireActiveUser(c.get("services"), c.get("user").id);
    c.header("Cache-Control", "private, no-store");
    return c.json(toProfile(user), 200);
  });
}

import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import type { App } from "../app";
import { requireAuth } from "../middleware/auth";
import { deleteAccount } from "./service";

const route = createRoute({
  method: "delete",
  path: "/v1/me",
  tags: ["me"],
  summary: "Delete my account: future reservations are cancelled and my chat identity is anonymised",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  responses: {
    204: { description: "Deleted" },
    401: errorResponses[401],
    404: errorResponses[404],
    500: errorResponses[500],
  },
});

export function registerV1MeDelete(app: App) {
  app.openapi(route, async (c) => {
    await deleteAccount(c.get("services"), c.get("user").id);
    c.get("logger").info("account deleted", { userId: c.get("user").id });
    return c.body(null, 204);
  });
}

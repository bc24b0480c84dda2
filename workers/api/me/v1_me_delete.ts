import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { runAccountDeletedHooks } from "../hooks";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { deleteAccount } from "./service";

const route = createRoute({
  method: "delete",
  path: "/v1/me",
  operationId: "meDelete",
  tags: ["me"],
  summary: "Delete my account: future reservations are cancelled and my chat identity is anonymised",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  responses: {
    204: { description: "Deleted" },
    ...errorResponses(...AUTH_ERRORS, [404, "user.not_found"], [503, "service.busy"]),
  },
});

export function registerV1MeDelete(app: App) {
  app.openapi(route, async (c) => {
    await deleteAccount(c.get("services"), c.get("user").id, runAccountDeletedHooks);
    c.get("logger").info("account deleted", { userId: c.get("user").id });
    return c.body(null, 204);
  });
}

import { OpenAPIHono } from "@hono/zod-openapi";
import { errorBody } from "../lib/errors";
import type { HonoEnv } from "./hono-env";

/**
 * Routes share this factory so a zod failure anywhere answers the same 400 envelope. It lives apart
 * from createApp (app.ts) so route files depend on the router, never on the app that imports them.
 */
export function newRouter() {
  return new OpenAPIHono<HonoEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const issues = result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
      return c.json(
        errorBody(c.get("requestId"), "validation.failed", "The request is not valid", { issues }),
        400,
      );
    },
  });
}

export type App = ReturnType<typeof newRouter>;

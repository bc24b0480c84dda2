import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import type { App } from "../router";
import { TokenPairSchema } from "./schemas";
import { refresh } from "./service";

const RefreshRequestSchema = z.object({ refreshToken: z.string().min(1).max(200) });

export type V1AuthRefreshRequest = z.input<typeof RefreshRequestSchema>;
export type V1AuthRefreshResponse = z.infer<typeof TokenPairSchema>;

const route = createRoute({
  method: "post",
  path: "/v1/auth/refresh",
  operationId: "authRefresh",
  tags: ["auth"],
  summary:
    "Rotate a refresh token; reusing an old one revokes its whole family (the just-rotated one is answered again for 30 s)",
  security: [],
  request: { body: { required: true, content: { "application/json": { schema: RefreshRequestSchema } } } },
  responses: {
    200: { description: "New token pair", content: { "application/json": { schema: TokenPairSchema } } },
    ...errorResponses(400, [401, "auth.invalid_refresh_token", "auth.refresh_reused"]),
  },
});

export function registerV1AuthRefresh(app: App) {
  app.openapi(route, async (c) => {
    const input = { refreshToken: c.req.valid("json").refreshToken, ip: c.req.header("cf-connecting-ip") };
    return c.json(await refresh(c.get("services"), c.env, c.get("logger"), input), 200);
  });
}

import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import type { App } from "../router";
import { EmailSchema, TokenPairSchema } from "./schemas";
import { login } from "./service";

// No password rules here: a login must not reveal them, and old passwords may predate them.
const LoginRequestSchema = z.object({ email: EmailSchema, password: z.string().min(1).max(1024) });

export type V1AuthLoginRequest = z.input<typeof LoginRequestSchema>;
export type V1AuthLoginResponse = z.infer<typeof TokenPairSchema>;

const route = createRoute({
  method: "post",
  path: "/v1/auth/login",
  operationId: "authLogin",
  tags: ["auth"],
  summary: "Exchange email and password for an access and a refresh token",
  security: [],
  request: { body: { required: true, content: { "application/json": { schema: LoginRequestSchema } } } },
  responses: {
    200: { description: "Signed in", content: { "application/json": { schema: TokenPairSchema } } },
    ...errorResponses(400, [401, "auth.invalid_credentials"], [429, "auth.too_many_attempts"]),
  },
});

export function registerV1AuthLogin(app: App) {
  app.openapi(route, async (c) => {
    const ip = c.req.header("cf-connecting-ip");
    return c.json(
      await login(c.get("services"), c.env, c.get("logger"), { ...c.req.valid("json"), ip }),
      200,
    );
  });
}

import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { RATE_LIMIT_ERRORS } from "../../lib/rate-limit";
import type { App } from "../router";
import { EmailSchema, NicknameSchema, PasswordSchema, ProfileSchema, TokenPairSchema } from "./schemas";
import { signUp, tokensFor, toProfile } from "./service";

const SignupRequestSchema = z.object({
  email: EmailSchema,
  password: PasswordSchema,
  nickname: NicknameSchema,
});
const SignupResponseSchema = z.object({ user: ProfileSchema, tokens: TokenPairSchema });

export type V1AuthSignupRequest = z.input<typeof SignupRequestSchema>;
export type V1AuthSignupResponse = z.infer<typeof SignupResponseSchema>;

const route = createRoute({
  method: "post",
  path: "/v1/auth/signup",
  operationId: "authSignup",
  tags: ["auth"],
  summary: "Create an account (role user) and sign in; throttled per IP and globally",
  security: [],
  request: { body: { required: true, content: { "application/json": { schema: SignupRequestSchema } } } },
  responses: {
    201: { description: "Created", content: { "application/json": { schema: SignupResponseSchema } } },
    ...errorResponses(400, [409, "auth.email_taken"], ...RATE_LIMIT_ERRORS),
  },
});

export function registerV1AuthSignup(app: App) {
  app.openapi(route, async (c) => {
    const s = c.get("services");
    const { email, password, nickname } = c.req.valid("json");
    const ip = c.req.header("cf-connecting-ip");
    const user = await signUp(s, c.get("logger"), { email, password, nickname, ip });
    c.get("logger").info("user signed up", { userId: user.id });
    return c.json({ user: toProfile(user), tokens: await tokensFor(s, c.env, user) }, 201);
  });
}

import { createRoute, z } from "@hono/zod-openapi";
import { AppError, errorResponses } from "../../lib/errors";
import type { Services } from "../../lib/services";
import { verifyAccessToken } from "../auth/tokens";
import { authenticate, bearerToken } from "../middleware/auth";
import type { App } from "../router";

/** A dependency that does not answer within this bound counts as down: health must never hang. */
const CHECK_TIMEOUT_MS = 2_000;
/**
 * Anonymous answers come from one probe per isolate at most this old, so a flood of anonymous
 * calls cannot turn into four dependency calls each (load balancers and uptime checks poll this).
 */
const CACHE_MS = 5_000;

const CheckSchema = z.object({
  status: z.enum(["ok", "down"]),
  latencyMs: z.number(),
  error: z.string().optional(),
});

const HealthSchema = z
  .object({
    status: z.enum(["ok", "degraded"]),
    checkedAt: z.string().openapi({ description: "When the dependencies were probed (ISO 8601)" }),
    checks: z
      .object({ mysql: CheckSchema, redis: CheckSchema, kafka: CheckSchema, dynamodb: CheckSchema })
      .optional()
      .openapi({ description: "Admins only: each dependency's state, latency and first error line" }),
  })
  .openapi("Health");

export type V1HealthResponse = z.infer<typeof HealthSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/health",
  operationId: "health",
  tags: ["ops"],
  summary: "Overall health; each dependency's state for admins",
  description:
    `Anonymous callers get the overall status of a probe at most ${CACHE_MS / 1000} s old (one probe per ` +
    "isolate serves them all). With an admin's token the dependencies are probed now and each is listed.",
  security: [{}, { bearer: [] }],
  responses: {
    // Health answers its own 503 body (the overall status) instead of the error envelope.
    ...errorResponses(),
    200: {
      description: "All dependencies answer",
      content: { "application/json": { schema: HealthSchema } },
    },
    503: { description: "At least one is down", content: { "application/json": { schema: HealthSchema } } },
  },
});

type Check = z.infer<typeof CheckSchema>;
type Probe = {
  at: number;
  checkedAt: string;
  checks: Record<"mysql" | "redis" | "kafka" | "dynamodb", Check>;
};

function withTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
        CHECK_TIMEOUT_MS,
      );
    }),
  ]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

async function check(probe: () => Promise<unknown>): Promise<Check> {
  const started = Date.now();
  try {
    await withTimeout(probe());
    return { status: "ok", latencyMs: Date.now() - started };
  } catch (err) {
    // For admins only: the driver's own reason (drizzle wraps it as `cause`), first line only: no
    // stack, no SQL. Redis errors carry only their code (lib/redis-errors.ts).
    const reason = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    const error = (reason instanceof Error ? reason.message : String(reason)).split("\n")[0]?.slice(0, 200);
    return { status: "down", latencyMs: Date.now() - started, error };
  }
}

async function probeAll(services: Services, env: Env): Promise<Probe> {
  const [mysql, redis, kafka, dynamodb] = await Promise.all([
    check(() => services.db.execute("select 1")),
    check(() => services.redis.ping()),
    check(() => services.kafka.ping(env.KAFKA_TOPIC, CHECK_TIMEOUT_MS)),
    check(() => services.dynamo.call("DescribeTable", { TableName: env.DYNAMO_TABLE })),
  ]);
  return { at: Date.now(), checkedAt: new Date().toISOString(), checks: { mysql, redis, kafka, dynamodb } };
}

/** The isolate's last probe, shared (in flight too) by every anonymous caller until it is CACHE_MS old. */
let shared: { startedAt: number; probe: Promise<Probe> } | undefined;

function sharedProbe(services: Services, env: Env): Promise<Probe> {
  if (!shared || Date.now() - shared.startedAt >= CACHE_MS) {
    shared = { startedAt: Date.now(), probe: probeAll(services, env) };
  }
  return shared.probe;
}

/**
 * Admins see the details. Revocation and role changes live in Redis (authenticate); when Redis is
 * what is down, the token's signed role decides, so an admin can still see what is down.
 */
async function isAdmin(authorization: string | undefined, env: Env, s: Services): Promise<boolean> {
  const token = bearerToken(authorization);
  if (!token) return false;
  const claims = await verifyAccessToken(token, env.JWT_SECRET).catch(() => undefined);
  if (claims?.role !== "admin") return false;
  try {
    return (await withTimeout(authenticate(token, env, s))).role === "admin";
  } catch (err) {
    return !(err instanceof AppError);
  }
}

export function registerV1Health(app: App) {
  app.openapi(route, async (c) => {
    const s = c.get("services");
    const admin = await isAdmin(c.req.header("authorization"), c.env, s);
    const probe = admin ? await probeAll(s, c.env) : await sharedProbe(s, c.env);
    const ok = Object.values(probe.checks).every((x) => x.status === "ok");
    const status = ok ? ("ok" as const) : ("degraded" as const);
    c.header("Cache-Control", "no-store");
    // Anonymous: the overall status only, never which dependency failed or its error text.
    const body = admin
      ? { status, checkedAt: probe.checkedAt, checks: probe.checks }
      : { status, checkedAt: probe.checkedAt };
    return c.json(body, ok ? 200 : 503);
  });
}

import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import type { Services } from "../../lib/services";
import type { App } from "../router";

const CheckSchema = z.object({
  status: z.enum(["ok", "down"]),
  latencyMs: z.number(),
  error: z.string().optional(),
});

const HealthSchema = z
  .object({
    status: z.enum(["ok", "degraded"]),
    checks: z.object({ mysql: CheckSchema, redis: CheckSchema, kafka: CheckSchema, dynamodb: CheckSchema }),
  })
  .openapi("Health");

export type V1HealthResponse = z.infer<typeof HealthSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/health",
  operationId: "health",
  tags: ["ops"],
  summary: "Reachability and latency of every dependency",
  security: [],
  responses: {
    // Health answers its own 503 body (which dependency is down) instead of the error envelope.
    ...errorResponses(),
    200: {
      description: "All dependencies answer",
      content: { "application/json": { schema: HealthSchema } },
    },
    503: { description: "At least one is down", content: { "application/json": { schema: HealthSchema } } },
  },
});

/** A dependency that does not answer within this bound counts as down: health must never hang. */
const CHECK_TIMEOUT_MS = 2_000;

async function check(probe: () => Promise<unknown>): Promise<z.infer<typeof CheckSchema>> {
  const started = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { status: "ok", latencyMs: Date.now() - started };
  } catch (err) {
    // Only the error's first line: enough for an operator, no stack or SQL.
    // The driver's own reason (drizzle wraps it as `cause`), first line only: no stack, no SQL.
    const reason = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    const error = (reason instanceof Error ? reason.message : String(reason)).split("\n")[0]?.slice(0, 200);
    return { status: "down", latencyMs: Date.now() - started, error };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

function probes(services: Services, env: Env) {
  return {
    mysql: () => services.db.execute("select 1"),
    redis: () => services.redis.ping(),
    kafka: () => services.kafka.ping(env.KAFKA_TOPIC, CHECK_TIMEOUT_MS),
    dynamodb: () => services.dynamo.call("DescribeTable", { TableName: env.DYNAMO_TABLE }),
  };
}

export function registerV1Health(app: App) {
  app.openapi(route, async (c) => {
    const p = probes(c.get("services"), c.env);
    const [mysql, redis, kafka, dynamodb] = await Promise.all([
      check(p.mysql),
      check(p.redis),
      check(p.kafka),
      check(p.dynamodb),
    ]);
    const checks = { mysql, redis, kafka, dynamodb };
    const ok = Object.values(checks).every((x) => x.status === "ok");
    c.header("Cache-Control", "no-store");
    return c.json({ status: ok ? ("ok" as const) : ("degraded" as const), checks }, ok ? 200 : 503);
  });
}

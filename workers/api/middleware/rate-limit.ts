import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { consume, type LimitPolicy, redisDown, tooManyRequests } from "../../lib/rate-limit";
import type { HonoEnv } from "../hono-env";

export { RATE_LIMIT_ERRORS } from "../../lib/rate-limit";

/** One limit of a route: a policy, counted per signed-in user or per client address. */
export interface RouteLimit {
  policy: LimitPolicy;
  by: "user" | "ip";
}

/**
 * The client's address as Cloudflare's edge saw it (a client cannot set this header: the edge
 * overwrites it). IPv6 is counted per /64, what one subscriber usually gets, so rotating addresses
 * inside it does not reset the count. Undefined without the header or on loopback: only local runs
 * (tests, `wrangler dev`, benchmarks) look like that, and all their clients share one address.
 */
export function clientAddress(c: Context<HonoEnv>): string | undefined {
  const ip = c.req.header("cf-connecting-ip")?.trim().toLowerCase();
  if (!ip || ip === "127.0.0.1" || ip === "::1" || ip.startsWith("::ffff:127.")) return undefined;
  if (!ip.includes(":")) return ip;
  const [head = "", tail = ""] = ip.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = ip.includes("::")
    ? [...left, ...Array(8 - left.length - right.length).fill("0"), ...right]
    : left;
  return `${groups.slice(0, 4).join(":")}::/64`;
}

/**
 * Route middleware (after `requireAuth()` for "user" limits): counts the request against every
 * limit and answers 429 `rate.limited` with `Retry-After` past any of them. All counters are hit
 * (in parallel), so one cannot spend another's allowance by being refused first.
 */
export const rateLimit = (...limits: RouteLimit[]) =>
  createMiddleware<HonoEnv>(async (c, next) => {
    const s = c.get("services");
    const logger = c.get("logger");
    const checks = limits.flatMap(({ policy, by }) => {
      const who = by === "user" ? c.get("user")?.id : clientAddress(c);
      return who === undefined
        ? []
        : [consume(s, logger, policy, `${by}:${who}`).then((r) => ({ policy, r }))];
    });
    const refused = (await Promise.all(checks)).filter(({ r }) => !r.allowed);
    if (refused.length > 0) {
      const worst = refused.reduce((a, b) => (b.r.retryAfterSeconds > a.r.retryAfterSeconds ? b : a));
      // A "closed" policy whose counter could not be read: the dependency-down answer.
      if (worst.r.degraded) throw redisDown();
      throw tooManyRequests(worst.policy, worst.r.retryAfterSeconds);
    }
    await next();
  });

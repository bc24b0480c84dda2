import type { Services } from "./services";

type Redis = Services["redis"];
type Script = ReturnType<Redis["createScript"]>;

/**
 * One Script per client and per script text. The client runs a Script with EVALSHA (EVAL once after
 * a Redis restart), so the script text is not sent with every call, and the SHA is computed once per
 * isolate instead of once per request. Keyed by the client (a WeakMap) because tests and deployments
 * may build several, each with its own Redis.
 */
const scripts = new WeakMap<Redis, Map<string, Script>>();

export function scriptOf(redis: Redis, source: string): Script {
  let bySource = scripts.get(redis);
  if (!bySource) {
    bySource = new Map();
    scripts.set(redis, bySource);
  }
  let script = bySource.get(source);
  if (!script) {
    script = redis.createScript(source);
    bySource.set(source, script);
  }
  return script;
}

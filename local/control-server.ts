import { createServer } from "node:http";
import { closeServer, listen } from "./http.ts";
import type { Stack, StandinName } from "./stack.ts";

const NAMES = new Set<string>(["planetscale", "redis", "kafka", "dynamo", "fcm"]);

/**
 * Lets fault tests, which run inside workerd, stop and restart real stand-ins:
 * POST /stop/{name}, POST /start/{name}; POST /start/planetscale?mysqlPort=N points the database
 * stand-in at a dead MySQL port, which is how "MariaDB is down" looks from the Worker;
 * POST /start/redis?redisPort=N does the same for Redis behind the Upstash stand-in.
 * POST /fault/planetscale?match=TEXT&errno=1213|1205|1040[&times=N] makes the next N statements (all,
 * without `times`) containing TEXT fail as MySQL fails them under contention; ?clear=TEXT ends it
 * and answers {fired}: how many statements it failed.
 * POST /fault/redis?garbage=on|off makes the Upstash stand-in answer JSON of the wrong shape.
 */
export async function startControlServer(stack: Stack): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://control");
    const [, action, name] = url.pathname.split("/");
    if (req.method === "POST" && action === "fault" && name === "redis" && stack.redis) {
      const garbage = url.searchParams.get("garbage");
      if (garbage !== "on" && garbage !== "off") res.writeHead(400).end();
      else {
        stack.redis.setGarbage(garbage === "on");
        res.writeHead(204).end();
      }
      return;
    }
    if (req.method === "POST" && action === "fault" && name === "planetscale") {
      const fired = fault(stack, url.searchParams);
      if (fired === undefined) res.writeHead(400).end();
      else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ fired }));
      return;
    }
    if (req.method !== "POST" || !name || !NAMES.has(name) || (action !== "stop" && action !== "start")) {
      res.writeHead(404).end();
      return;
    }
    try {
      const standin = name as StandinName;
      if (action === "stop") await stack.stopStandin(standin);
      else {
        const mysqlPort = url.searchParams.get("mysqlPort");
        const redisPort = url.searchParams.get("redisPort");
        await stack.stopStandin(standin).catch(() => {});
        await stack.startStandin(standin, {
          ...(mysqlPort ? { mysqlPort: Number(mysqlPort) } : {}),
          ...(redisPort ? { redisPort: Number(redisPort) } : {}),
        });
      }
      res.writeHead(204).end();
    } catch (err) {
      res.writeHead(500, { "content-type": "text/plain" }).end(String(err));
    }
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, close: () => closeServer(server) };
}

/** See above: how many statements the cleared fault failed (0 when one is set), undefined for bad parameters. */
function fault(stack: Stack, params: URLSearchParams): number | undefined {
  const standin = stack.planetscale;
  if (!standin) return undefined;
  const clear = params.get("clear");
  if (clear) return standin.clearFaults(clear);
  const match = params.get("match");
  const errno = Number(params.get("errno"));
  const times = params.has("times") ? Number(params.get("times")) : Number.POSITIVE_INFINITY;
  if (!match || (errno !== 1213 && errno !== 1205 && errno !== 1040) || !(times >= 1)) return undefined;
  standin.injectFault({ match, errno, times });
  return 0;
}

import { createServer } from "node:http";
import { closeServer, listen } from "./http.ts";
import type { Stack, StandinName } from "./stack.ts";

const NAMES = new Set<string>(["planetscale", "redis", "kafka", "dynamo", "fcm"]);

/**
 * Lets fault tests, which run inside workerd, stop and restart real stand-ins:
 * POST /stop/{name}, POST /start/{name}; POST /start/planetscale?mysqlPort=N points the database
 * stand-in at a dead MySQL port, which is how "MariaDB is down" looks from the Worker.
 */
export async function startControlServer(stack: Stack): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://control");
    const [, action, name] = url.pathname.split("/");
    if (req.method !== "POST" || !name || !NAMES.has(name) || (action !== "stop" && action !== "start")) {
      res.writeHead(404).end();
      return;
    }
    try {
      const standin = name as StandinName;
      if (action === "stop") await stack.stopStandin(standin);
      else {
        const mysqlPort = url.searchParams.get("mysqlPort");
        await stack.stopStandin(standin).catch(() => {});
        await stack.startStandin(standin, mysqlPort ? { mysqlPort: Number(mysqlPort) } : {});
      }
      res.writeHead(204).end();
    } catch (err) {
      res.writeHead(500, { "content-type": "text/plain" }).end(String(err));
    }
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, close: () => closeServer(server) };
}

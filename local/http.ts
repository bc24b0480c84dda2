import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { type AddressInfo, createServer, type Server as NetServer } from "node:net";

/**
 * The HTTP plumbing every stand-in shares; what each answers (its error shapes, its statuses) stays
 * in the stand-in.
 */

/** Listens on 127.0.0.1 only (`port` 0: a free one) and resolves to the port; a taken port rejects. */
export function listen(server: NetServer, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** A port that was free a moment ago: for a process started later, or a stand-in restarted on it. */
export async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Stops listening and resolves once the server has closed. Idle keep-alive sockets are dropped at
 * once and busy ones when `busy` settles (by default at once): fetch keeps sockets open, and they
 * would hold the port the stack restarts the stand-in on. Closing a closed server does nothing.
 */
export function closeServer(server: Server, busy: Promise<unknown> = Promise.resolve()): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err?: Error & { code?: string }) => {
      if (err && err.code !== "ERR_SERVER_NOT_RUNNING") reject(err);
      else resolve();
    });
    server.closeIdleConnections();
    void busy.finally(() => server.closeAllConnections());
  });
}

/**
 * The request body, or undefined once it passes `maxBytes`: that only guards the process against a
 * runaway client. The rest is then read and dropped, so the caller can still answer on the socket.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
      if (size > maxBytes) {
        req.off("data", onData);
        req.resume();
        resolve(undefined);
      }
    };
    req.on("data", onData);
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** A JSON answer with its length; `undefined` sends no body (204). Once headers went out it does nothing. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

// Local DynamoDB stand-in: dynalite (DynamoDB's JSON API on top of LevelDB) running inside this
// Node process on 127.0.0.1. The Worker talks to it with the same signed client it uses for real
// DynamoDB (workers/lib/dynamo.ts); dynalite checks the shape of the signature, not its value.
import { mkdir } from "node:fs/promises";
import type { Server } from "node:http";
import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import { closeServer, listen } from "../http.ts";

export interface DynamoStandin {
  /** Base URL to give the client, e.g. `http://127.0.0.1:7104`. */
  endpoint: string;
  port: number;
  /** Stops listening and closes LevelDB (releasing its lock), so the same port and path can be reused. */
  close(): Promise<void>;
}

export interface DynamoStandinOptions {
  /** TCP port on 127.0.0.1; 0 or omitted picks a free one. */
  port?: number;
  /** LevelDB directory for persistence; omitted keeps everything in memory. */
  path?: string;
}

interface DynaliteOptions {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}

interface LevelDb {
  open(): Promise<void>;
  close(): Promise<void>;
}

// dynalite and level ship no types and are CommonJS: load them with require and describe the
// little we use. `level` is resolved from dynalite's own location so the check below opens the
// database with exactly the LevelDB build dynalite will use.
const require = createRequire(import.meta.url);
const dynalite = require("dynalite") as (options: DynaliteOptions) => Server;
const { Level } = createRequire(require.resolve("dynalite"))("level") as {
  Level: new (path: string) => LevelDb;
};

/** Closing waits for in-flight requests; after this long, remaining connections are cut. */
const CLOSE_GRACE_MS = 2_000;

export async function startDynamoStandin(opts: DynamoStandinOptions = {}): Promise<DynamoStandin> {
  if (opts.path !== undefined) await assertLevelDbOpens(opts.path);

  // Real DynamoDB keeps a new table in CREATING for seconds; dynalite imitates that with 500 ms by
  // default. Tests and `npm run dev` gain nothing from the wait, and ensureChatTable polls anyway.
  const server = dynalite({ path: opts.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });

  const port = await listen(server, opts.port);
  let closing: Promise<void> | undefined;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    close() {
      // dynalite's patched server.close stops the listener, waits for pending LevelDB operations and
      // then closes the database; requests in flight get a grace period before their sockets are cut.
      closing ??= closeServer(server, sleep(CLOSE_GRACE_MS, undefined, { ref: false }));
      return closing;
    },
  };
}

// If LevelDB cannot be opened (most often: another process or stand-in still holds the directory's
// lock), dynalite does not report it; it throws from inside its request handler on the first
// request and takes the whole process down. Opening the directory once up front turns that into a
// clear error here. (A competing process could still grab the lock in between; that is acceptable
// for a local stand-in.)
async function assertLevelDbOpens(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
  const db = new Level(path);
  try {
    await db.open();
  } catch (err) {
    throw new Error(`DynamoDB stand-in: cannot open LevelDB at ${path} (is another stand-in using it?)`, {
      cause: err,
    });
  }
  await db.close();
}

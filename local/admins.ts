import { Client } from "@planetscale/database";
import { Redis } from "@upstash/redis";
import { hashPassword } from "../workers/api/auth/password.ts";
import {
  RAISE_SESSION_VERSION,
  SESSION_VERSION_TTL_MS,
  sessionVersionKeyParts,
} from "../workers/api/auth/session-version.ts";

/** Where the Worker keeps session state: the same REDIS_URL, REDIS_TOKEN and REDIS_PREFIX it runs with. */
export interface RedisTarget {
  url: string;
  token: string;
  prefix: string;
}

export type UpsertOutcome = "created" | "promoted" | "exists";

const isDuplicate = (err: unknown) => /Duplicate entry|ER_DUP_ENTRY|\b1062\b/.test(String(err));

/**
 * An admin as `npm run admin:create` makes one (sign-up never grants the role). A new email makes a
 * new account. An existing one is left alone ("exists") unless `promote` says to take it over: the
 * first person to sign up with an email is not necessarily its owner, so silently promoting it (as
 * this once did) made a stranger admin. A promotion sets role and password and raises the session
 * version in one statement, so every earlier session of that account is dead from that moment:
 * refresh families through MySQL, access tokens through the version's copy in Redis (`redis`).
 */
export async function upsertAdmin(
  databaseUrl: string,
  admin: { email: string; password: string; nickname?: string },
  opts: { promote?: boolean; redis?: RedisTarget } = {},
): Promise<UpsertOutcome> {
  const conn = new Client({ url: databaseUrl }).connection();
  const email = admin.email.toLowerCase();
  const passwordHash = await hashPassword(admin.password);
  try {
    await conn.execute(
      `insert into users (email, nickname, password_hash, role, reminder_offsets_hours, created_at, updated_at)
       values (?, ?, ?, 'admin', '[24,1]', utc_timestamp(3), utc_timestamp(3))`,
      [email, admin.nickname ?? "admin", passwordHash],
    );
    return "created";
  } catch (err) {
    if (!isDuplicate(err)) throw err;
  }
  if (!opts.promote) return "exists";
  return (await changeAccount(conn, email, { role: "admin", passwordHash }, opts.redis))
    ? "promoted"
    : "exists";
}

/** Takes the admin role away; every session of the account ends. False when no such account. */
export async function demoteAdmin(databaseUrl: string, email: string, redis?: RedisTarget): Promise<boolean> {
  const conn = new Client({ url: databaseUrl }).connection();
  return changeAccount(conn, email.toLowerCase(), { role: "user" }, redis);
}

async function changeAccount(
  conn: ReturnType<Client["connection"]>,
  email: string,
  change: { role: "admin" | "user"; passwordHash?: string },
  redis: RedisTarget | undefined,
): Promise<boolean> {
  const updated = await conn.execute(
    `update users set role = ?, password_hash = coalesce(?, password_hash),
       session_version = session_version + 1, updated_at = utc_timestamp(3)
     where email = ? and deleted_at is null`,
    [change.role, change.passwordHash ?? null, email],
  );
  if (updated.rowsAffected !== 1) return false;
  const { rows } = await conn.execute("select id, session_version from users where email = ?", [email], {
    as: "object",
  });
  const row = rows[0] as { id: number | string; session_version: number | string } | undefined;
  if (row && redis) {
    const client = new Redis({ url: redis.url, token: redis.token, automaticDeserialization: false });
    await client.eval(
      RAISE_SESSION_VERSION,
      [redis.prefix + sessionVersionKeyParts(Number(row.id)).join(":")],
      [String(row.session_version), String(SESSION_VERSION_TTL_MS)],
    );
  }
  return true;
}

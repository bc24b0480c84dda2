import { Client } from "@planetscale/database";
import { hashPassword } from "../workers/api/auth/password.ts";

/**
 * An admin as `npm run admin:create` makes one (sign-up never grants the role): a new account, or an
 * existing one with that email promoted and its password reset. The benchmarks make theirs so too.
 */
export async function upsertAdmin(
  databaseUrl: string,
  admin: { email: string; password: string; nickname?: string },
): Promise<"created" | "promoted"> {
  const result = await new Client({ url: databaseUrl }).connection().execute(
    `insert into users (email, nickname, password_hash, role, reminder_offsets_hours, created_at, updated_at)
     values (?, ?, ?, 'admin', '[24,1]', utc_timestamp(3), utc_timestamp(3))
     on duplicate key update role = 'admin', password_hash = values(password_hash), updated_at = utc_timestamp(3)`,
    [admin.email.toLowerCase(), admin.nickname ?? "admin", await hashPassword(admin.password)],
  );
  return result.rowsAffected === 1 ? "created" : "promoted";
}

import { demoteAdmin, type RedisTarget, upsertAdmin } from "./admins.ts";
import { loadDevVars } from "./dev-vars.ts";

/**
 * `npm run admin:create -- <email> <password> [nickname]`: admins are never made by sign-up.
 * An existing account with that email is refused unless `--promote` is given (then it becomes admin
 * with this password and every session it had ends); `--demote <email>` takes the role away.
 * Locally it talks to the stand-ins from .dev.vars; in production set DATABASE_URL to the
 * PlanetScale connection URL (https://user:password@host) and REDIS_URL, REDIS_TOKEN and
 * REDIS_PREFIX to the Worker's, so the account's access tokens stop at once too.
 */
const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith("--")));
const [email, password, nickname = "admin"] = args.filter((a) => !a.startsWith("--"));
const unknown = [...flags].filter((f) => f !== "--promote" && f !== "--demote");
const demote = flags.has("--demote");
if (unknown.length || !email || (!demote && (!password || password.length < 10))) {
  console.error(
    "usage: npm run admin:create -- [--promote] <email> <password (10+ chars)> [nickname]\n" +
      "       npm run admin:create -- --demote <email>",
  );
  process.exit(2);
}
const vars = { ...(await loadDevVars()), ...process.env };
const url = vars.DATABASE_URL;
if (!url) throw new Error("DATABASE_URL is not set (env or .dev.vars)");
const redis: RedisTarget | undefined =
  vars.REDIS_URL && vars.REDIS_TOKEN
    ? { url: vars.REDIS_URL, token: vars.REDIS_TOKEN, prefix: vars.REDIS_PREFIX ?? "somsom:" }
    : undefined;
if (!redis)
  console.warn(
    "REDIS_URL/REDIS_TOKEN not set: the account's current access tokens live out their 15 minutes",
  );

if (demote) {
  const done = await demoteAdmin(url, email, redis);
  console.log(done ? `${email} is no longer an admin; its sessions ended` : `no account ${email}`);
  process.exit(done ? 0 : 1);
}
const outcome = await upsertAdmin(
  url,
  { email, password: password as string, nickname },
  {
    promote: flags.has("--promote"),
    redis,
  },
);
if (outcome === "exists") {
  console.error(
    `${email} already has an account. Make sure it is the right person's, then rerun with --promote ` +
      "(it becomes admin with this password, and every session it had ends).",
  );
  process.exit(1);
}
console.log(
  outcome === "created" ? `admin ${email} created` : `${email} is now an admin; its old sessions ended`,
);

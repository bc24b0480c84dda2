import { upsertAdmin } from "./admins.ts";
import { loadDevVars } from "./dev-vars.ts";

/**
 * `npm run admin:create -- <email> <password> [nickname]`: admins are never made by sign-up.
 * Locally it talks to the PlanetScale stand-in from .dev.vars; in production set DATABASE_URL to
 * the PlanetScale connection URL (https://user:password@host) and run the same command.
 * An existing account with that email is promoted (and its password reset).
 */
const [email, password, nickname = "admin"] = process.argv.slice(2);
if (!email || !password || password.length < 10) {
  console.error("usage: npm run admin:create -- <email> <password (10+ chars)> [nickname]");
  process.exit(2);
}
const url = process.env.DATABASE_URL ?? (await loadDevVars()).DATABASE_URL;
if (!url) throw new Error("DATABASE_URL is not set (env or .dev.vars)");

const outcome = await upsertAdmin(url, { email, password, nickname });
console.log(outcome === "created" ? `admin ${email} created` : `${email} is now an admin`);

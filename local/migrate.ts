import { readFile } from "node:fs/promises";
import { Client } from "@planetscale/database";
import { loadDevVars } from "./dev-vars.ts";

const MIGRATIONS_DIR = new URL("../migrations/", import.meta.url);

interface Journal {
  entries: { idx: number; tag: string }[];
}

/**
 * Applies the drizzle-kit migrations in journal order through the PlanetScale HTTP driver, so the
 * same code migrates the local stand-in and production. Applied names are kept in `_migrations`.
 */
export async function applyMigrations(databaseUrl: string, log: (line: string) => void = () => {}) {
  const conn = new Client({ url: databaseUrl }).connection();
  await conn.execute(
    "create table if not exists _migrations (name varchar(255) primary key, applied_at datetime(3) not null default current_timestamp(3))",
  );
  const applied = new Set(
    ((await conn.execute("select name from _migrations")).rows as { name: string }[]).map((r) => r.name),
  );
  const journal = JSON.parse(
    await readFile(new URL("meta/_journal.json", MIGRATIONS_DIR), "utf8"),
  ) as Journal;
  const pending = journal.entries.sort((a, b) => a.idx - b.idx).filter((e) => !applied.has(e.tag));
  for (const entry of pending) {
    const sql = await readFile(new URL(`${entry.tag}.sql`, MIGRATIONS_DIR), "utf8");
    // MySQL DDL is not transactional: each statement commits, so a failed file is fixed forward.
    for (const statement of sql.split("--> statement-breakpoint")) {
      if (statement.trim()) await conn.execute(statement);
    }
    await conn.execute("insert into _migrations (name) values (?)", [entry.tag]);
    log(`applied ${entry.tag}`);
  }
  return pending.map((e) => e.tag);
}

if (import.meta.main) {
  const url = process.env.DATABASE_URL ?? (await loadDevVars()).DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set (env or .dev.vars)");
  const done = await applyMigrations(url, console.log);
  console.log(done.length ? `${done.length} migration(s) applied` : "database is up to date");
}

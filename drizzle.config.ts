import { defineConfig } from "drizzle-kit";

// `npm run db:generate` turns schema changes into numbered SQL files in migrations/;
// `npm run db:migrate` (local/migrate.ts) applies them through the PlanetScale HTTP driver.
export default defineConfig({
  dialect: "mysql",
  schema: "./workers/db/schema/index.ts",
  out: "./migrations",
});

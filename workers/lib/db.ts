import { Client } from "@planetscale/database";
import { drizzle } from "drizzle-orm/planetscale-serverless";
import * as schema from "../db/schema";

/** Drizzle over PlanetScale's HTTP driver: the stand-in locally, PlanetScale in production. */
export function createDb(url: string) {
  return drizzle({ client: new Client({ url }), schema });
}

export type Db = ReturnType<typeof createDb>;

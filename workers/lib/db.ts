import { Client } from "@planetscale/database";
import { drizzle } from "drizzle-orm/planetscale-serverless";
import * as schema from "../db/schema";

/** Drizzle over PlanetScale's HTTP driver: the stand-in locally, PlanetScale in production. */
export function createDb(url: string) {
  return drizzle({ client: new Client({ url }), schema });
}

export type Db = ReturnType<typeof createDb>;

/** The handle inside `db.transaction(async (tx) => ...)`: helpers that must join the caller's transaction take it. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

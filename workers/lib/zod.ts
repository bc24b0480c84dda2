/**
 * The `zod` module the Worker is bundled with (wrangler.toml `[alias]`; vitest.config.ts applies the
 * same alias so the tests run what ships). Import `z` from "@hono/zod-openapi" as usual, not from here.
 *
 * Why: @hono/zod-openapi passes zod's whole `z` namespace object to `extendZodWithOpenApi(z)`, so a
 * bundler has to keep every export of it — the 40-odd locale packs, `z.core`, `toJSONSchema`,
 * `fromJSONSchema` and `compile` — about 550 KiB of the Worker, none of which it runs. This `z` holds
 * only what the routes call; the methods of a schema (`.min()`, `.openapi()`, ...) live on the
 * classes and are all there, and English messages are zod's default either way.
 *
 * A `z.<name>` used by the code but missing here fails every test that loads the route (typecheck
 * cannot tell, it sees zod's full types): add the name to both lists.
 */
import {
  array,
  boolean,
  coerce,
  discriminatedUnion,
  email,
  enum as enumOf,
  iso,
  literal,
  NEVER,
  number,
  object,
  record,
  string,
  tuple,
  union,
  unknown,
  url,
  ZodType,
} from "zod/v4";

export const z = {
  array,
  boolean,
  coerce,
  discriminatedUnion,
  email,
  enum: enumOf,
  iso,
  literal,
  NEVER,
  number,
  object,
  record,
  string,
  tuple,
  union,
  unknown,
  url,
  ZodType,
};

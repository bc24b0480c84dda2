import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import type { App } from "../router";
import { cachedPage, matchesIfNoneMatch, PRIVATE_CACHE_CONTROL, PUBLIC_CACHE_CONTROL } from "./cache";
import { festivalDetail } from "./read";
import { type FestivalDetail, FestivalIdParamsSchema, FestivalSchema } from "./schemas";

export type V1FestivalsGetResponse = FestivalDetail;

const route = createRoute({
  method: "get",
  path: "/v1/festivals/{festivalId}",
  operationId: "festivalsGet",
  tags: ["festivals"],
  summary: "One festival, with the places remaining on each day",
  description:
    "Remaining places may lag reservations by up to 2 s (server caches); admin changes show within 1 s. " +
    "Anonymous answers are `public, no-cache`; answers to requests with credentials `private, no-store`. " +
    "Send If-None-Match with the last ETag to get 304 when nothing changed.",
  security: [],
  request: { params: FestivalIdParamsSchema },
  responses: {
    200: { description: "The festival", content: { "application/json": { schema: FestivalSchema } } },
    304: { description: "Not modified since the ETag in If-None-Match" },
    ...errorResponses(400, [404, "festival.not_found"]),
  },
});

export function registerV1FestivalsGet(app: App) {
  app.openapi(route, async (c) => {
    const id = c.req.valid("param").festivalId;
    const anonymous = c.req.header("authorization") === undefined;
    // Normalised: the parsed id, no query (the route takes none).
    const key = new URL(`/v1/festivals/${id}`, c.req.url).href;
    const { json, etag } = await cachedPage(
      key,
      { anonymous, ctx: c.executionCtx, log: c.get("logger") },
      () => festivalDetail(c.get("services"), id, c.get("logger")),
    );
    c.set("quietAccessLog", true);
    c.header("ETag", etag);
    c.header("Cache-Control", anonymous ? PUBLIC_CACHE_CONTROL : PRIVATE_CACHE_CONTROL);
    if (matchesIfNoneMatch(c.req.header("if-none-match"), etag)) return c.body(null, 304);
    c.header("Content-Type", "application/json");
    return c.body(json, 200);
  });
}

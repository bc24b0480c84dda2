import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import type { App } from "../router";
import { etagOf, matchesIfNoneMatch, PUBLIC_CACHE_CONTROL, pages } from "./cache";
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
    "Remaining places may lag reservations by up to 2 s (server cache); admin changes show within 1 s. " +
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
    const key = c.req.url;
    const { body, etag } =
      pages.get(key) ??
      (await (async () => {
        const body = await festivalDetail(
          c.get("services"),
          c.req.valid("param").festivalId,
          c.get("logger"),
        );
        const page = { body, etag: await etagOf(JSON.stringify(body)) };
        pages.set(key, page);
        return page;
      })());
    c.header("ETag", etag);
    c.header("Cache-Control", PUBLIC_CACHE_CONTROL);
    if (matchesIfNoneMatch(c.req.header("if-none-match"), etag)) return c.body(null, 304);
    return c.json(body, 200);
  });
}

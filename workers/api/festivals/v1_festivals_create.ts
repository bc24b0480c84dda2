import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { idempotent } from "../../lib/idempotency";
import { IdempotencyHeaderSchema } from "../../lib/schemas";
import type { App } from "../app";
import { requireAdmin, requireAuth } from "../middleware/auth";
import { festivalDetail } from "./read";
import { CreateFestivalSchema, type FestivalDetail, FestivalSchema } from "./schemas";
import { createFestival } from "./write";

export type V1FestivalsCreateRequest = z.input<typeof CreateFestivalSchema>;
export type V1FestivalsCreateResponse = FestivalDetail;

const route = createRoute({
  method: "post",
  path: "/v1/festivals",
  tags: ["festivals (admin)"],
  summary: "Create a festival with its per-day inventory and its chat room (admin)",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireAdmin(), idempotent("festivals.create")] as const,
  request: {
    headers: IdempotencyHeaderSchema,
    body: { required: true, content: { "application/json": { schema: CreateFestivalSchema } } },
  },
  responses: {
    201: { description: "Created", content: { "application/json": { schema: FestivalSchema } } },
    400: errorResponses[400],
    401: errorResponses[401],
    403: errorResponses[403],
    409: errorResponses[409],
    422: errorResponses[422],
    500: errorResponses[500],
  },
});

export function registerV1FestivalsCreate(app: App) {
  app.openapi(route, async (c) => {
    const s = c.get("services");
    const id = await createFestival(s, c.req.valid("json"), c.get("logger"));
    c.header("Location", `/v1/festivals/${id}`);
    return c.json(await festivalDetail(s, id, c.get("logger")), 201);
  });
}

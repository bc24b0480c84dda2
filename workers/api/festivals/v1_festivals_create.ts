import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdempotencyHeaderSchema } from "../../lib/schemas";
import { ADMIN_ERRORS, AUTH_ERRORS, requireAdmin, requireAuth } from "../middleware/auth";
import { IDEMPOTENCY_ERRORS, idempotent } from "../middleware/idempotency";
import type { App } from "../router";
import { festivalDetail } from "./read";
import { CreateFestivalSchema, type FestivalDetail, FestivalSchema } from "./schemas";
import { createFestival } from "./write";

export type V1FestivalsCreateRequest = z.input<typeof CreateFestivalSchema>;
export type V1FestivalsCreateResponse = FestivalDetail;

const route = createRoute({
  method: "post",
  path: "/v1/festivals",
  operationId: "festivalsCreate",
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
    ...errorResponses(400, ...AUTH_ERRORS, ...ADMIN_ERRORS, ...IDEMPOTENCY_ERRORS),
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

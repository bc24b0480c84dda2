import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import type { App } from "../app";
import { requireAdmin, requireAuth } from "../middleware/auth";
import { festivalDetail } from "./read";
import { type FestivalDetail, FestivalIdParamsSchema, FestivalSchema, UpdateFestivalSchema } from "./schemas";
import { updateFestival } from "./write";

export type V1FestivalsUpdateRequest = z.input<typeof UpdateFestivalSchema>;
export type V1FestivalsUpdateResponse = FestivalDetail;

const route = createRoute({
  method: "patch",
  path: "/v1/festivals/{festivalId}",
  tags: ["festivals (admin)"],
  summary: "Change a festival (admin)",
  description:
    "Only the fields sent change. `capacity` is one number for every day or a map of dates; a day's " +
    "capacity cannot drop below its reserved + held places (422), and dates with reservations cannot " +
    "leave the range (422). New dates need a capacity.",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireAdmin()] as const,
  request: {
    params: FestivalIdParamsSchema,
    body: { required: true, content: { "application/json": { schema: UpdateFestivalSchema } } },
  },
  responses: {
    200: {
      description: "The festival as changed",
      content: { "application/json": { schema: FestivalSchema } },
    },
    400: errorResponses[400],
    401: errorResponses[401],
    403: errorResponses[403],
    404: errorResponses[404],
    409: errorResponses[409],
    422: errorResponses[422],
    500: errorResponses[500],
  },
});

export function registerV1FestivalsUpdate(app: App) {
  app.openapi(route, async (c) => {
    const s = c.get("services");
    const id = c.req.valid("param").festivalId;
    await updateFestival(s, id, c.req.valid("json"), c.get("logger"));
    return c.json(await festivalDetail(s, id, c.get("logger")), 200);
  });
}

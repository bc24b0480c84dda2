import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { runFestivalChangedHooks } from "../hooks";
import { ADMIN_ERRORS, AUTH_ERRORS, requireAdmin, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { festivalDetail } from "./read";
import { type FestivalDetail, FestivalIdParamsSchema, FestivalSchema, UpdateFestivalSchema } from "./schemas";
import { updateFestival } from "./write";

export type V1FestivalsUpdateRequest = z.input<typeof UpdateFestivalSchema>;
export type V1FestivalsUpdateResponse = FestivalDetail;

const route = createRoute({
  method: "patch",
  path: "/v1/festivals/{festivalId}",
  operationId: "festivalsUpdate",
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
    ...errorResponses(
      400,
      ...AUTH_ERRORS,
      ...ADMIN_ERRORS,
      [404, "festival.not_found"],
      [409, "festival.cancelled"],
      [422, "festival.day_has_reservations", "festival.capacity_below_reserved"],
      [503, "service.busy"],
    ),
  },
});

export function registerV1FestivalsUpdate(app: App) {
  app.openapi(route, async (c) => {
    const s = c.get("services");
    const id = c.req.valid("param").festivalId;
    const changed = await updateFestival(s, id, c.req.valid("json"), c.get("logger"));
    await runFestivalChangedHooks(s, id, changed, c.get("logger"));
    return c.json(await festivalDetail(s, id, c.get("logger")), 200);
  });
}

import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { runFestivalCancelledHooks } from "../hooks";
import { ADMIN_ERRORS, AUTH_ERRORS, requireAdmin, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { festivalDetail } from "./read";
import { CancelFestivalSchema, type FestivalDetail, FestivalIdParamsSchema, FestivalSchema } from "./schemas";
import { cancelFestival } from "./write";

export type V1FestivalsCancelRequest = z.input<typeof CancelFestivalSchema>;
export type V1FestivalsCancelResponse = FestivalDetail;

const route = createRoute({
  method: "post",
  path: "/v1/festivals/{festivalId}/cancel",
  operationId: "festivalsCancel",
  tags: ["festivals (admin)"],
  summary: "Cancel a festival: its reservations are cancelled and their holders told (admin)",
  description: "Idempotent: cancelling again answers the same and completes any follow-up work that failed.",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireAdmin()] as const,
  request: {
    params: FestivalIdParamsSchema,
    body: { required: false, content: { "application/json": { schema: CancelFestivalSchema } } },
  },
  responses: {
    200: {
      description: "The cancelled festival",
      content: { "application/json": { schema: FestivalSchema } },
    },
    ...errorResponses(
      400,
      ...AUTH_ERRORS,
      ...ADMIN_ERRORS,
      [404, "festival.not_found"],
      [503, "service.busy"],
    ),
  },
});

export function registerV1FestivalsCancel(app: App) {
  app.openapi(route, async (c) => {
    const s = c.get("services");
    const id = c.req.valid("param").festivalId;
    await cancelFestival(s, id, c.req.valid("json")?.reason, c.get("logger"));
    await runFestivalCancelledHooks(s, id);
    return c.json(await festivalDetail(s, id, c.get("logger")), 200);
  });
}

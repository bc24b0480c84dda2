import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { runFollowUpNow } from "../follow-ups";
import { ADMIN_ERRORS, AUTH_ERRORS, requireAdmin, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { festivalDetail } from "./read";
import { CancelFestivalSchema, type FestivalDetail, FestivalIdParamsSchema, FestivalSchema } from "./schemas";
import { cancelFestival } from "./write";

export type V1FestivalsCancelRequest = z.input<typeof CancelFestivalSchema>;
export type V1FestivalsCancelResponse = FestivalDetail;

/** Job steps run before answering: a small festival needs three (its reservations, the waitlist, the holders told). */
const INLINE_STEPS = 3;

const route = createRoute({
  method: "post",
  path: "/v1/festivals/{festivalId}/cancel",
  operationId: "festivalsCancel",
  tags: ["festivals (admin)"],
  summary: "Cancel a festival: its reservations are cancelled and their holders told (admin)",
  description:
    "The festival is marked cancelled and a background job is queued in one transaction; the job " +
    "cancels the reservations in chunks and tells the holders (a small festival is done before the " +
    "answer, a large one within minutes). Idempotent: cancelling again answers the same and makes sure " +
    "the job completes.",
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
    const job = await cancelFestival(s, id, c.req.valid("json")?.reason, c.get("logger"));
    // A first bounded part now (a small festival is done when the admin sees the answer); the rest,
    // or all of it if this Worker dies, is the cron's (workers/jobs/follow-ups.ts).
    await runFollowUpNow(s, c.get("logger"), job, INLINE_STEPS);
    return c.json(await festivalDetail(s, id, c.get("logger")), 200);
  });
}

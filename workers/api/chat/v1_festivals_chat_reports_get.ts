import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import { AUTH_ERRORS, requireAuth, requireFestivalStaff, STAFF_ERRORS } from "../middleware/auth";
import type { App } from "../router";
import { listReports } from "./moderation";
import { beforePageQuery, ChatReportPageSchema } from "./schemas";

/** `before`: the previous page's nextCursor (a report id). */
const QuerySchema = beforePageQuery({ example: 12 });

export type V1FestivalsChatReportsGetResponse = z.infer<typeof ChatReportPageSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/festivals/{festivalId}/chat/reports",
  operationId: "festivalsChatReportsGet",
  tags: ["chat", "admin"],
  summary: "Reported messages of the festival's room, newest first (admins and this festival's staff)",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireFestivalStaff()] as const,
  request: { params: z.object({ festivalId: IdParamSchema }), query: QuerySchema },
  responses: {
    200: { description: "One page", content: { "application/json": { schema: ChatReportPageSchema } } },
    ...errorResponses(400, ...AUTH_ERRORS, ...STAFF_ERRORS, [404, "chat.room_not_found"]),
  },
});

export function registerV1FestivalsChatReportsGet(app: App) {
  app.openapi(route, async (c) => {
    const page = await listReports(
      c.get("services"),
      c.req.valid("param").festivalId,
      c.get("user").id,
      c.req.valid("query"),
    );
    c.header("Cache-Control", "private, no-store");
    return c.json(page, 200);
  });
}

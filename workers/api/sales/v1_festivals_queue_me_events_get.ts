import { createRoute, z } from "@hono/zod-openapi";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import { errorResponses } from "../../lib/errors";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import { rateLimit } from "../middleware/rate-limit";
import type { App } from "../router";
import { notInQueue, readQueue } from "./admission";
import { QUEUE_STREAM_LIMITS } from "./limits";
import { loadQueueConfig } from "./queue";
import { FestivalParamsSchema } from "./schemas";
import { acquireStreamSlot, MAX_STREAMS_PER_USER, MAX_TICK_MS, MIN_TICK_MS, tickMs } from "./streams";

/** A stream ends after this long; EventSource-style clients reconnect (the `retry` field). */
export const QUEUE_STREAM_LIFETIME_MS = 120_000;
/** Settings are re-read this often, so switching the queue off reaches open streams. */
const CONFIG_REFRESH_MS = 30_000;

const QuerySchema = z.object({
  intervalSeconds: z.coerce
    .number()
    .int()
    .min(1)
    .max(10)
    .default(3)
    .openapi({
      description: `Seconds between position updates at first; the server waits at least ${MIN_TICK_MS / 1000} s and longer as the stream ages (up to ${MAX_TICK_MS / 1000} s)`,
    }),
});

const route = createRoute({
  method: "get",
  path: "/v1/festivals/{festivalId}/queue/me/events",
  operationId: "festivalsQueueMeEventsGet",
  tags: ["queue"],
  summary: "Server-sent events: my place in the waiting room until I am admitted",
  description:
    "`event: status` carries a QueueStatus (JSON) every few seconds. The stream closes after " +
    "`event: admitted` (QueueStatus with the admission token), `event: gone` (no longer in the room) " +
    "or `event: end` (its lifetime is over: reconnect). Send the access token as a Bearer header " +
    "(browsers: a fetch-based EventSource). At most " +
    `${MAX_STREAMS_PER_USER} streams per user are open at once (429 queue.too_many_streams).`,
  security: [{ bearer: [] }],
  middleware: [requireAuth(), rateLimit(...QUEUE_STREAM_LIMITS)] as const,
  request: { params: FestivalParamsSchema, query: QuerySchema },
  responses: {
    200: { description: "An event stream", content: { "text/event-stream": { schema: z.string() } } },
    ...errorResponses(
      400,
      ...AUTH_ERRORS,
      [429, "rate.limited", "queue.too_many_streams"],
      [404, "festival.not_found", "queue.not_joined"],
      [422, "queue.disabled"],
      [503, "queue.unavailable"],
    ),
  },
});

export function registerV1FestivalsQueueMeEventsGet(app: App) {
  app.openapi(route, async (c) => {
    const s = c.get("services");
    const festivalId = c.req.valid("param").festivalId;
    const userId = c.get("user").id;
    const requestedMs = c.req.valid("query").intervalSeconds * 1000;
    // Errors before the stream starts are ordinary JSON answers.
    let cfg = await loadQueueConfig(s, festivalId);
    let status = await readQueue(s, c.env, cfg, userId);
    if (!status) throw notInQueue();
    const slot = await acquireStreamSlot(s, userId, QUEUE_STREAM_LIFETIME_MS);
    c.header("Cache-Control", "no-store");
    return streamSSE(
      c,
      async (stream) => {
        // Released as soon as the client goes away, not only at the next tick.
        stream.onAbort(() => void slot.release().catch(() => {}));
        try {
          await run(stream);
        } finally {
          await slot.release().catch(() => {});
        }
      },
      async (err, stream) => {
        c.get("logger").warn("queue event stream failed", { festivalId, error: err });
        await stream.writeSSE({ event: "end", data: JSON.stringify({ reason: "error" }) });
      },
    );

    async function run(stream: SSEStreamingApi) {
      const started = Date.now();
      let configAt = started;
      for (let id = 1; ; id++) {
        if (!status) {
          await stream.writeSSE({
            event: "gone",
            data: JSON.stringify({ code: "queue.not_joined" }),
            id: String(id),
          });
          return;
        }
        const admitted = status.status === "admitted";
        await stream.writeSSE({
          event: admitted ? "admitted" : "status",
          data: JSON.stringify(status),
          id: String(id),
          retry: 1000,
        });
        if (admitted) return;
        const wait = tickMs(requestedMs, Date.now() - started);
        if (Date.now() - started + wait > QUEUE_STREAM_LIFETIME_MS) {
          await stream.writeSSE({ event: "end", data: JSON.stringify({ reason: "lifetime" }) });
          return;
        }
        await stream.sleep(wait);
        if (stream.aborted) return;
        if (Date.now() - configAt >= CONFIG_REFRESH_MS) {
          cfg = await loadQueueConfig(s, festivalId);
          configAt = Date.now();
        }
        status = await readQueue(s, c.env, cfg, userId);
      }
    }
  });
}

import { runChatPushes } from "../api/notifications/chat-pushes";
import { continueFanouts, drainNotificationEvents } from "../api/notifications/event-queue";
import { retryPendingPushes } from "../api/notifications/notify";
import { getServices } from "../lib/services";
import type { Job } from "./index";

/** Unread chat messages of offline members become (batched) pushes. */
export const chatPushJob: Job = {
  name: "chat-pushes",
  run: async (env, _ctx, log) => {
    const pushed = await runChatPushes(getServices(env), log);
    if (pushed) log.info("chat pushes", { pushed });
  },
};

/** Queued notifications (events:notifications), the rest of large festival fan-outs, failed pushes. */
export const notificationEventsJob: Job = {
  name: "notification-events",
  run: async (env, _ctx, log, scheduledTime) => {
    const s = getServices(env);
    const done = await drainNotificationEvents(s, log);
    if (done) log.info("queued notifications sent", { done });
    await continueFanouts(s, log);
    const retried = await retryPendingPushes(s, log, new Date(scheduledTime));
    if (retried) log.info("pushes retried", { retried });
  },
};

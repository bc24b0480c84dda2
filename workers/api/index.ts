import { createApp } from "./app";

export { ChatRoom } from "../../durable-objects/chat-room";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(_controller, _env, _ctx) {
    // Cron jobs (chat consumer, reminders) are registered by their issues.
  },
} satisfies ExportedHandler<Env>;

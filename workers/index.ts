import { createApp } from "./api/app";
import { runScheduled } from "./jobs";

export { ChatRoom } from "../durable-objects/chat-room";

const app = createApp();

export default {
  fetch: app.fetch,
  scheduled: runScheduled,
} satisfies ExportedHandler<Env>;

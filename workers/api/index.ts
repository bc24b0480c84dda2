import { runScheduled } from "../jobs";
import { createApp } from "./app";

export { ChatRoom } from "../../durable-objects/chat-room";

const app = createApp();

export default {
  fetch: app.fetch,
  scheduled: runScheduled,
} satisfies ExportedHandler<Env>;

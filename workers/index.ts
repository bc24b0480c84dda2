import { createApp } from "./api/app";
import { runScheduled } from "./jobs";

export { ChatRoom } from "../durable-objects/chat-room";
export { ChatShard } from "../durable-objects/chat-room/shard";
export { SaleDesk } from "../durable-objects/sale-desk";

const app = createApp();

export default {
  fetch: app.fetch,
  scheduled: runScheduled,
} satisfies ExportedHandler<Env>;

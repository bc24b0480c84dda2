import { DurableObject } from "cloudflare:workers";

/** One object per festival chat room. Filled in by the chat issue. */
export class ChatRoom extends DurableObject<Env> {}

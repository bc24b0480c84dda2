import type { ChatMessage } from "./contract/protocol";
import type { RoomOutbox } from "./outbox";
import type { RoomStore } from "./store";

/**
 * The room's half of a history page (the Worker's history route adds DynamoDB's). The room holds
 * every seq from `heldFrom` to its last seq: the recent buffer, plus the outbox rows DynamoDB may not
 * have yet. Everything below `heldFrom` is in DynamoDB.
 */
export interface RoomTail {
  /** seq < before, newest first, at most `limit`. */
  items: ChatMessage[];
  heldFrom: number;
}

/** One synchronous read, so both tables agree. */
export function roomTail(store: RoomStore, outbox: RoomOutbox, before: number, limit: number): RoomTail {
  const bySeq = new Map<number, ChatMessage>();
  for (const m of store.below(before, limit)) bySeq.set(m.seq, m);
  for (const m of outbox.unpersistedBelow(before, limit)) bySeq.set(m.seq, m);
  return {
    items: [...bySeq.values()].sort((a, b) => b.seq - a.seq).slice(0, limit),
    heldFrom: Math.min(store.bufferedFrom(), outbox.state().persistedSeq + 1),
  };
}

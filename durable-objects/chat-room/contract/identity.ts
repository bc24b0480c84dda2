import type { users } from "../../../workers/db/schema/users";

/**
 * The Worker verifies the token and the membership, then hands the object who is connecting in an
 * internal header. The object trusts it because only this Worker holds the CHAT_ROOM binding, and
 * the Worker builds the object's request from scratch (no client header passes through).
 */
export const IDENTITY_HEADER = "x-somsom-chat-identity";

/**
 * Rooms past one object (durable-objects/chat-room/shards.ts). The Worker's connect carries
 * PLACES_SHARDS_HEADER: "1" to say it can follow the room to a shard; the room then may answer 307
 * with SHARD_HEADER naming the shard, and the Worker sends the same connect there, with SHARD_HEADER
 * again. A room asked by a Worker that sends no PLACES_SHARDS_HEADER (the previous version, during a
 * gradual deploy) holds the socket itself, up to the room's cap.
 */
export const PLACES_SHARDS_HEADER = "x-somsom-chat-places-shards";
export const SHARD_HEADER = "x-somsom-chat-shard";

/** The room object's name, and its shard objects' names: one set per room, numbered from 0. */
export const roomName = (festivalId: number) => `festival:${festivalId}`;
export const shardName = (festivalId: number, shard: number) => `festival:${festivalId}:shard:${shard}`;

export interface ChatIdentity {
  festivalId: number;
  userId: number;
  nickname: string;
  role: (typeof users.$inferSelect)["role"];
  /** The member's read cursor as MySQL knows it (the object may know a newer one). */
  readSeq: number;
  /** The Sec-WebSocket-Protocol value to echo, when the client offered any. */
  protocol?: string;
  /**
   * The access token's expiry (epoch seconds) and id: the socket closes when the token expires, and
   * a logout of this token closes it. Absent from an older Worker's header: the room then gives the
   * socket one token lifetime from now.
   */
  exp?: number;
  jti?: string;
  /**
   * When the Worker started its membership check (epoch ms): a leave or revocation the room heard
   * of at or after this moment may not have been seen by the check, so the room refuses the socket.
   */
  checkedAt?: number;
  /** The connect URL's `after` (ConnectQuerySchema). */
  after?: number;
}

// Nicknames are Unicode; header values must be bytes, hence the URI encoding.
export const encodeIdentity = (identity: ChatIdentity) => encodeURIComponent(JSON.stringify(identity));

export function decodeIdentity(value: string | null): ChatIdentity | undefined {
  if (!value) return undefined;
  try {
    return JSON.parse(decodeURIComponent(value)) as ChatIdentity;
  } catch {
    return undefined;
  }
}

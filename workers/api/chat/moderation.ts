import { and, eq, isNull } from "drizzle-orm";
import type { Context } from "hono";
import {
  CHAT_LIMITS,
  type ChatMessage,
  cleanText,
  codePoints,
} from "../../../durable-objects/chat-room/contract/protocol";
import { users } from "../../db/schema/users";
import { AppError } from "../../lib/errors";
import type { Services } from "../../lib/services";
import type { AuthUser, HonoEnv } from "../hono-env";
import { chatAccess, roomStub } from "./rooms";
import type { ChatReportPage, ChatSanction } from "./schemas";

/**
 * Moderation and announcements: the routes (admins, or this festival's staff, checked by their
 * middleware) call the room object, which keeps the state and the audit log of who did what
 * (durable-objects/chat-room/moderation.ts). Here: the room exists, the target exists, errors.
 */

const messageNotFound = () =>
  new AppError(404, "chat.message_not_found", "This room has no message with this seq");

/** The room must exist (404 chat.room_not_found); returns the caller's access to it. */
const roomOf = (s: Services, festivalId: number, userId: number) => chatAccess(s, festivalId, userId);

export async function deleteMessage(s: Services, festivalId: number, seq: number, actorId: number) {
  await roomOf(s, festivalId, actorId);
  const outcome = await roomStub(festivalId).deleteMessage(seq, actorId);
  if (outcome === "not_found") throw messageNotFound();
}

/** Members (and admins) report a message; a second report of the same message by the same member is a no-op. */
export async function reportMessage(
  s: Services,
  user: AuthUser,
  festivalId: number,
  seq: number,
  reason: string,
) {
  const access = await roomOf(s, festivalId, user.id);
  if (!access.member && user.role !== "admin") {
    throw new AppError(403, "chat.not_member", "Join the festival's chat room first");
  }
  const added = await roomStub(festivalId).report(seq, user.id, reason);
  if (added === undefined) throw messageNotFound();
}

export async function listReports(
  s: Services,
  festivalId: number,
  actorId: number,
  q: { before?: number | undefined; limit: number },
): Promise<ChatReportPage> {
  await roomOf(s, festivalId, actorId);
  const items = await roomStub(festivalId).reports(q.before ?? Number.MAX_SAFE_INTEGER, q.limit);
  const last = items.at(-1);
  return { items, nextCursor: items.length === q.limit && last ? String(last.id) : null };
}

async function requireTarget(s: Services, userId: number) {
  const [target] = await s.db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.id, userId), isNull(users.deletedAt)))
    .limit(1);
  if (!target) throw new AppError(404, "user.not_found", "No account with this id");
}

/** `minutes` undefined = until lifted (bans only). A ban closes the user's sockets in the room at once. */
export async function sanction(
  s: Services,
  festivalId: number,
  actorId: number,
  target: { userId: number; kind: ChatSanction["kind"]; minutes?: number | undefined },
): Promise<ChatSanction> {
  await Promise.all([roomOf(s, festivalId, actorId), requireTarget(s, target.userId)]);
  const until = target.minutes === undefined ? null : Date.now() + target.minutes * 60_000;
  await roomStub(festivalId).sanction(target.userId, target.kind, until, actorId);
  return {
    userId: target.userId,
    kind: target.kind,
    until: until === null ? null : new Date(until).toISOString(),
  };
}

export async function liftSanction(
  s: Services,
  festivalId: number,
  actorId: number,
  userId: number,
  kind: ChatSanction["kind"],
) {
  await roomOf(s, festivalId, actorId);
  await roomStub(festivalId).liftSanction(userId, kind, actorId);
}

// The handlers of PUT and DELETE /v1/festivals/{festivalId}/chat/{mutes,bans}/{userId}: a mute and a
// ban differ in their contract (body limits, texts: each route's own file), not in what the handler
// does, so the four route files register these with their kind. The route's types check the answer.
type SanctionParams = { param: { festivalId: number; userId: number } };

/** Sets (or replaces) the sanction; answers it with its end. */
export const putSanctionHandler =
  (kind: ChatSanction["kind"]) =>
  async (
    c: Context<HonoEnv, string, { out: SanctionParams & { json: { minutes?: number | undefined } } }>,
  ) => {
    const { festivalId, userId } = c.req.valid("param");
    const { minutes } = c.req.valid("json");
    const set = await sanction(c.get("services"), festivalId, c.get("user").id, { userId, kind, minutes });
    return c.json(set, 200);
  };

/** Lifts the sanction; 204 also when none held (idempotent). */
export const deleteSanctionHandler =
  (kind: ChatSanction["kind"]) => async (c: Context<HonoEnv, string, { out: SanctionParams }>) => {
    const { festivalId, userId } = c.req.valid("param");
    await liftSanction(c.get("services"), festivalId, c.get("user").id, userId, kind);
    return c.body(null, 204);
  };

export async function setSlowMode(s: Services, festivalId: number, actorId: number, seconds: number) {
  await roomOf(s, festivalId, actorId);
  await roomStub(festivalId).setSlowMode(seconds, actorId);
}

/** Posted under the author's nickname, marked as an announcement and pinned. */
export async function announce(
  s: Services,
  festivalId: number,
  actorId: number,
  raw: string,
): Promise<ChatMessage> {
  // The same cleaning and limit as a member's message.
  const text = cleanText(raw);
  if (!text || codePoints(text) > CHAT_LIMITS.maxTextChars) {
    throw new AppError(
      400,
      "validation.failed",
      `The text must be 1 to ${CHAT_LIMITS.maxTextChars} characters`,
    );
  }
  const access = await roomOf(s, festivalId, actorId);
  if (!access.nickname) throw new AppError(401, "auth.invalid_token", "This account no longer exists");
  return roomStub(festivalId).announce(festivalId, { userId: actorId, nickname: access.nickname }, text);
}

export async function pinnedAnnouncement(s: Services, user: AuthUser, festivalId: number) {
  const access = await roomOf(s, festivalId, user.id);
  if (!access.member && user.role !== "admin") {
    throw new AppError(403, "chat.not_member", "Join the festival's chat room first");
  }
  return roomStub(festivalId).pinned();
}

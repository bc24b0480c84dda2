import { and, asc, desc, eq, gt, inArray, isNull, lt, or } from "drizzle-orm";
import { type Notification, notifications, pushDevices } from "../../db/schema/notifications";
import { type User, users } from "../../db/schema/users";
import { createLogger, type Logger } from "../../lib/logger";
import type { Services } from "../../lib/services";
import { MAX_DEVICES, type PushResult, pushToTokens } from "./push";

/**
 * The one way any area tells a user something: an inbox row, then a push to their devices if their
 * preferences allow. Idempotent per (userId, dedupeKey): a repeat finds the first row and neither
 * stores nor pushes twice, even when two callers race (the push is claimed with a conditional
 * UPDATE, and a claim older than PUSH_CLAIM_STALE_MS may be taken over). A push that failed on
 * every device, or whose sender died, is retried by retryPendingPushes (the notification-events
 * job) for up to PUSH_RETRY_FOR_MS. Without a dedupeKey every call is a new notification.
 */
export interface NotifyInput {
  userId: number;
  /** e.g. reservation.confirmed, reservation.cancelled, reservation.reminder, waitlist.offer, festival.changed */
  type: string;
  title: string;
  body: string;
  data?: Record<string, string | number | boolean | null>;
  dedupeKey?: string;
}

export interface NotifyResult {
  /** null when the user does not exist (or deleted their account): nothing was stored. */
  id: number | null;
  created: boolean;
  /** What this call pushed; null when it pushed nothing (preferences, no device, or a repeat). */
  push: PushResult | null;
}

export type Prefs = Pick<User, "notifyReminders" | "notifyChat" | "notifyFestivalUpdates">;

/** Types a preference switches off; every other type (reservations, waitlist) is always pushed. */
const PREFERENCE: Record<string, keyof Prefs> = {
  "reservation.reminder": "notifyReminders",
  "festival.changed": "notifyFestivalUpdates",
  "festival.cancelled": "notifyFestivalUpdates",
  "chat.unread": "notifyChat",
};

export const wantsPush = (type: string, prefs: Prefs) => {
  const pref = PREFERENCE[type];
  return pref ? prefs[pref] : true;
};

export const PUSH_CLAIM_STALE_MS = 2 * 60_000;
export const PUSH_RETRY_FOR_MS = 60 * 60_000;
const defaultLog = createLogger({ area: "notifications" });
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * Live accounts among these users (a deleted or missing one is absent), with their preferences and
 * newest devices: one query for notify() (one user) and notifyMany() (a batch) alike.
 */
export async function recipientsOf(s: Services, userIds: number[]) {
  const rows = await s.db
    .select({
      id: users.id,
      notifyReminders: users.notifyReminders,
      notifyChat: users.notifyChat,
      notifyFestivalUpdates: users.notifyFestivalUpdates,
      token: pushDevices.token,
    })
    .from(users)
    .leftJoin(pushDevices, eq(pushDevices.userId, users.id))
    .where(and(inArray(users.id, userIds), isNull(users.deletedAt)))
    .orderBy(asc(users.id), desc(pushDevices.lastSeenAt));
  const found = new Map<number, { prefs: Prefs; tokens: string[] }>();
  for (const { id, token, ...prefs } of rows) {
    const to = found.get(id) ?? { prefs, tokens: [] };
    found.set(id, to);
    if (token !== null && to.tokens.length < MAX_DEVICES) to.tokens.push(token);
  }
  return found;
}

const recipient = async (s: Services, userId: number) => (await recipientsOf(s, [userId])).get(userId);

/** The stored fields of a notice (notify-many.ts stores them the same way). Throws on a bad input. */
export function noticeFields(input: NotifyInput) {
  // INSERT IGNORE would silently truncate these, and a truncated dedupe key can collide.
  if (input.type.length > 40) throw new Error(`notification type too long: ${input.type}`);
  if ((input.dedupeKey?.length ?? 0) > 191)
    throw new Error("notification dedupeKey longer than 191 characters");
  const data = Object.fromEntries(
    Object.entries(input.data ?? {}).map(([k, v]) => [k, v === null ? "" : String(v)]),
  );
  return {
    type: input.type,
    title: clip(input.title, 200),
    body: clip(input.body, 1000),
    data,
    dedupeKey: input.dedupeKey ?? null,
  };
}

export type NoticeFields = ReturnType<typeof noticeFields>;

export async function notify(
  s: Services,
  input: NotifyInput,
  log: Logger = defaultLog,
): Promise<NotifyResult> {
  const n = noticeFields(input);
  const to = await recipient(s, input.userId);
  if (!to) return { id: null, created: false, push: null };
  const push = wantsPush(input.type, to.prefs) && to.tokens.length > 0 && s.fcm.enabled;
  const now = new Date();
  const inserted = await s.db
    .insert(notifications)
    .ignore()
    .values({
      ...n,
      userId: input.userId,
      createdAt: now,
      // A fresh row is born claimed by this caller (or settled, when there is nothing to push).
      pushClaimedAt: push ? now : null,
      pushedAt: push ? null : now,
    });
  let id = Number(inserted.insertId);
  const created = inserted.rowsAffected === 1;
  let own = created && push;
  if (!created) {
    if (!input.dedupeKey) throw new Error("notification insert was ignored without a dedupe key");
    const [existing] = await s.db
      .select({ id: notifications.id })
      .from(notifications)
      .where(and(eq(notifications.userId, input.userId), eq(notifications.dedupeKey, input.dedupeKey)));
    if (!existing) throw new Error("notification vanished after a duplicate insert");
    id = existing.id;
    if (push) own = await claimPush(s, id, now);
  }
  if (!own) return { id, created, push: null };
  return { id, created, push: await deliver(s, log, to.tokens, { ...n, id }) };
}

type Pushable = Pick<Notification, "id" | "type" | "title" | "body" | "dedupeKey"> & {
  data: Record<string, string>;
};

/** Sends a claimed push; failure on every device releases the claim for the retry job. */
export async function deliver(s: Services, log: Logger, tokens: string[], n: Pushable): Promise<PushResult> {
  const result = await pushToTokens(s, log, tokens, {
    title: n.title,
    body: n.body,
    data: { ...n.data, type: n.type, notificationId: String(n.id) },
    ...(n.dedupeKey ? { collapseKey: n.dedupeKey } : {}),
  });
  const settled = result.sent > 0 || result.failed === 0;
  await s.db
    .update(notifications)
    .set(settled ? { pushedAt: new Date() } : { pushClaimedAt: null })
    .where(eq(notifications.id, n.id));
  return result;
}

export async function claimPush(s: Services, id: number, now: Date): Promise<boolean> {
  const claimed = await s.db
    .update(notifications)
    .set({ pushClaimedAt: now })
    .where(
      and(
        eq(notifications.id, id),
        isNull(notifications.pushedAt),
        or(
          isNull(notifications.pushClaimedAt),
          lt(notifications.pushClaimedAt, new Date(now.getTime() - PUSH_CLAIM_STALE_MS)),
        ),
      ),
    );
  return claimed.rowsAffected === 1;
}

/** Pushes that failed or whose sender died, younger than PUSH_RETRY_FOR_MS: claimed and sent again. */
export async function retryPendingPushes(
  s: Services,
  log: Logger,
  now = new Date(),
  limit = 100,
): Promise<number> {
  const pending = await s.db
    .select()
    .from(notifications)
    .where(
      and(
        isNull(notifications.pushedAt),
        gt(notifications.createdAt, new Date(now.getTime() - PUSH_RETRY_FOR_MS)),
        or(
          isNull(notifications.pushClaimedAt),
          lt(notifications.pushClaimedAt, new Date(now.getTime() - PUSH_CLAIM_STALE_MS)),
        ),
      ),
    )
    .limit(limit);
  let sent = 0;
  for (const n of pending) {
    if (!(await claimPush(s, n.id, now))) continue;
    const to = await recipient(s, n.userId);
    if (!to || !wantsPush(n.type, to.prefs) || !to.tokens.length || !s.fcm.enabled) {
      await s.db.update(notifications).set({ pushedAt: now }).where(eq(notifications.id, n.id));
      continue;
    }
    sent += (await deliver(s, log, to.tokens, { ...n, data: n.data ?? {} })).sent;
  }
  return sent;
}

/** For hooks after a commit: a notification failure is logged, never thrown at the caller. */
export async function notifySafely(s: Services, input: NotifyInput, log: Logger = defaultLog): Promise<void> {
  try {
    await notify(s, input, log);
  } catch (err) {
    log.error("notification failed", { type: input.type, userId: input.userId, error: err });
  }
}

import { and, count, desc, eq, isNull, lt } from "drizzle-orm";
import { type Notification, notifications } from "../../db/schema/notifications";
import { AppError } from "../../lib/errors";
import { encodeCursor } from "../../lib/schemas";
import type { Services } from "../../lib/services";
import type { NotificationList, NotificationListQuery, NotificationView } from "./schemas";

export const toView = (n: Notification): NotificationView => ({
  id: n.id,
  type: n.type,
  title: n.title,
  body: n.body,
  data: n.data ?? {},
  readAt: n.readAt?.toISOString() ?? null,
  createdAt: n.createdAt.toISOString(),
});

export async function unreadCount(s: Services, userId: number): Promise<number> {
  const [row] = await s.db
    .select({ n: count() })
    .from(notifications)
    .where(and(eq(notifications.userId, userId), isNull(notifications.readAt)));
  return row?.n ?? 0;
}

/** Newest first, keyset on id: new notifications never shift a page the client already holds. */
export async function listInbox(
  s: Services,
  userId: number,
  q: NotificationListQuery,
): Promise<NotificationList> {
  const [rows, unread] = await Promise.all([
    s.db
      .select()
      .from(notifications)
      .where(
        and(
          eq(notifications.userId, userId),
          q.unread ? isNull(notifications.readAt) : undefined,
          q.cursor ? lt(notifications.id, q.cursor) : undefined,
        ),
      )
      .orderBy(desc(notifications.id))
      .limit(q.limit + 1),
    unreadCount(s, userId),
  ]);
  const items = rows.slice(0, q.limit);
  const last = items.at(-1);
  return {
    items: items.map(toView),
    nextCursor: rows.length > q.limit && last ? encodeCursor(last.id) : null,
    unreadCount: unread,
  };
}

/** Marking read twice keeps the first time; another user's notification does not exist. */
export async function markRead(s: Services, userId: number, id: number): Promise<NotificationView> {
  const mine = and(eq(notifications.id, id), eq(notifications.userId, userId));
  await s.db
    .update(notifications)
    .set({ readAt: new Date() })
    .where(and(mine, isNull(notifications.readAt)));
  const [row] = await s.db.select().from(notifications).where(mine).limit(1);
  if (!row) throw new AppError(404, "notification.not_found", "No such notification");
  return toView(row);
}

/** Up to `before` (an id), so a notification that arrives while the client reads is not swallowed. */
export async function markAllRead(s: Services, userId: number, before?: number): Promise<number> {
  const done = await s.db
    .update(notifications)
    .set({ readAt: new Date() })
    .where(
      and(
        eq(notifications.userId, userId),
        isNull(notifications.readAt),
        before ? lt(notifications.id, before + 1) : undefined,
      ),
    );
  return done.rowsAffected;
}

import { and, inArray } from "drizzle-orm";
import { notifications } from "../../db/schema/notifications";
import { createLogger, type Logger } from "../../lib/logger";
import type { Services } from "../../lib/services";
import {
  claimPush,
  deliver,
  type NoticeFields,
  type NotifyInput,
  noticeFields,
  recipientsOf,
  wantsPush,
} from "./notify";

/**
 * notify() for many notices at once (the sale's follow-ups, batched): the recipients in one query,
 * the inbox rows in one INSERT IGNORE, and the same outcome per notice as notify() would have: a
 * notice is stored once per (user, dedupe key), also against a single notify() of the same key, and
 * pushed by whoever created its row or won its claim. Every notice needs a dedupe key here (without
 * one a row's id could not be found again after a multi-row insert).
 */
const defaultLog = createLogger({ area: "notifications" });

/** Deliveries side by side, never hundreds at once. */
const PUSH_CONCURRENCY = 8;

const pair = (userId: number, dedupeKey: string) => `${userId}\n${dedupeKey}`;

/** The stored ids of these (user, key) pairs, by pair. */
async function storedIds(s: Services, keyed: { userId: number; dedupeKey: string }[]) {
  if (!keyed.length) return new Map<string, number>();
  const wanted = new Set(keyed.map((k) => pair(k.userId, k.dedupeKey)));
  const rows = await s.db
    .select({ id: notifications.id, userId: notifications.userId, dedupeKey: notifications.dedupeKey })
    .from(notifications)
    .where(
      and(
        inArray(notifications.userId, [...new Set(keyed.map((k) => k.userId))]),
        inArray(notifications.dedupeKey, [...new Set(keyed.map((k) => k.dedupeKey))]),
      ),
    );
  const ids = new Map<string, number>();
  for (const r of rows) {
    const key = pair(r.userId, r.dedupeKey ?? "");
    if (wanted.has(key)) ids.set(key, r.id);
  }
  return ids;
}

/**
 * Throws when the inbox rows could not be written (the caller's follow-ups are retried; the keys
 * make the retry store nothing twice). A push that fails is logged and left to retryPendingPushes,
 * as a push whose sender died is.
 */
export async function notifyMany(
  s: Services,
  inputs: NotifyInput[],
  log: Logger = defaultLog,
): Promise<void> {
  // One notice per (user, key): a repeat inside the batch would blur what the insert created.
  const unique = new Map<string, { userId: number; dedupeKey: string; fields: NoticeFields }>();
  for (const input of inputs) {
    const fields = noticeFields(input);
    if (!input.dedupeKey) throw new Error("notifyMany needs a dedupe key on every notice");
    unique.set(pair(input.userId, input.dedupeKey), {
      userId: input.userId,
      dedupeKey: input.dedupeKey,
      fields,
    });
  }
  if (!unique.size) return;
  const to = await recipientsOf(s, [...new Set([...unique.values()].map((i) => i.userId))]);
  const notices = [...unique.entries()].flatMap(([key, input]) => {
    const r = to.get(input.userId);
    // A user who does not exist (or deleted their account) gets nothing stored, as with notify().
    if (!r) return [];
    const push = wantsPush(input.fields.type, r.prefs) && r.tokens.length > 0 && s.fcm.enabled;
    return [{ key, input, fields: input.fields, tokens: r.tokens, push }];
  });
  const pushing = notices.filter((n) => n.push);
  // With pushes to own, the rows already stored are read first: then every row the insert adds was
  // created by this call, unless a racer stored one in between (the count tells).
  const before = pushing.length
    ? await storedIds(
        s,
        notices.map((n) => n.input),
      )
    : new Map<string, number>();
  const fresh = notices.filter((n) => !before.has(n.key));
  const now = new Date();
  let created = 0;
  if (fresh.length) {
    const inserted = await s.db
      .insert(notifications)
      .ignore()
      .values(
        fresh.map((n) => ({
          ...n.fields,
          userId: n.input.userId,
          createdAt: now,
          // As in notify(): born claimed by this caller, or settled when there is nothing to push.
          pushClaimedAt: n.push ? now : null,
          pushedAt: n.push ? null : now,
        })),
      );
    created = inserted.rowsAffected;
  }
  if (!pushing.length) return;
  const allOurs = created === fresh.length;
  const ids = new Map([
    ...before,
    ...(await storedIds(
      s,
      pushing.filter((n) => !before.has(n.key)).map((n) => n.input),
    )),
  ]);
  const owned: { n: (typeof pushing)[number]; id: number }[] = [];
  await Promise.all(
    pushing.map(async (n) => {
      const id = ids.get(n.key);
      if (id === undefined) return;
      // A row created here is ours; one found before (or one a racer may have made, when the count
      // came short) is pushed only if its claim is won, as notify() does for a repeat. A row of ours
      // in that rare race keeps its fresh claim and is pushed by retryPendingPushes once it is stale.
      if ((allOurs && !before.has(n.key)) || (await claimPush(s, id, now))) owned.push({ n, id });
    }),
  );
  for (let i = 0; i < owned.length; i += PUSH_CONCURRENCY) {
    await Promise.all(
      owned
        .slice(i, i + PUSH_CONCURRENCY)
        .map(({ n, id }) =>
          deliver(s, log, n.tokens, { ...n.fields, id }).catch((err: unknown) =>
            log.error("push failed; retried later", { notificationId: id, error: err }),
          ),
        ),
    );
  }
}

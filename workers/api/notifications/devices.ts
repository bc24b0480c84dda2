import { and, desc, eq } from "drizzle-orm";
import { type PushDevice, pushDevices } from "../../db/schema/notifications";
import type { Services } from "../../lib/services";
import { capDevices } from "./retention";
import type { DeviceView } from "./schemas";

const toView = (d: PushDevice): DeviceView => ({
  token: d.token,
  platform: d.platform,
  createdAt: d.createdAt.toISOString(),
  lastSeenAt: d.lastSeenAt.toISOString(),
});

/**
 * Apps re-register their token on every start: an upsert on the token. A token seen under another
 * account moves to the caller (one install, one signed-in user), so the old account stops getting
 * this phone's pushes.
 */
export async function registerDevice(
  s: Services,
  userId: number,
  token: string,
  platform: PushDevice["platform"] | undefined,
): Promise<{ device: DeviceView; created: boolean }> {
  const now = new Date();
  const result = await s.db
    .insert(pushDevices)
    .values({ userId, token, platform: platform ?? null, createdAt: now, lastSeenAt: now })
    .onDuplicateKeyUpdate({
      set: { userId, lastSeenAt: now, ...(platform ? { platform } : {}) },
    });
  const [row] = await s.db.select().from(pushDevices).where(eq(pushDevices.token, token)).limit(1);
  if (!row) throw new Error("device vanished after upsert");
  // MySQL counts 1 for an insert and 2 for an update of the duplicate.
  const created = result.rowsAffected === 1;
  // Only a new token can pass the cap; a re-registration just refreshes last_seen_at.
  if (created) await capDevices(s, userId);
  return { device: toView(row), created };
}

/** Only the caller's own registration goes: a token is no secret-free handle on other accounts. */
export async function unregisterDevice(s: Services, userId: number, token: string): Promise<boolean> {
  const done = await s.db
    .delete(pushDevices)
    .where(and(eq(pushDevices.token, token), eq(pushDevices.userId, userId)));
  return done.rowsAffected > 0;
}

export async function listDevices(s: Services, userId: number): Promise<DeviceView[]> {
  const rows = await s.db
    .select()
    .from(pushDevices)
    .where(eq(pushDevices.userId, userId))
    .orderBy(desc(pushDevices.lastSeenAt));
  return rows.map(toView);
}

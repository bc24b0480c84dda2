import { inArray } from "drizzle-orm";
import { pushDevices } from "../../db/schema/notifications";
import type { PushMessage } from "../../lib/fcm";
import type { Logger } from "../../lib/logger";
import type { Services } from "../../lib/services";

/** A user rarely has more; the newest devices win if they do. */
export const MAX_DEVICES = 10;

export interface PushResult {
  devices: number;
  sent: number;
  removed: number;
  failed: number;
}

/** One FCM send per device, side by side; tokens FCM calls unregistered are forgotten. */
export async function pushToTokens(
  s: Services,
  log: Logger,
  tokens: string[],
  message: PushMessage,
): Promise<PushResult> {
  const result: PushResult = { devices: tokens.length, sent: 0, removed: 0, failed: 0 };
  if (!tokens.length || !s.fcm.enabled) return result;
  const outcomes = await Promise.all(tokens.map((t) => s.fcm.send(t, message)));
  const dead: string[] = [];
  outcomes.forEach((o, i) => {
    if (o.ok) result.sent++;
    else if (o.unregistered) dead.push(tokens[i] as string);
    else {
      result.failed++;
      log.warn("push failed", { status: o.status, code: o.code });
    }
  });
  if (dead.length) {
    await s.db.delete(pushDevices).where(inArray(pushDevices.token, dead));
    result.removed = dead.length;
  }
  return result;
}

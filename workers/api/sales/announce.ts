import type { Logger } from "../../lib/logger";
import type { Services } from "../../lib/services";
import { notifySafely } from "../notifications/notify";
import { clearSoldOut } from "../reservations/sold-out";
import type { Offer } from "./offers";

/**
 * "This user holds an offer for this day": lets the claim pass the Redis sold-out flag (an offered
 * day looks full to everyone else). Only a hint: MySQL decides the claim, a stale hint costs one
 * database round trip, and a missing one is rewritten by the waitlist job every minute.
 */
export const offerHintKey = (s: Services, festivalId: number, day: string, userId: number) =>
  s.key("wl", "offer", festivalId, day, userId);

export async function writeOfferHints(s: Services, logger: Logger, offers: Offer[], now = Date.now()) {
  const live = offers.filter((o) => o.expiresAt.getTime() > now);
  if (!live.length) return;
  try {
    const p = s.redis.pipeline();
    for (const o of live) {
      p.set(offerHintKey(s, o.festivalId, o.day, o.userId), "1", { px: o.expiresAt.getTime() - now });
    }
    await p.exec();
  } catch (err) {
    logger.warn("waitlist offer hints not written; the job rewrites them", { error: err });
  }
}

const minutesLeft = (d: Date) => Math.max(1, Math.round((d.getTime() - Date.now()) / 60_000));

/** After the commit: the hint, then the inbox (and push) for each new offer. Never throws. */
export async function announceOffers(s: Services, logger: Logger, offers: Offer[]): Promise<void> {
  if (!offers.length) return;
  await writeOfferHints(s, logger, offers);
  await Promise.all(
    offers.map((o) =>
      notifySafely(
        s,
        {
          userId: o.userId,
          type: "waitlist.offer",
          title: "대기하신 자리가 났어요",
          body:
            o.quantity < o.requested
              ? `${o.day} 요청하신 ${o.requested}매 중 ${o.quantity}매를 잡아 두었습니다. 지금 예약하거나, ` +
                `자리가 더 나면 채워 드려요. ${minutesLeft(o.expiresAt)}분 안에 예약을 완료해 주세요.`
              : `${o.day} ${o.quantity}매를 잡아 두었습니다. ${minutesLeft(o.expiresAt)}분 안에 예약을 완료해 주세요.`,
          data: {
            festivalId: o.festivalId,
            day: o.day,
            quantity: o.quantity,
            requested: o.requested,
            waitlistEntryId: o.entryId,
            expiresAt: o.expiresAt.toISOString(),
          },
          // One notice per step: a top-up is news too.
          dedupeKey: `waitlist:${o.entryId}:offer:${o.quantity}`,
        },
        logger,
      ),
    ),
  );
  logger.info("waitlist offers made", { count: offers.length, entries: offers.map((o) => o.entryId) });
}

export async function announceExpiring(s: Services, logger: Logger, o: Offer): Promise<void> {
  await notifySafely(
    s,
    {
      userId: o.userId,
      type: "waitlist.offer_expiring",
      title: "잡아 둔 자리가 곧 풀려요",
      body: `${o.day} ${o.quantity}매 제안이 ${minutesLeft(o.expiresAt)}분 뒤에 만료됩니다.`,
      data: {
        festivalId: o.festivalId,
        day: o.day,
        waitlistEntryId: o.entryId,
        expiresAt: o.expiresAt.toISOString(),
      },
      dedupeKey: `waitlist:${o.entryId}:expiring:${o.expiresAt.getTime()}`,
    },
    logger,
  );
}

export async function announceExpired(s: Services, logger: Logger, o: Offer): Promise<void> {
  await notifySafely(
    s,
    {
      userId: o.userId,
      type: "waitlist.offer_expired",
      title: "대기 제안이 만료되었어요",
      body: `${o.day} ${o.quantity}매 제안이 시간 안에 예약되지 않아 다음 대기자에게 넘어갔습니다.`,
      data: { festivalId: o.festivalId, day: o.day, waitlistEntryId: o.entryId },
      dedupeKey: `waitlist:${o.entryId}:expired`,
    },
    logger,
  );
}

/**
 * After places were given back (offer expired, declined or partly claimed): announce the offers they
 * went on to. Any that went public must not hide behind a sold-out flag, so the flag is dropped (an
 * unneeded drop costs the next buyer one database round trip, nothing more).
 */
export async function announceRelease(
  s: Services,
  logger: Logger,
  at: { festivalId: number; day: string },
  released: number,
  offers: Offer[],
): Promise<void> {
  await announceOffers(s, logger, offers);
  if (released > 0) await clearSoldOut(s, logger, [at]);
}

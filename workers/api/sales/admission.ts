import { AppError } from "../../lib/errors";
import type { Logger } from "../../lib/logger";
import type { Services } from "../../lib/services";
import { checkAdmissionToken, mintAdmissionToken } from "./admission-token";
import { loadQueueConfig, type QueueConfig, type QueueState, queueConfigOf, runQueue } from "./queue";
import type { QueueStatus } from "./schemas";

const disabled = () =>
  new AppError(422, "queue.disabled", "This festival has no waiting room; reserve directly");

export function assertJoinable(cfg: QueueConfig, now: number) {
  if (!cfg.enabled) throw disabled();
  if (cfg.cancelled || now >= cfg.saleClosesAt) {
    throw new AppError(422, "queue.closed", "The sale of this festival is over", {
      details: { cancelled: cfg.cancelled },
    });
  }
}

export async function toQueueStatus(env: Env, cfg: QueueConfig, userId: number, st: QueueState) {
  if (st.state === "none") return null;
  const expiresAt = st.admissionExpiresAt;
  const view: QueueStatus = {
    festivalId: cfg.festivalId,
    status: st.state,
    position: st.state === "waiting" ? st.position : null,
    waiting: st.waiting,
    opensAt: new Date(cfg.opensAt).toISOString(),
    admissionRatePerMinute: cfg.ratePerMinute,
    estimatedWaitSeconds:
      st.state === "waiting"
        ? Math.ceil((st.position / cfg.ratePerMinute) * 60)
        : st.state === "admitted"
          ? 0
          : null,
    admission:
      st.state === "admitted" && expiresAt
        ? {
            token: await mintAdmissionToken(env.JWT_SECRET, {
              festivalId: cfg.festivalId,
              userId,
              expiresAt,
            }),
            expiresAt: new Date(expiresAt).toISOString(),
          }
        : null,
  };
  return view;
}

export const notInQueue = () =>
  new AppError(
    404,
    "queue.not_joined",
    "You are not in this festival's waiting room (or your admission expired)",
  );

export async function readQueue(s: Services, env: Env, cfg: QueueConfig, userId: number, now = Date.now()) {
  if (!cfg.enabled) throw disabled();
  return toQueueStatus(env, cfg, userId, await runQueue(s, cfg, "read", userId, now));
}

export async function myQueueStatus(s: Services, env: Env, festivalId: number, userId: number) {
  const status = await readQueue(s, env, await loadQueueConfig(s, festivalId), userId);
  if (!status) throw notInQueue();
  return status;
}

/** Idempotent; leaving after admission gives the admission back (the cap slot frees at once). */
export async function leaveQueue(s: Services, festivalId: number, userId: number): Promise<void> {
  await runQueue(s, await loadQueueConfig(s, festivalId), "leave", userId);
}

type GateFestival = Parameters<typeof queueConfigOf>[0];

/**
 * The reservation call's check while the festival's queue is on: a valid admission token for this
 * user and festival, unexpired. Pure computation (one HMAC), so the sale-day hot path gains no
 * round trip. Returns whether the token was used, so the caller can mark the admission done.
 */
export async function requireAdmission(
  env: Env,
  f: GateFestival,
  userId: number,
  token: string | undefined,
  now = Date.now(),
): Promise<boolean> {
  if (!f.queueEnabled) return false;
  if (!token) {
    throw new AppError(
      403,
      "queue.admission_required",
      "This festival sells through a waiting room: join it and reserve with your admission token",
      { details: { queue: `/v1/festivals/${f.id}/queue` } },
    );
  }
  const check = await checkAdmissionToken(env.JWT_SECRET, token, { festivalId: f.id, userId, now });
  if (check === "expired") {
    throw new AppError(403, "queue.admission_expired", "Your admission expired; join the waiting room again");
  }
  if (check !== "ok") throw new AppError(403, "queue.admission_invalid", "This admission token is not valid");
  return true;
}

/** After the reservation committed: the admission is done, its cap slot goes to the next in line. */
export async function admissionDone(s: Services, logger: Logger, f: GateFestival, userId: number) {
  try {
    await runQueue(s, queueConfigOf(f), "done", userId);
  } catch (err) {
    logger.warn("admission not marked done; it expires on its own", { festivalId: f.id, error: err });
  }
}

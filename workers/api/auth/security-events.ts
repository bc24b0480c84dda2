import type { Logger } from "../../lib/logger";

/**
 * Security events, one JSON line each (msg "security event"), for alerting and audits: who did it
 * (`actorId`, a user id, absent when anonymous), from where (`ip`), to whom (`targetId`, a user id)
 * and what. Never an email, password, token or hash: ids only, so the line can be kept and shared.
 */
export type SecurityEvent =
  | "login.failed"
  | "login.throttled"
  | "refresh.reused"
  | "sessions.revoked"
  | "account.deleted"
  | "account.delete_refused"
  | "staff.granted"
  | "staff.revoked"
  | "admin.action"
  | "admin.denied";

export function securityEvent(
  log: Logger,
  event: SecurityEvent,
  fields: {
    actorId?: number;
    ip?: string;
    targetId?: number;
    festivalId?: number;
    reason?: string;
    /** Admin actions: the request line (ids only, never a body) and the answer's status. */
    method?: string;
    path?: string;
    status?: number;
  },
): void {
  log.warn("security event", { event, ...fields });
}

/**
 * Close codes the room uses; the reason text says the same in words. Apart from protocol.ts because
 * the web app imports them as values, and protocol.ts would bring zod into its bundle.
 */
export const CLOSE = {
  /** The access token the socket was opened with expired: reconnect with a fresh one. */
  tokenExpired: { code: 4001, reason: "token expired" },
  /** Logout, a role change or account deletion ended the session: do not reconnect with this token. */
  sessionRevoked: { code: 4002, reason: "session revoked" },
  /** The user is no longer a member of the room. */
  left: { code: 4003, reason: "left the room" },
  /** Staff banned the user from the room: do not reconnect (the connect is refused, 403 chat.banned). */
  banned: { code: 4004, reason: "banned from the room" },
  /** The socket kept sending frames over its limits. */
  abuse: { code: 1008, reason: "too many refused frames" },
} as const;

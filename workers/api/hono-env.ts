import type { Logger } from "../lib/logger";
import type { Services } from "../lib/services";
import type { AccessClaims, AuthUser } from "./auth/tokens";

export type { AuthUser };

/** One type for the whole app: bindings from `wrangler types`, variables set by middleware. */
export type HonoEnv = {
  Bindings: Env;
  Variables: {
    requestId: string;
    logger: Logger;
    services: Services;
    user: AuthUser;
    claims: AccessClaims;
    /**
     * Set by the sale-day hot routes (public festival reads, waiting-room joins, reservations): a
     * fast success or 409 gets no access-log line of its own (middleware/init.ts).
     */
    quietAccessLog: boolean;
  };
};

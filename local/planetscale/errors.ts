// SQL errors in PlanetScale's shape.
//
// PlanetScale answers a failed statement with HTTP 200 and `{ session, error: { message, code } }`;
// the client turns that into `DatabaseError(error.message, 400, error)`. In practice `code` is
// "UNKNOWN" even for a duplicate key, and the MySQL details live in the message:
//   target: db.-.primary: vttablet: rpc error: code = AlreadyExists desc = Duplicate entry '1'
//   for key 'PRIMARY' (errno 1062) (sqlstate 23000) (CallerID: user): Sql: "…", BindVars: {REDACTED}
// We reproduce that text so code that parses `(errno 1062)` behaves the same locally.

export interface VitessError {
  message: string;
  code: string;
}

interface MysqlError {
  message: string;
  errno?: number;
  sqlState?: string;
  sqlMessage?: string;
}

// The gRPC code Vitess attaches to common MySQL errors (go/mysql/sqlerror); others are Unknown.
const GRPC_CODE_BY_ERRNO: Record<number, string> = {
  1062: "AlreadyExists", // ER_DUP_ENTRY
  1064: "InvalidArgument", // ER_PARSE_ERROR
  1146: "NotFound", // ER_NO_SUCH_TABLE
  1054: "InvalidArgument", // ER_BAD_FIELD_ERROR
  1205: "DeadlineExceeded", // ER_LOCK_WAIT_TIMEOUT
  1213: "Aborted", // ER_LOCK_DEADLOCK
  1452: "FailedPrecondition", // ER_NO_REFERENCED_ROW_2
  1451: "FailedPrecondition", // ER_ROW_IS_REFERENCED_2
};

const MAX_SQL_IN_MESSAGE = 256;

export interface ErrorContext {
  database: string;
  username: string;
  sql: string;
}

export function sqlError(err: unknown, ctx: ErrorContext): VitessError {
  const e = asMysqlError(err);
  if (e.sqlState === undefined) {
    // Not an answer from MySQL but no answer at all (refused, timed out, pool closed):
    // Vitess reports that as Unavailable with the client-side "can't connect" errno.
    return standinError("Unavailable", `${e.message} (errno 2002) (sqlstate HY000)`, ctx);
  }
  const grpc = (e.errno !== undefined && GRPC_CODE_BY_ERRNO[e.errno]) || "Unknown";
  return {
    message:
      `target: ${ctx.database}.-.primary: vttablet: rpc error: code = ${grpc} desc = ${e.sqlMessage ?? e.message}` +
      ` (errno ${e.errno ?? 1105}) (sqlstate ${e.sqlState}) (CallerID: ${ctx.username}):` +
      ` Sql: "${truncate(ctx.sql)}", BindVars: {REDACTED}`,
    code: "UNKNOWN",
  };
}

/** A failure of the stand-in itself (not of a statement), e.g. a transaction that timed out. */
export function standinError(grpc: string, message: string, ctx: ErrorContext): VitessError {
  return {
    message: `target: ${ctx.database}.-.primary: vttablet: rpc error: code = ${grpc} desc = ${message} (CallerID: ${ctx.username})`,
    code: "UNKNOWN",
  };
}

function asMysqlError(err: unknown): MysqlError {
  if (err instanceof Error) return err as MysqlError;
  return { message: String(err) };
}

function truncate(sql: string): string {
  return sql.length > MAX_SQL_IN_MESSAGE ? `${sql.slice(0, MAX_SQL_IN_MESSAGE)} [TRUNCATED]` : sql;
}

/**
 * A request-level failure (bad credentials, unknown path) as `{ error: { code, message } }`: the body
 * @planetscale/database reads on a non-2xx answer (`parsed.error` becomes a DatabaseError with this
 * message and the HTTP status); any other shape surfaces as "Expected JSON response from database API".
 */
export const requestError = (code: string, message: string) => ({ error: { code, message } });

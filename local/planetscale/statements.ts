// Just enough SQL recognition to know where a statement has to run: transaction control pins and
// unpins a MySQL connection, everything else runs on the pinned connection or on the pool.

export type StatementKind =
  | "begin" // BEGIN [WORK] / START TRANSACTION …
  | "commit" // COMMIT [WORK] [AND NO CHAIN]
  | "commit-chain" // COMMIT AND CHAIN: a new transaction starts right away, keep the pin
  | "rollback" // ROLLBACK [WORK] (not ROLLBACK TO SAVEPOINT)
  | "autocommit-off" // SET autocommit = 0: opens an implicit transaction
  | "autocommit-on" // SET autocommit = 1
  | "other";

export function classify(sql: string): StatementKind {
  const s = stripLeadingComments(sql).toLowerCase();
  if (/^begin(\s+work)?\s*;?\s*$/.test(s) || /^start\s+transaction\b/.test(s)) return "begin";
  if (/^commit\b/.test(s)) return /\band\s+chain\b/.test(s) ? "commit-chain" : "commit";
  if (/^rollback\b/.test(s) && !/^rollback(\s+work)?\s+to\b/.test(s)) return "rollback";
  if (/^set\b/.test(s) && /autocommit/.test(s)) {
    return /autocommit\s*:?=\s*(0|off|false)\b/.test(s) ? "autocommit-off" : "autocommit-on";
  }
  return "other";
}

/** Drops whitespace and leading comments (`/* … *\/`, `-- …`, `# …`), e.g. ORM-added hints. */
function stripLeadingComments(sql: string): string {
  let s = sql.trimStart();
  for (;;) {
    if (s.startsWith("/*")) {
      const end = s.indexOf("*/");
      if (end < 0) return "";
      s = s.slice(end + 2).trimStart();
    } else if (s.startsWith("-- ") || s.startsWith("#")) {
      const end = s.indexOf("\n");
      if (end < 0) return "";
      s = s.slice(end + 1).trimStart();
    } else {
      return s;
    }
  }
}

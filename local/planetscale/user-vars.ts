// User-defined variables (`SET @name = …`) belong to the session, as Vitess keeps them in the session
// it hands back, not to a MySQL connection. The stand-in runs a session's statements on whatever pooled
// connection is free, so it keeps each session's variables itself: applied to the connection before
// the session's statement, read back after an assignment, and cleared before the connection goes
// back to the pool, where another session would otherwise see them.

import type { FieldPacket, PoolConnection } from "mysql2/promise";

/** MySQL column types whose text-protocol value is a number literal as it stands. */
const NUMERIC_TYPES = new Set([1, 2, 3, 4, 5, 8, 9, 13, 246]);
const BINARY_CHARSET = 63;
/** Sessions are never closed by the protocol: keep the variables of this many, newest first. */
const MAX_SESSIONS = 10_000;

type RawRow = Array<Buffer | null>;

export class UserVariables {
  /** session id → variable name (lower case) → the value as an SQL literal */
  readonly #bySession = new Map<string, Map<string, string>>();
  /** Names a pinned connection's statements assigned, read back when its transaction ends. */
  readonly #assignedOn = new WeakMap<PoolConnection, Set<string>>();

  /** Whether the statement needs its session's variables (it has some, or assigns one). */
  involved(id: string, sql: string): boolean {
    return (this.#bySession.get(id)?.size ?? 0) > 0 || assignedNames(sql).length > 0;
  }

  /** Before a session's first statement on `conn`. */
  async apply(id: string, conn: PoolConnection): Promise<void> {
    const vars = this.#bySession.get(id);
    if (!vars?.size) return;
    await conn.query(`SET ${[...vars].map(([name, value]) => `${ident(name)} = ${value}`).join(", ")}`);
  }

  /** After `sql` ran on the session's pinned connection: remembers what it assigned. */
  noteAssigned(conn: PoolConnection, sql: string): void {
    const names = assignedNames(sql);
    if (!names.length) return;
    const set = this.#assignedOn.get(conn) ?? new Set<string>();
    for (const n of names) set.add(n);
    this.#assignedOn.set(conn, set);
  }

  /** Reads the session's variables (and those `sql` assigned) back from `conn` into the session. */
  async capture(id: string, conn: PoolConnection, sql = ""): Promise<void> {
    const names = [
      ...new Set([
        ...(this.#bySession.get(id)?.keys() ?? []),
        ...(this.#assignedOn.get(conn) ?? []),
        ...assignedNames(sql),
      ]),
    ];
    if (!names.length) return;
    const [rows, fields] = (await conn.query({
      sql: `SELECT ${names.map(ident).join(", ")}`,
      rowsAsArray: true,
    })) as unknown as [RawRow[], FieldPacket[]];
    const vars = new Map<string, string>();
    names.forEach((name, i) => {
      vars.set(name, literal(rows[0]?.[i] ?? null, fields[i]));
    });
    this.#bySession.delete(id); // re-inserted as the newest
    this.#bySession.set(id, vars);
    if (this.#bySession.size > MAX_SESSIONS) {
      const oldest = this.#bySession.keys().next().value;
      if (oldest !== undefined) this.#bySession.delete(oldest);
    }
  }

  /** Before `conn` goes back to the pool: no variable of this session stays on it. */
  async clear(id: string, conn: PoolConnection, sql = ""): Promise<void> {
    const names = [
      ...new Set([
        ...(this.#bySession.get(id)?.keys() ?? []),
        ...(this.#assignedOn.get(conn) ?? []),
        ...assignedNames(sql),
      ]),
    ];
    this.#assignedOn.delete(conn);
    if (names.length) await conn.query(`SET ${names.map((n) => `${ident(n)} = NULL`).join(", ")}`);
  }
}

/** The user variables a `SET` statement assigns (`SET @a = 1, @b := 'x'`), lower case as MySQL compares them. */
function assignedNames(sql: string): string[] {
  if (!/^\s*set\s/i.test(sql)) return [];
  const names: string[] = [];
  for (const m of sql.matchAll(/(?<!@)@(`(?:[^`]|``)+`|[A-Za-z0-9_$.]+)\s*:?=/g)) {
    const raw = m[1] ?? "";
    names.push((raw.startsWith("`") ? raw.slice(1, -1).replaceAll("``", "`") : raw).toLowerCase());
  }
  return names;
}

const ident = (name: string) => `@\`${name.replaceAll("`", "``")}\``;

/** The value as a literal that gives it back with its type: number, text in utf8mb4, or bytes. */
function literal(value: Buffer | null, field: FieldPacket | undefined): string {
  if (value === null) return "NULL";
  const type = (field as { columnType?: number } | undefined)?.columnType;
  if (type !== undefined && NUMERIC_TYPES.has(type)) return value.toString("latin1");
  const hex = `X'${value.toString("hex")}'`;
  return (field as { characterSet?: number } | undefined)?.characterSet === BINARY_CHARSET
    ? hex
    : `CONVERT(${hex} USING utf8mb4)`;
}

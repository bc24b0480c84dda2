// Sessions and transactions.
//
// The client sends back, verbatim, whatever `session` our last answer carried. A Worker makes a
// new session for nearly every statement, so a session costs nothing on the server until it
// opens a transaction: then it gets a MySQL connection of its own ("pinned") until COMMIT or
// ROLLBACK gives it back to the pool. A client that walks away mid-transaction (a crashed
// Worker) would hold a connection and its row locks for ever, so pins idle for longer than
// `idleMs` are rolled back and released, like Vitess's transaction killer.

import { randomUUID } from "node:crypto";
import type { Pool, PoolConnection } from "mysql2/promise";
import { type ErrorContext, sqlError, standinError, type VitessError } from "./errors.ts";
import { encodeResult, type RawQueryResult, type VitessResult } from "./result-encoding.ts";
import { classify, type StatementKind } from "./statements.ts";
import { UserVariables } from "./user-vars.ts";

/** The opaque session value handed to the client (shaped like PlanetScale's). */
export interface SessionToken {
  signature: string; // our session id: the key of its pinned connection, if any
  vitessSession: { inTransaction: boolean };
}

export interface ExecuteOutcome {
  session: SessionToken;
  result?: VitessResult;
  error?: VitessError;
}

interface Ran {
  result?: VitessResult;
  error?: VitessError;
  fatal: boolean; // the connection died with the statement
}

interface Pin {
  conn: PoolConnection;
  lastUsed: number;
  busy: number; // statements queued or running: a pin is never reaped under them
  tail: Promise<unknown>; // the session's statements run one after another, in arrival order
  autocommitOff: boolean; // after SET autocommit=0, COMMIT doesn't end the pin: a new transaction begins
}

const ID_PREFIX = "standin-";

/**
 * A fault injected by a test (local/control-server.ts): the next `times` statements whose text
 * contains `match` fail with `errno` exactly as MySQL would have failed them under contention,
 * instead of running: what InnoDB answers a statement that ran into another one (1213, 1205), or
 * what the server answers when it has no connection to spare (1040).
 */
export interface StatementFault {
  match: string;
  errno: 1213 | 1205 | 1040;
  /** How many statements it still fails; Infinity until cleared. */
  times: number;
}

interface ActiveFault extends StatementFault {
  fired: number;
}

const FAULT_ERRORS: Record<StatementFault["errno"], { sqlState: string; sqlMessage: string }> = {
  1213: {
    sqlState: "40001",
    sqlMessage: "Deadlock found when trying to get lock; try restarting transaction",
  },
  1205: { sqlState: "HY000", sqlMessage: "Lock wait timeout exceeded; try restarting transaction" },
  1040: { sqlState: "08004", sqlMessage: "Too many connections" },
};

export class SessionManager {
  readonly #pool: Pool;
  readonly #idleMs: number;
  readonly #context: Omit<ErrorContext, "sql">;
  readonly #pins = new Map<string, Pin>();
  readonly #sweeper: NodeJS.Timeout;
  #faults: ActiveFault[] = [];
  readonly #userVars = new UserVariables();

  constructor(pool: Pool, idleMs: number, context: Omit<ErrorContext, "sql">) {
    this.#pool = pool;
    this.#idleMs = idleMs;
    this.#context = context;
    this.#sweeper = setInterval(() => this.#reapIdle(), Math.min(5_000, Math.max(50, idleMs / 2)));
    this.#sweeper.unref();
  }

  injectFault(fault: StatementFault): void {
    this.#faults.push({ ...fault, fired: 0 });
  }

  /** Drops the faults with this `match` (all of them without one); returns how many statements they failed. */
  clearFaults(match?: string): number {
    const gone = this.#faults.filter((f) => match === undefined || f.match === match);
    this.#faults = this.#faults.filter((f) => !gone.includes(f));
    return gone.reduce((n, f) => n + f.fired, 0);
  }

  /** The error an injected fault answers for this statement, counting it; undefined: run it. */
  #faultFor(sql: string, ctx: ErrorContext): { error: VitessError; errno: number } | undefined {
    const fault = this.#faults.find((f) => f.times > 0 && sql.includes(f.match));
    if (!fault) return undefined;
    fault.times -= 1;
    fault.fired += 1;
    const e = Object.assign(new Error(FAULT_ERRORS[fault.errno].sqlMessage), {
      errno: fault.errno,
      ...FAULT_ERRORS[fault.errno],
    });
    return { error: sqlError(e, ctx), errno: fault.errno };
  }

  newSession(): SessionToken {
    return token(`${ID_PREFIX}${randomUUID()}`, false);
  }

  async execute(rawSession: unknown, sql: string): Promise<ExecuteOutcome> {
    const { id, inTransaction } = readSession(rawSession) ?? {
      id: this.newSession().signature,
      inTransaction: false,
    };
    const pin = this.#pins.get(id);
    const kind = classify(sql);
    const ctx = { ...this.#context, sql };

    if (pin) return this.#onPin(id, pin, kind, sql, ctx);

    if (kind === "begin" || kind === "autocommit-off")
      return this.#openPin(id, sql, kind === "autocommit-off", ctx);
    if (inTransaction) return this.#transactionGone(id, kind, ctx, `idle for more than ${this.#idleMs} ms`);
    const fault = this.#faultFor(sql, ctx);
    if (fault) return { session: token(id, false), error: fault.error };
    if (this.#userVars.involved(id, sql)) return this.#runWithUserVars(id, sql, ctx);
    const ran = await this.#run(this.#pool, sql, ctx);
    return { session: token(id, false), result: ran.result, error: ran.error };
  }

  /** A statement of a session with user variables: on a connection of its own, theirs applied and cleared. */
  async #runWithUserVars(id: string, sql: string, ctx: ErrorContext): Promise<ExecuteOutcome> {
    let conn: PoolConnection;
    try {
      conn = await this.#pool.getConnection();
    } catch (err) {
      return { session: token(id, false), error: sqlError(err, ctx) };
    }
    let fatal = false;
    try {
      await this.#userVars.apply(id, conn);
      const ran = await this.#run(conn, sql, ctx);
      fatal = ran.fatal;
      if (!ran.error) await this.#userVars.capture(id, conn, sql);
      return { session: token(id, false), result: ran.result, error: ran.error };
    } catch (err) {
      fatal = true;
      return { session: token(id, false), error: sqlError(err, ctx) };
    } finally {
      if (fatal) conn.destroy();
      else
        await this.#userVars.clear(id, conn, sql).then(
          () => conn.release(),
          () => conn.destroy(),
        );
    }
  }

  /**
   * The client believes it is in a transaction we no longer have (reaped, ended, or the stand-in
   * restarted). Running on the pool would silently drop atomicity, so fail like Vitess does; a
   * ROLLBACK (or SET autocommit = 1) just clears the state, so drizzle's error path still works.
   */
  #transactionGone(id: string, kind: StatementKind, ctx: ErrorContext, why: string): ExecuteOutcome {
    if (kind === "rollback" || kind === "autocommit-on") return { session: token(id, false), result: {} };
    const error = standinError("Aborted", `transaction ${id}: ended (${why})`, ctx);
    return { session: token(id, kind !== "commit"), error };
  }

  /**
   * Queues the statement behind the session's earlier ones, so a statement sent while COMMIT is
   * in flight can't slip onto the connection after it went back to the pool.
   */
  #onPin(id: string, pin: Pin, kind: StatementKind, sql: string, ctx: ErrorContext): Promise<ExecuteOutcome> {
    pin.busy++;
    const turn = pin.tail.then(() => this.#runPinned(id, pin, kind, sql, ctx));
    pin.tail = turn.catch(() => {});
    return turn;
  }

  async #runPinned(
    id: string,
    pin: Pin,
    kind: StatementKind,
    sql: string,
    ctx: ErrorContext,
  ): Promise<ExecuteOutcome> {
    try {
      // The transaction may have ended while this statement waited (COMMIT, broken connection).
      if (this.#pins.get(id) !== pin)
        return this.#transactionGone(id, kind, ctx, "before this statement ran");
      const fault = this.#faultFor(sql, ctx);
      if (fault) {
        // InnoDB rolls the whole transaction of a deadlock victim back (a lock wait timeout only the
        // statement); the client's ROLLBACK then ends the pin as usual.
        if (fault.errno === 1213) await pin.conn.query("ROLLBACK").catch(() => {});
        return { session: token(id, true), error: fault.error };
      }
      const ran = await this.#run(pin.conn, sql, ctx);
      if (!ran.error) this.#userVars.noteAssigned(pin.conn, sql);
      let ends = kind === "commit" || kind === "rollback";
      if (pin.autocommitOff) ends = false; // with autocommit off, the next transaction starts at once
      if (!ran.error && kind === "autocommit-off") pin.autocommitOff = true;
      if (!ran.error && kind === "autocommit-on") {
        ends = pin.autocommitOff; // turning autocommit back on commits; inside BEGIN it changes nothing
        pin.autocommitOff = false;
      }
      if (ran.fatal) {
        await this.#unpin(id, pin, "destroy");
      } else if (ends) {
        // The session keeps what its transaction assigned (user variables are not transactional).
        await this.#userVars.capture(id, pin.conn).catch(() => {});
        // After a failed COMMIT MySQL has usually ended the transaction anyway: make sure.
        await this.#unpin(id, pin, ran.error ? "rollback" : "keep");
      }
      return { session: token(id, this.#pins.get(id) === pin), result: ran.result, error: ran.error };
    } finally {
      pin.busy--;
      pin.lastUsed = Date.now();
    }
  }

  async #openPin(
    id: string,
    sql: string,
    autocommitOff: boolean,
    ctx: ErrorContext,
  ): Promise<ExecuteOutcome> {
    let conn: PoolConnection;
    try {
      conn = await this.#pool.getConnection(); // waits in the pool's queue when all are busy
    } catch (err) {
      return { session: token(id, false), error: sqlError(err, ctx) };
    }
    const applied = await this.#userVars.apply(id, conn).then(
      () => undefined,
      (err: unknown) => ({ error: sqlError(err, ctx), fatal: true }) as Ran,
    );
    const ran = applied ?? (await this.#run(conn, sql, ctx));
    if (!ran.error && this.#pins.has(id)) {
      // Two BEGINs raced on one session; keep the first transaction, never leak the second connection.
      ran.error = standinError("FailedPrecondition", `session ${id} already has an open transaction`, ctx);
    }
    if (ran.error) {
      const pin = { conn, lastUsed: 0, busy: 0, tail: Promise.resolve(), autocommitOff };
      await this.#unpin(id, pin, ran.fatal ? "destroy" : "rollback");
      return { session: token(id, this.#pins.has(id)), error: ran.error };
    }
    this.#pins.set(id, { conn, lastUsed: Date.now(), busy: 0, tail: Promise.resolve(), autocommitOff });
    return { session: token(id, true), result: ran.result };
  }

  async #run(runner: Pool | PoolConnection, sql: string, ctx: ErrorContext): Promise<Ran> {
    try {
      const raw = (await runner.query(sql)) as unknown as RawQueryResult;
      return { result: encodeResult(raw), fatal: false };
    } catch (err) {
      // mysql2 marks errors that killed the connection as `fatal`: such a connection can't be reused.
      return { error: sqlError(err, ctx), fatal: (err as { fatal?: boolean }).fatal === true };
    }
  }

  /** Gives a pinned connection back: as is, after a ROLLBACK, or closed when it is broken. */
  async #unpin(id: string, pin: Pin, how: "keep" | "rollback" | "destroy"): Promise<void> {
    if (this.#pins.get(id) === pin) this.#pins.delete(id);
    try {
      if (how === "destroy") return pin.conn.destroy();
      if (how === "rollback") await pin.conn.query("ROLLBACK");
      if (pin.autocommitOff) await pin.conn.query("SET autocommit = 1"); // don't poison the pool
      await this.#userVars.clear(id, pin.conn);
      pin.conn.release();
    } catch {
      pin.conn.destroy();
    }
  }

  #reapIdle(): void {
    const now = Date.now();
    for (const [id, pin] of this.#pins) {
      if (pin.busy === 0 && now - pin.lastUsed > this.#idleMs) void this.#unpin(id, pin, "rollback");
    }
  }

  /** Rolls back every open transaction and returns the connections; the pool is the caller's to end. */
  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    await Promise.all([...this.#pins].map(([id, pin]) => this.#unpin(id, pin, "rollback")));
  }
}

function token(id: string, inTransaction: boolean): SessionToken {
  return { signature: id, vitessSession: { inTransaction } };
}

function readSession(raw: unknown): { id: string; inTransaction: boolean } | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const { signature, vitessSession } = raw as Partial<SessionToken>;
  if (typeof signature !== "string" || !signature.startsWith(ID_PREFIX)) return undefined;
  return { id: signature, inTransaction: vitessSession?.inTransaction === true };
}

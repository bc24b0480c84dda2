// Conformance of the PlanetScale stand-in, driven only by the official client and drizzle: if these
// pass, the Worker sees locally what it would see against PlanetScale.

import { randomBytes } from "node:crypto";
import { Client, DatabaseError } from "@planetscale/database";
import { eq, sql } from "drizzle-orm";
import { bigint, int, json, mysqlTable, varchar } from "drizzle-orm/mysql-core";
import { drizzle, type PlanetScaleDatabase } from "drizzle-orm/planetscale-serverless";
import { type Connection, createConnection, type RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PlanetscaleStandin, startPlanetscaleStandin } from "../../local/planetscale/server.ts";

const MYSQL = { host: "127.0.0.1", port: 3306, user: "root", password: "" };
const DATABASE = `ps_conf_${randomBytes(4).toString("hex")}`;
const CREDENTIALS = { username: "standin-user", password: "pscale_pw_test" };

const items = mysqlTable("items", {
  id: bigint("id", { mode: "number", unsigned: true }).autoincrement().primaryKey(),
  name: varchar("name", { length: 100 }).notNull().unique(),
  meta: json("meta"),
});
const counters = mysqlTable("counters", {
  id: int("id").primaryKey(),
  value: int("value").notNull(),
});
const seats = mysqlTable("seats", {
  id: int("id").primaryKey(),
  remaining: int("remaining").notNull(),
});
const reservations = mysqlTable("reservations", {
  id: int("id").autoincrement().primaryKey(),
  seatId: int("seat_id").notNull(),
  guest: int("guest").notNull(),
});

let admin: Connection;
let standin: PlanetscaleStandin;
let client: Client;
let db: PlanetScaleDatabase;

/** Open InnoDB transactions in the test database: a leaked pinned connection shows up here. */
async function openTransactions(): Promise<number> {
  const [rows] = await admin.query<RowDataPacket[]>(
    "SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id WHERE p.DB = ?",
    [DATABASE],
  );
  return Number(rows[0]?.n ?? 0);
}

beforeAll(async () => {
  admin = await createConnection(MYSQL);
  await admin.query(`CREATE DATABASE \`${DATABASE}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.query(`USE \`${DATABASE}\``);
  await admin.query(`CREATE TABLE items (
    id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(100) NOT NULL UNIQUE,
    meta JSON NULL)`);
  await admin.query("CREATE TABLE counters (id INT PRIMARY KEY, value INT NOT NULL)");
  await admin.query("CREATE TABLE seats (id INT PRIMARY KEY, remaining INT NOT NULL)");
  await admin.query(
    "CREATE TABLE reservations (id INT AUTO_INCREMENT PRIMARY KEY, seat_id INT NOT NULL, guest INT NOT NULL)",
  );
  standin = await startPlanetscaleStandin({ mysql: MYSQL, database: DATABASE, ...CREDENTIALS });
  client = new Client({ url: standin.url });
  db = drizzle({ client });
});

afterAll(async () => {
  await standin?.close();
  await admin?.query(`DROP DATABASE IF EXISTS \`${DATABASE}\``);
  await admin?.end();
});

describe("protocol", () => {
  it("serves the client over plain http with the credentials in the url", async () => {
    expect(standin.url).toBe(`http://standin-user:pscale_pw_test@127.0.0.1:${standin.port}`);
    const res = await client.execute("SELECT 1 AS one");
    expect(res.rows).toEqual([{ one: 1 }]);
    expect(res.types).toEqual({ one: "INT32" });
    expect(res.time).toBeGreaterThanOrEqual(0);
  });

  it("creates sessions and carries them across statements of one connection", async () => {
    const conn = client.connection();
    await conn.refresh(); // CreateSession
    await conn.execute("SET @greeting = 'hi'");
    expect((await conn.execute("SELECT 2 AS two")).rows).toEqual([{ two: 2 }]);
    // Other sessions' statements in between take the pool's connections in another order; the
    // variable still belongs to this session (Vitess keeps user variables in the session), and only to it.
    const others = await Promise.all(
      Array.from({ length: 8 }, () => client.execute("SELECT @greeting AS greeting, SLEEP(0.05) AS s")),
    );
    expect(others.map((r) => r.rows[0])).toEqual(others.map(() => ({ greeting: null, s: 0 })));
    expect((await conn.execute("SELECT @greeting AS greeting")).rows).toEqual([{ greeting: "hi" }]);
    // Types survive (a number stays a number), and a variable set inside a transaction outlives it.
    await conn.execute("SET @answer = 41 + 1, @word = '불꽃'");
    await conn.execute("BEGIN");
    const inside = await conn.execute("SELECT @answer AS answer");
    expect(inside.rows).toEqual([{ answer: "42" }]); // BIGINT: the client hands INT64 out as text
    expect(inside.types).toEqual({ answer: "INT64" });
    await conn.execute("SET @word = CONCAT(@word, '축제')");
    await conn.execute("COMMIT");
    expect((await conn.execute("SELECT @answer + 1 AS next, @word AS word")).rows).toEqual([
      { next: "43", word: "불꽃축제" },
    ]);
    expect((await client.execute("SELECT @answer AS answer")).rows).toEqual([{ answer: null }]);
  });

  it("rejects a wrong password with 401", async () => {
    const url = standin.url.replace("pscale_pw_test", "wrong");
    const err = await new Client({ url }).execute("SELECT 1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseError);
    expect((err as DatabaseError).status).toBe(401);
    // The stand-in's reason, not the client's "Expected JSON response from database API".
    expect((err as DatabaseError).message).toBe("invalid username or password");
    expect((err as DatabaseError).body).toEqual({
      code: "UNAUTHENTICATED",
      message: "invalid username or password",
    });
  });

  it("answers 401 without credentials and 404 on unknown paths", async () => {
    const base = `http://127.0.0.1:${standin.port}`;
    const auth = `Basic ${btoa("standin-user:pscale_pw_test")}`;
    const noAuth = await fetch(`${base}/psdb.v1alpha1.Database/Execute`, { method: "POST", body: "{}" });
    expect(noAuth.status).toBe(401);
    const unknown = await fetch(`${base}/psdb.v1alpha1.Database/Nope`, {
      method: "POST",
      body: "{}",
      headers: { Authorization: auth },
    });
    expect(unknown.status).toBe(404);
  });
});

describe("types", () => {
  beforeAll(async () => {
    await admin.query(`CREATE TABLE types (
      i8 TINYINT, i16 SMALLINT, i24 MEDIUMINT, i32 INT, i64 BIGINT,
      u8 TINYINT UNSIGNED, u32 INT UNSIGNED, u64 BIGINT UNSIGNED,
      dec_ DECIMAL(20,6), f32 FLOAT, f64 DOUBLE,
      vc VARCHAR(100), ch CHAR(4), tx TEXT, bl BLOB, vb VARBINARY(16), bn BINARY(4),
      d DATE, dt DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME, yr YEAR,
      js JSON, en ENUM('a','b'), st SET('x','y'), bt BIT(8), nul INT NULL)`);
  });

  it("round-trips every column type exactly as PlanetScale delivers it", async () => {
    const korean = "안녕하세요, 솜솜 파티 🎉🥳";
    await client.execute(
      `INSERT INTO types VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, b'10100101', NULL)`,
      [
        -128,
        -32768,
        -8388608,
        -2147483648,
        "9007199254740993", // 2^53 + 1: only exact as a string
        255,
        4294967295,
        "18446744073709551615",
        "12345678901234.123456",
        1.5,
        Math.PI,
        korean,
        "ab",
        `long ${korean}`,
        new Uint8Array([0, 1, 2, 0xff]),
        new Uint8Array([0xde, 0xad]),
        new Uint8Array([1, 2]),
        "2024-02-29",
        "2024-03-05 06:07:08.123456",
        "2024-03-05 06:07:08.123",
        "-12:34:56",
        2024,
        JSON.stringify({ big: 12345, nested: [1, "두", { three: null }], emoji: "🎉" }),
        "b",
        "x,y",
      ],
    );

    const res = await client.execute("SELECT * FROM types");
    expect(res.rows).toEqual([
      {
        i8: -128,
        i16: -32768,
        i24: -8388608,
        i32: -2147483648,
        i64: "9007199254740993",
        u8: 255,
        u32: 4294967295,
        u64: "18446744073709551615",
        dec_: "12345678901234.123456",
        f32: 1.5,
        f64: Math.PI,
        vc: korean,
        ch: "ab",
        tx: `long ${korean}`,
        bl: new Uint8Array([0, 1, 2, 0xff]),
        vb: new Uint8Array([0xde, 0xad]),
        bn: new Uint8Array([1, 2, 0, 0]), // BINARY pads with zero bytes
        d: "2024-02-29",
        dt: "2024-03-05 06:07:08.123456",
        ts: "2024-03-05 06:07:08.123",
        tm: "-12:34:56",
        yr: 2024,
        js: { big: 12345, nested: [1, "두", { three: null }], emoji: "🎉" },
        en: "b",
        st: "x,y",
        bt: new Uint8Array([0b10100101]),
        nul: null,
      },
    ]);
    expect(res.types).toEqual({
      i8: "INT8",
      i16: "INT16",
      i24: "INT24",
      i32: "INT32",
      i64: "INT64",
      u8: "UINT8",
      u32: "UINT32",
      u64: "UINT64",
      dec_: "DECIMAL",
      f32: "FLOAT32",
      f64: "FLOAT64",
      vc: "VARCHAR",
      ch: "CHAR",
      tx: "TEXT",
      bl: "BLOB",
      vb: "VARBINARY",
      bn: "BINARY",
      d: "DATE",
      dt: "DATETIME",
      ts: "TIMESTAMP",
      tm: "TIME",
      yr: "YEAR",
      js: "JSON",
      en: "ENUM",
      st: "SET",
      bt: "BIT",
      nul: "INT32",
    });
    const bl = res.fields.find((f) => f.name === "bl");
    expect(bl).toMatchObject({ table: "types", orgTable: "types", database: DATABASE, charset: 63 });
  });

  it("types expressions, NULL literals and empty strings like PlanetScale", async () => {
    const res = await client.execute(
      "SELECT NULL AS n, '' AS empty, 1.50 AS lit, JSON_OBJECT('k', '값') AS obj, (SELECT COUNT(*) FROM types) AS cnt",
    );
    expect(res.rows).toEqual([{ n: null, empty: "", lit: "1.50", obj: { k: "값" }, cnt: "1" }]);
    expect(res.types).toEqual({ n: "NULL", empty: "VARCHAR", lit: "DECIMAL", obj: "JSON", cnt: "INT64" });
  });

  it("returns rows as arrays too, keeping duplicate column names apart", async () => {
    const res = await client.execute("SELECT 1 AS x, 'two' AS x", null, { as: "array" });
    expect(res.rows).toEqual([[1, "two"]]);
  });

  it("uses UTC like PlanetScale", async () => {
    const res = await client.execute("SELECT @@session.time_zone AS tz");
    expect(res.rows).toEqual([{ tz: "+00:00" }]);
  });
});

describe("write results", () => {
  it("reports insertId and rowsAffected as the client expects", async () => {
    const one = await client.execute("INSERT INTO counters (id, value) VALUES (100, 1)");
    expect(one.rowsAffected).toBe(1);
    const many = await db.insert(items).values([{ name: "w1" }, { name: "w2" }, { name: "w3" }]);
    expect(many.rowsAffected).toBe(3);
    expect(Number(many.insertId)).toBeGreaterThan(0);

    // BIGINT ids past 2^53 survive as strings.
    await admin.query("ALTER TABLE items AUTO_INCREMENT = 9007199254740993");
    const big = await client.execute("INSERT INTO items (name) VALUES ('big')");
    expect(big.insertId).toBe("9007199254740993");

    // Changed rows, not matched rows (MySQL's default, and what Vitess reports).
    const update = await client.execute("UPDATE items SET meta = NULL WHERE name LIKE 'w%'");
    expect(update.rowsAffected).toBe(0);
    const update2 = await client.execute("UPDATE items SET meta = JSON_ARRAY(1) WHERE name LIKE 'w%'");
    expect(update2.rowsAffected).toBe(3);
    expect(update2.insertId).toBe("0");
  });

  it("works through drizzle selects with JSON and bigint columns", async () => {
    await db.insert(items).values({ name: "drizzle", meta: { tags: ["축제", "🎪"] } });
    const [row] = await db.select().from(items).where(eq(items.name, "drizzle"));
    expect(row?.meta).toEqual({ tags: ["축제", "🎪"] });
    expect(typeof row?.id).toBe("number");
  });
});

describe("errors", () => {
  it("turns a duplicate key into DatabaseError carrying the MySQL message and errno", async () => {
    await client.execute("INSERT INTO items (name) VALUES ('dup')");
    const err = await client.execute("INSERT INTO items (name) VALUES ('dup')").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseError);
    const { status, body, message } = err as DatabaseError;
    expect(status).toBe(400);
    expect(body.code).toBe("UNKNOWN"); // what PlanetScale really sends
    expect(body.message).toBe(message);
    expect(message).toMatch(/code = AlreadyExists desc = Duplicate entry 'dup' for key/);
    expect(message).toContain("(errno 1062) (sqlstate 23000)");
  });

  it("turns a syntax error into DatabaseError and keeps serving", async () => {
    const err = await client.execute("SELEC 1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseError);
    expect((err as DatabaseError).message).toContain("(errno 1064)");
    const missing = await client.execute("SELECT * FROM no_such_table").catch((e: unknown) => e);
    expect((missing as DatabaseError).message).toContain("(errno 1146)");
    expect((await client.execute("SELECT 3 AS three")).rows).toEqual([{ three: 3 }]);
  });
});

describe("transactions", () => {
  it("commits a drizzle transaction, invisible to others until COMMIT", async () => {
    const id = await db.transaction(async (tx) => {
      await tx.insert(items).values({ name: "tx-commit" });
      const [mine] = await tx.select().from(items).where(eq(items.name, "tx-commit"));
      // Another session must not see the uncommitted row: proof it really is one transaction.
      const others = await client.execute("SELECT id FROM items WHERE name = 'tx-commit'");
      expect(others.rows).toEqual([]);
      return mine?.id;
    });
    expect(id).toBeDefined();
    const after = await db.select().from(items).where(eq(items.name, "tx-commit"));
    expect(after).toHaveLength(1);
    expect(await openTransactions()).toBe(0);
  });

  it("rolls back a drizzle transaction that throws: the row is absent afterwards", async () => {
    const failure = new Error("changed my mind");
    await expect(
      db.transaction(async (tx) => {
        // Other traffic meanwhile (as in a busy Worker): the transaction must stay on its own connection.
        const noise = Promise.all(Array.from({ length: 10 }, () => client.execute("SELECT SLEEP(0.02)")));
        await tx.insert(items).values({ name: "tx-rollback" });
        await noise;
        expect(await tx.select().from(items).where(eq(items.name, "tx-rollback"))).toHaveLength(1);
        const others = await client.execute("SELECT id FROM items WHERE name = 'tx-rollback'");
        expect(others.rows).toEqual([]); // not committed behind our back
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await db.select().from(items).where(eq(items.name, "tx-rollback"))).toEqual([]);
    expect(await openTransactions()).toBe(0);
  });

  it("rolls back everything when a statement inside the transaction fails", async () => {
    await db.insert(items).values({ name: "taken" });
    await expect(
      db.transaction(async (tx) => {
        await tx.insert(items).values({ name: "tx-partial" });
        await tx.insert(items).values({ name: "taken" }); // duplicate key
      }),
    ).rejects.toThrow();
    expect(await db.select().from(items).where(eq(items.name, "tx-partial"))).toEqual([]);
  });

  it("supports drizzle's nested transactions (savepoints)", async () => {
    await db.transaction(async (tx) => {
      await tx.insert(items).values({ name: "outer" });
      await tx
        .transaction(async (inner) => {
          await inner.insert(items).values({ name: "inner" });
          throw new Error("undo inner only");
        })
        .catch(() => {});
    });
    const names = (await db.select({ name: items.name }).from(items)).map((r) => r.name);
    expect(names).toContain("outer");
    expect(names).not.toContain("inner");
  });

  it("serializes SELECT ... FOR UPDATE across concurrent transactions (no lost update)", async () => {
    await db.insert(counters).values({ id: 1, value: 0 });
    await Promise.all(
      Array.from({ length: 20 }, () =>
        db.transaction(async (tx) => {
          const [row] = await tx.select().from(counters).where(eq(counters.id, 1)).for("update");
          await tx
            .update(counters)
            .set({ value: (row?.value ?? 0) + 1 })
            .where(eq(counters.id, 1));
        }),
      ),
    );
    const [row] = await db.select().from(counters).where(eq(counters.id, 1));
    expect(row?.value).toBe(20);
  });

  it("handles 300 concurrent reservation transactions without overselling or leaking", async () => {
    await db.insert(seats).values({ id: 1, remaining: 100 });
    const outcomes = await Promise.all(
      Array.from({ length: 300 }, (_, guest) =>
        db.transaction(async (tx) => {
          const [seat] = await tx.select().from(seats).where(eq(seats.id, 1)).for("update");
          if (!seat || seat.remaining <= 0) return "sold-out";
          await tx
            .update(seats)
            .set({ remaining: sql`${seats.remaining} - 1` })
            .where(eq(seats.id, 1));
          await tx.insert(reservations).values({ seatId: 1, guest });
          return "reserved";
        }),
      ),
    );
    expect(outcomes.filter((o) => o === "reserved")).toHaveLength(100);
    const [seat] = await db.select().from(seats).where(eq(seats.id, 1));
    expect(seat?.remaining).toBe(0);
    const [count] = await db.select({ n: sql<number>`count(*)` }).from(reservations);
    expect(Number(count?.n)).toBe(100);
    expect(await openTransactions()).toBe(0);
  });

  it("supports SET autocommit = 0 ... ROLLBACK without poisoning the pool", async () => {
    const conn = client.connection();
    await conn.execute("SET autocommit = 0");
    await conn.execute("INSERT INTO items (name) VALUES ('autocommit-off')");
    await conn.execute("ROLLBACK");
    await conn.execute("SET autocommit = 1");
    expect((await client.execute("SELECT id FROM items WHERE name = 'autocommit-off'")).rows).toEqual([]);
    const flags = await Promise.all(
      Array.from({ length: 50 }, () => client.execute("SELECT @@autocommit AS a")),
    );
    expect(flags.every((r) => r.rows[0]?.a === "1")).toBe(true);
  });
});

describe("load and lifecycle", () => {
  it("answers 200 concurrent simple queries", async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => client.execute("SELECT ? AS n, SLEEP(0.01) AS s", [i])),
    );
    expect(results.map((r) => r.rows[0]?.n)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it("stays up when MySQL is down, failing each statement with DatabaseError, and restarts on its port", async () => {
    // Port 1 refuses connections: what the fault tests use to simulate "MariaDB is down".
    const down = await startPlanetscaleStandin({
      mysql: { ...MYSQL, port: 1 },
      database: DATABASE,
      ...CREDENTIALS,
    });
    const { port } = down;
    try {
      const err = await new Client({ url: down.url }).execute("SELECT 1").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseError);
      expect((err as DatabaseError).message).toMatch(/code = Unavailable .*\(errno 2002\)/);
      const txErr = await new Client({ url: down.url }).transaction(async () => {}).catch((e: unknown) => e);
      expect(txErr).toBeInstanceOf(DatabaseError);
    } finally {
      await down.close();
    }
    const up = await startPlanetscaleStandin({ port, mysql: MYSQL, database: DATABASE, ...CREDENTIALS });
    try {
      expect((await new Client({ url: up.url }).execute("SELECT 1 AS ok")).rows).toEqual([{ ok: 1 }]);
    } finally {
      await up.close();
    }
  });

  it("queues for a small pool instead of failing, and rolls back idle transactions", async () => {
    const small = await startPlanetscaleStandin({
      mysql: MYSQL,
      database: DATABASE,
      ...CREDENTIALS,
      poolSize: 2,
      idleTransactionMs: 300,
    });
    try {
      const smallClient = new Client({ url: small.url });
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => smallClient.execute("SELECT ? AS n, SLEEP(0.01) AS s", [i])),
      );
      expect(results).toHaveLength(30);

      // An abandoned transaction (e.g. a crashed Worker) must not keep its locks and connection.
      const conn = smallClient.connection();
      await conn.execute("BEGIN");
      await conn.execute("INSERT INTO items (name) VALUES ('abandoned')");
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      expect(await openTransactions()).toBe(0);
      const late = await conn.execute("SELECT 1").catch((e: unknown) => e);
      expect((late as DatabaseError).message).toMatch(/transaction .* ended/);
      await conn.execute("ROLLBACK"); // drizzle's error path still works
      expect((await smallClient.execute("SELECT id FROM items WHERE name = 'abandoned'")).rows).toEqual([]);
    } finally {
      await small.close();
    }
  });
});

describe("injected contention faults (fault tests)", () => {
  const errorOf = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e as DatabaseError,
    );
  // The message up to the statement: the Sql part names the statement that failed, which differs.
  const shape = (e: DatabaseError | undefined) => e?.message.replace(/ Sql: ".*$/s, "");

  it("answers an injected deadlock exactly as a real one, and only for the matching statements", async () => {
    await client.execute("INSERT INTO counters (id, value) VALUES (901, 0), (902, 0), (903, 0)");
    // A real deadlock: each transaction holds one row and asks for the other's.
    const [a, b] = [client.connection(), client.connection()];
    await a.execute("BEGIN");
    await b.execute("BEGIN");
    await a.execute("UPDATE counters SET value = value + 1 WHERE id = 901");
    await b.execute("UPDATE counters SET value = value + 1 WHERE id = 902");
    const races = await Promise.all([
      errorOf(a.execute("UPDATE counters SET value = value + 1 WHERE id = 902")),
      errorOf(b.execute("UPDATE counters SET value = value + 1 WHERE id = 901")),
    ]);
    await Promise.all([a.execute("ROLLBACK"), b.execute("ROLLBACK")]);
    const real = races.find((e) => e !== undefined);
    expect(real?.message).toMatch(/\(errno 1213\) \(sqlstate 40001\)/);

    standin.injectFault({ match: "WHERE id = 903", errno: 1213, times: 2 });
    const update = "UPDATE counters SET value = value + 1 WHERE id = 903";
    const injected = await errorOf(client.execute(update));
    expect(injected).toBeInstanceOf(DatabaseError);
    expect(shape(injected)).toBe(shape(real));
    expect(injected?.message).toContain(`Sql: "${update}"`);
    // Other statements run; the fault fails exactly `times` matching ones, then the statement runs.
    expect((await client.execute("SELECT value FROM counters WHERE id = 902")).rows).toEqual([{ value: 0 }]);
    expect(await errorOf(client.execute(update))).toBeInstanceOf(DatabaseError);
    expect(await errorOf(client.execute(update))).toBeUndefined();
    expect((await client.execute("SELECT value FROM counters WHERE id = 903")).rows).toEqual([{ value: 1 }]);
    expect(standin.clearFaults("WHERE id = 903")).toBe(2);
  });

  it("rolls back the victim's whole transaction on a deadlock, like InnoDB", async () => {
    await client.execute("INSERT INTO counters (id, value) VALUES (904, 0), (905, 0)");
    standin.injectFault({ match: "WHERE id = 905", errno: 1213, times: Number.POSITIVE_INFINITY });
    const conn = client.connection();
    await conn.execute("BEGIN");
    await conn.execute("UPDATE counters SET value = 7 WHERE id = 904");
    const err = await errorOf(conn.execute("UPDATE counters SET value = 7 WHERE id = 905"));
    expect(err?.message).toMatch(/code = Aborted desc = Deadlock found .* \(errno 1213\) \(sqlstate 40001\)/);
    await conn.execute("COMMIT");
    // The write before the deadlock went with the transaction: nothing of it is committed.
    expect((await client.execute("SELECT value FROM counters WHERE id = 904")).rows).toEqual([{ value: 0 }]);
    expect(await openTransactions()).toBe(0);
    // Until cleared, every matching statement fails; a lock wait timeout reads like MySQL's too.
    expect(await errorOf(client.execute("UPDATE counters SET value = 1 WHERE id = 905"))).toBeDefined();
    expect(standin.clearFaults("WHERE id = 905")).toBe(2);
    standin.injectFault({ match: "WHERE id = 905", errno: 1205, times: 1 });
    const timeout = await errorOf(client.execute("UPDATE counters SET value = 1 WHERE id = 905"));
    expect(timeout?.message).toMatch(/desc = Lock wait timeout exceeded.* \(errno 1205\) \(sqlstate HY000\)/);
    expect((await client.execute("UPDATE counters SET value = 1 WHERE id = 905")).rowsAffected).toBe(1);
  });
});

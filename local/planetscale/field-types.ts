// Column metadata: MySQL wire types + flags → the Vitess `Field` JSON PlanetScale returns.
//
// The client (`@planetscale/database` cast.js) decides how to decode a value from `field.type`
// (INT64 stays a string, INT32 becomes a number, JSON is parsed, DATETIME stays a string, …)
// and falls back to `field.charset === 63` for bytes. So the type names and charset must match
// what Vitess would say. The mapping follows Vitess (go/sqltypes/type.go: mysqlToType +
// modifyType) and the shape follows a recorded PlanetScale response (database-js golden/).

import type { FieldPacket } from "mysql2/promise";

/** A Vitess `query.Field` as protojson renders it: zero values are omitted. */
export interface VitessField {
  name: string;
  type?: string; // absent for NULL_TYPE (enum value 0); the client then says "NULL"
  table?: string;
  orgTable?: string;
  database?: string;
  orgName?: string;
  columnLength?: number;
  charset?: number;
  decimals?: number;
  flags?: number;
}

export const BINARY_CHARSET = 63;

// MySQL column flags (include/mysql_com.h) that change the Vitess type.
const UNSIGNED_FLAG = 32;
const BINARY_FLAG = 128;
const ENUM_FLAG = 256;
const SET_FLAG = 2048;

const BASE_TYPES: Record<number, string> = {
  0: "DECIMAL",
  1: "INT8",
  2: "INT16",
  3: "INT32",
  4: "FLOAT32",
  5: "FLOAT64",
  6: "NULL_TYPE",
  7: "TIMESTAMP",
  8: "INT64",
  9: "INT24",
  10: "DATE",
  11: "TIME",
  12: "DATETIME",
  13: "YEAR",
  14: "DATE", // NEWDATE
  15: "VARCHAR",
  16: "BIT",
  17: "TIMESTAMP", // TIMESTAMP2
  18: "DATETIME", // DATETIME2
  19: "TIME", // TIME2
  242: "VECTOR",
  245: "JSON",
  246: "DECIMAL", // NEWDECIMAL
  247: "ENUM",
  248: "SET",
  249: "TEXT", // TINY_BLOB
  250: "TEXT", // MEDIUM_BLOB
  251: "TEXT", // LONG_BLOB
  252: "TEXT", // BLOB
  253: "VARCHAR", // VAR_STRING
  254: "CHAR", // STRING
  255: "GEOMETRY",
};

/** Vitess modifyType: UNSIGNED turns INTn into UINTn; the BINARY flag turns text types into byte types. */
function vitessType(base: string, flags: number): string {
  if (base.startsWith("INT") && flags & UNSIGNED_FLAG) return `U${base}`;
  if (base === "TEXT" && flags & BINARY_FLAG) return "BLOB";
  if (base === "VARCHAR" && flags & BINARY_FLAG) return "VARBINARY";
  if (base === "CHAR") {
    if (flags & BINARY_FLAG) return "BINARY";
    if (flags & ENUM_FLAG) return "ENUM";
    if (flags & SET_FLAG) return "SET";
  }
  return base;
}

export function toVitessField(packet: FieldPacket): VitessField {
  const flags = typeof packet.flags === "number" ? packet.flags : 0;
  let charset = packet.characterSet ?? 0;
  let type = vitessType(BASE_TYPES[packet.columnType ?? 6] ?? "VARCHAR", flags);
  // MariaDB's JSON is an alias of LONGTEXT; the real type only shows in its extended metadata
  // (which mysql2 negotiates). MySQL 8 — and so PlanetScale — reports JSON with charset 63.
  if (packet.extendedFormat === "json" || type === "JSON") {
    type = "JSON";
    charset = BINARY_CHARSET;
  }
  const field: VitessField = { name: packet.name };
  if (type !== "NULL_TYPE") field.type = type;
  setIfPresent(field, "table", packet.table);
  setIfPresent(field, "orgTable", packet.orgTable);
  setIfPresent(field, "database", packet.schema ?? packet.db);
  setIfPresent(field, "orgName", packet.orgName);
  setIfPresent(field, "columnLength", packet.columnLength);
  setIfPresent(field, "charset", charset);
  setIfPresent(field, "decimals", packet.decimals);
  setIfPresent(field, "flags", flags);
  return field;
}

/** protojson leaves out empty strings and zero numbers; so do we. */
function setIfPresent<K extends keyof VitessField>(field: VitessField, key: K, value: VitessField[K]): void {
  if (value !== undefined && value !== "" && value !== 0) field[key] = value;
}

// Encodes a mysql2 result as the Vitess `QueryResult` JSON that PlanetScale's HTTP API returns.
//
// Rows travel as in the MySQL text protocol: each row is one base64 blob of all its non-NULL
// values back to back, plus `lengths` (byte lengths, protojson int64 → strings, "-1" for NULL).
// The client splits the blob with atob() into a binary string, so the lengths must count
// bytes, not characters — Korean text and emoji are multi-byte.

import type { FieldPacket, ResultSetHeader } from "mysql2/promise";
import { toVitessField, type VitessField } from "./field-types.ts";

export interface VitessRow {
  lengths: string[];
  values?: string; // omitted when every value is NULL or empty, as protojson does
}

export interface VitessResult {
  fields?: VitessField[];
  rows?: VitessRow[];
  rowsAffected?: string;
  insertId?: string;
}

/** A value straight off the wire: mysql2 with `typeCast: false` hands out raw text-protocol bytes. */
export type RawRow = Array<Buffer | null>;

/** What `query()` resolves to with `rowsAsArray: true, typeCast: false` and no multi-statements. */
export type RawQueryResult = [RawRow[] | ResultSetHeader, FieldPacket[] | undefined];

export function encodeResult([rows, fields]: RawQueryResult): VitessResult {
  if (!Array.isArray(rows)) return encodeHeader(rows);
  const result: VitessResult = { fields: (fields ?? []).map(toVitessField) };
  if (rows.length > 0) result.rows = rows.map(encodeRow);
  return result;
}

function encodeHeader(header: ResultSetHeader): VitessResult {
  const result: VitessResult = {};
  // Numbers past 2^53 arrive as strings (bigNumberStrings), so String() is exact either way.
  const rowsAffected = String(header.affectedRows ?? 0);
  const insertId = String(header.insertId ?? 0);
  if (rowsAffected !== "0") result.rowsAffected = rowsAffected;
  if (insertId !== "0") result.insertId = insertId;
  return result;
}

export function encodeRow(row: RawRow): VitessRow {
  const lengths: string[] = [];
  const values: Buffer[] = [];
  for (const value of row) {
    if (value === null) {
      lengths.push("-1");
    } else {
      lengths.push(String(value.length));
      values.push(value);
    }
  }
  const blob = Buffer.concat(values);
  return blob.length > 0 ? { lengths, values: blob.toString("base64") } : { lengths };
}

/**
 * Turns Redis replies into the JSON bodies the Upstash REST API answers with.
 *
 * With `Upstash-Encoding: base64` (which @upstash/redis sends by default) every string in a result
 * is base64 of its raw bytes, at any depth, so binary and non-UTF-8 values survive JSON. The one
 * exception, as documented by Upstash, is the "OK" status reply, which stays "OK": the client
 * special-cases exactly a top-level "OK" (it would otherwise decode it as base64 into garbage), so
 * only a top-level `+OK` is left plain; a status nested in an array (e.g. from a Lua table) is
 * encoded like any other string, which the client decodes correctly. Numbers stay numbers and
 * nil stays null.
 */
import { RespError, type RespValue } from "../resp.ts";

export type Json = string | number | null | Json[];
export type Entry = { result: Json } | { error: string };

/** Encodes a reply's value. `plainOk` marks the top level, where a `+OK` status stays plain. */
export function encodeResult(reply: RespValue, base64: boolean, plainOk = true): Json {
  if (reply === null || typeof reply === "number") return reply;
  if (Array.isArray(reply)) return reply.map((item) => encodeResult(item, base64, false));
  if (reply instanceof RespError)
    return base64 ? Buffer.from(reply.message).toString("base64") : reply.message;
  if (typeof reply === "string") {
    // A status reply.
    if (!base64 || (plainOk && reply === "OK")) return reply;
    return Buffer.from(reply, "utf8").toString("base64");
  }
  // A bulk string: its raw bytes. Without base64 they are read as UTF-8, lossy for binary, as Upstash does.
  return base64 ? reply.toString("base64") : reply.toString("utf8");
}

/** The `{result}` or `{error}` object for one command's reply. */
export function toEntry(reply: RespValue, base64: boolean): Entry {
  if (reply instanceof RespError) return { error: reply.message };
  return { result: encodeResult(reply, base64) };
}

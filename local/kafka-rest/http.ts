import type { IncomingMessage, ServerResponse } from "node:http";
import { readBody, sendJson } from "../http.ts";
import { ApiError } from "./errors.ts";

/** Plenty for chat messages; stops a runaway client from filling memory. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** The parsed JSON body, or undefined when there is none (the client sends no body for e.g. a bare commit). */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const raw = await readBody(req, MAX_BODY_BYTES);
  if (raw === undefined) throw new ApiError(413, `request body larger than ${MAX_BODY_BYTES} bytes`);
  const text = raw.toString("utf8").trim();
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, "request body is not valid JSON");
  }
}

/**
 * The error shape `UpstashError` is built from: `error` becomes its message. Every answer is JSON,
 * errors included: the client calls `res.json()` before it looks at the status.
 */
export function sendError(res: ServerResponse, status: number, message: string): void {
  const headers: Record<string, string> =
    status === 401 ? { "www-authenticate": 'Basic realm="kafka-rest stand-in"' } : {};
  sendJson(res, status, { error: message, status }, headers);
}

/**
 * Check `Authorization: Basic ...`. The client encodes each UTF-16 code unit as one byte (its own base64 helper),
 * curl encodes UTF-8; both decodings are accepted so non-ASCII passwords work either way.
 */
export function hasValidBasicAuth(header: string | undefined, username: string, password: string): boolean {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
  if (match?.[1] === undefined) return false;
  const given = Buffer.from(match[1], "base64");
  const expected = `${username}:${password}`;
  return given.equals(Buffer.from(expected, "utf8")) || given.equals(Buffer.from(expected, "latin1"));
}

import { hmacKey } from "../../lib/hmac";
import { constantTimeEqual } from "../auth/password";

/**
 * Check-in codes: `SP-<reservation id>-<24 base32 chars>`, the chars being the first 120 bits of
 * HMAC-SHA256(CHECKIN_SECRET, "checkin:v1:<reservation id>:<festival id>"). Upper-case letters,
 * digits and '-' only, so a QR code can use its compact alphanumeric mode and staff can type it.
 * Nothing is stored: the code is recomputed from the row, so it cannot be forged without the secret,
 * and a code minted for one festival does not verify for another.
 */
const SIG_BYTES = 15;
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const CODE_PATTERN = /^SP-([1-9]\d{0,15})-([A-Z2-7]{24})$/;

async function signature(secret: string, reservationId: number, festivalId: number): Promise<Uint8Array> {
  const mac = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(secret),
    new TextEncoder().encode(`checkin:v1:${reservationId}:${festivalId}`),
  );
  return new Uint8Array(mac).slice(0, SIG_BYTES);
}

function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

export async function checkInCode(
  secret: string,
  reservationId: number,
  festivalId: number,
): Promise<string> {
  return `SP-${reservationId}-${base32(await signature(secret, reservationId, festivalId))}`;
}

/** The reservation id a code claims to be for; undefined when it is not even shaped like a code. */
export function parseCheckInCode(code: string): { reservationId: number; sig: string } | undefined {
  const m = CODE_PATTERN.exec(code.trim().toUpperCase());
  if (!m?.[1] || !m[2]) return undefined;
  const reservationId = Number(m[1]);
  return Number.isSafeInteger(reservationId) ? { reservationId, sig: m[2] } : undefined;
}

export async function verifyCheckInCode(
  secret: string,
  parsed: { reservationId: number; sig: string },
  festivalId: number,
): Promise<boolean> {
  const expected = base32(await signature(secret, parsed.reservationId, festivalId));
  const enc = new TextEncoder();
  return constantTimeEqual(enc.encode(expected), enc.encode(parsed.sig));
}

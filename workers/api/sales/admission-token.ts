/**
 * Admission tokens: `adm1.<festivalId>.<userId>.<exp epoch ms>.<sig>`, sig = base64url
 * HMAC-SHA256(K, "admission:v1:<festivalId>:<userId>:<exp>"). K is derived from JWT_SECRET by HKDF
 * with its own label, so no new secret is needed and an access-token signature can never pass for an
 * admission (or the reverse). Nothing is stored: the reservation call checks the token with one
 * HMAC, no Redis or database round trip, and the same admission always yields the same token.
 */
const PREFIX = "adm1";
const HKDF_INFO = "somsom-party/admission-token/v1";
const TOKEN_PATTERN = /^adm1\.([1-9]\d{0,15})\.([1-9]\d{0,15})\.([1-9]\d{0,15})\.([A-Za-z0-9_-]{43})$/;

const keys = new Map<string, Promise<CryptoKey>>();

function admissionKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = (async () => {
      const ikm = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), "HKDF", false, [
        "deriveKey",
      ]);
      return crypto.subtle.deriveKey(
        {
          name: "HKDF",
          hash: "SHA-256",
          salt: new Uint8Array(32),
          info: new TextEncoder().encode(HKDF_INFO),
        },
        ikm,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign", "verify"],
      );
    })();
    keys.set(secret, key);
  }
  return key;
}

const message = (festivalId: number, userId: number, exp: number) =>
  new TextEncoder().encode(`admission:v1:${festivalId}:${userId}:${exp}`);

const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

function fromB64url(text: string): Uint8Array {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
}

export async function mintAdmissionToken(
  secret: string,
  a: { festivalId: number; userId: number; expiresAt: number },
): Promise<string> {
  const sig = await crypto.subtle.sign(
    "HMAC",
    await admissionKey(secret),
    message(a.festivalId, a.userId, a.expiresAt),
  );
  return `${PREFIX}.${a.festivalId}.${a.userId}.${a.expiresAt}.${b64url(new Uint8Array(sig))}`;
}

export type AdmissionCheck = "ok" | "invalid" | "expired";

/** Bound to user, festival and expiry: a token minted for anyone or anything else is "invalid". */
export async function checkAdmissionToken(
  secret: string,
  token: string,
  expect: { festivalId: number; userId: number; now: number },
): Promise<AdmissionCheck> {
  const m = TOKEN_PATTERN.exec(token.trim());
  if (!m?.[1] || !m[2] || !m[3] || !m[4]) return "invalid";
  const [festivalId, userId, exp] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (festivalId !== expect.festivalId || userId !== expect.userId) return "invalid";
  // crypto.subtle.verify compares in constant time.
  const valid = await crypto.subtle.verify(
    "HMAC",
    await admissionKey(secret),
    fromB64url(m[4]),
    message(festivalId, userId, exp),
  );
  if (!valid) return "invalid";
  return exp > expect.now ? "ok" : "expired";
}

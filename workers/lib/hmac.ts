/**
 * HMAC-SHA-256 keys imported once per secret and isolate: importing costs more than the signature
 * itself, and the sale-day routes verify an access token on every request. The promise is cached on
 * purpose: importKey does no I/O, so a second request may await a promise the first created.
 */
const keys = new Map<string, Promise<CryptoKey>>();

export function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    keys.set(secret, key);
  }
  return key;
}

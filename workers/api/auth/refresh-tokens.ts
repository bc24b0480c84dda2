import { sha256Hex } from "../../lib/hex";
import { scriptOf } from "../../lib/redis-scripts";
import type { Services } from "../../lib/services";

/**
 * Refresh tokens are opaque `<familyId>.<secret>` strings. Redis keeps one hash per family with the
 * SHA-256 of the only secret currently valid. Every use rotates the secret; presenting an older one
 * means the token was copied, so the whole family is revoked (theft detection, as in OAuth 2.1).
 *
 * Grace window: a client whose refresh answer was lost, or two tabs refreshing at once, present the
 * just-rotated secret again. Within REFRESH_GRACE_MS, and only while the family has not rotated
 * further, that is answered with the same next secret instead of being taken for theft. The next
 * secret is derived (HMAC of the presented one under a server key), so it can be given again
 * without ever storing a usable secret in Redis. Later, or after a further rotation, it is reuse.
 */
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 3600 * 1000;
export const REFRESH_GRACE_MS = 30_000;

// Atomic check-and-rotate: two concurrent refreshes with the same token cannot both rotate.
// ARGV: hash(presented), hash(next), ttl, now ms, grace ms.
const ROTATE = `
local fam = redis.call('HMGET', KEYS[1], 'userId', 'current', 'revoked', 'prev', 'rotatedAt', 'sv')
if not fam[1] then return {'unknown', '', ''} end
if fam[3] == '1' then return {'revoked', fam[1], ''} end
local sv = fam[6] or '0'
if fam[2] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'current', ARGV[2], 'prev', ARGV[1], 'rotatedAt', ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'ok', fam[1], sv}
end
if fam[4] == ARGV[1] and fam[2] == ARGV[2] and tonumber(ARGV[4]) - tonumber(fam[5] or '0') <= tonumber(ARGV[5]) then
  return {'ok', fam[1], sv}
end
redis.call('HSET', KEYS[1], 'revoked', '1')
return {'reuse', fam[1], ''}
`;

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

const randomToken = (bytes: number) => base64url(crypto.getRandomValues(new Uint8Array(bytes)));

/** The secret that follows `secret` in its family: unpredictable without the server key. */
async function nextSecret(serverKey: string, familyId: string, secret: string): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    enc.encode(`refresh-rotation:${serverKey}`),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return base64url(
    new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(`${familyId}.${secret}`))),
  );
}

const familyKey = (s: Services, familyId: string) => s.key("rt", "fam", familyId);
const userFamiliesKey = (s: Services, userId: number) => s.key("rt", "user", userId);

/** `sessionVersion`: the user's users.session_version now; a family from an older one cannot refresh. */
export async function startFamily(s: Services, userId: number, sessionVersion: number): Promise<string> {
  const familyId = randomToken(16);
  const secret = randomToken(32);
  const tx = s.redis.multi();
  tx.hset(familyKey(s, familyId), {
    userId: String(userId),
    current: await sha256Hex(secret),
    revoked: "0",
    sv: String(sessionVersion),
  });
  tx.pexpire(familyKey(s, familyId), REFRESH_TOKEN_TTL_MS);
  tx.sadd(userFamiliesKey(s, userId), familyId);
  tx.pexpire(userFamiliesKey(s, userId), REFRESH_TOKEN_TTL_MS);
  await tx.exec();
  return `${familyId}.${secret}`;
}

export type RotateResult =
  | { outcome: "ok"; userId: number; sessionVersion: number; familyId: string; refreshToken: string }
  | { outcome: "invalid" | "revoked" }
  | { outcome: "reuse"; userId: number };

export async function rotate(s: Services, serverKey: string, presented: string): Promise<RotateResult> {
  const [familyId, secret, extra] = presented.split(".");
  if (!familyId || !secret || extra !== undefined) return { outcome: "invalid" };
  const next = await nextSecret(serverKey, familyId, secret);
  const [outcome, userId, sv] = (await scriptOf(s.redis, ROTATE).exec(
    [familyKey(s, familyId)],
    [
      await sha256Hex(secret),
      await sha256Hex(next),
      String(REFRESH_TOKEN_TTL_MS),
      String(Date.now()),
      String(REFRESH_GRACE_MS),
    ],
  )) as [string, string, string];
  if (outcome === "ok")
    return {
      outcome,
      userId: Number(userId),
      sessionVersion: Number(sv),
      familyId,
      refreshToken: `${familyId}.${next}`,
    };
  if (outcome === "reuse") return { outcome, userId: Number(userId) };
  if (outcome === "revoked") return { outcome };
  return { outcome: "invalid" };
}

export async function revokeFamily(s: Services, familyId: string): Promise<void> {
  await s.redis.hset(familyKey(s, familyId), { revoked: "1" });
}

/** Revokes the family of a token, but only if it belongs to `userId` (a user cannot log others out). */
export async function revokeFamilyOf(s: Services, presented: string, userId: number): Promise<void> {
  const [familyId] = presented.split(".");
  if (!familyId) return;
  const owner = await s.redis.hget(familyKey(s, familyId), "userId");
  if (owner === String(userId)) await revokeFamily(s, familyId);
}

export async function revokeAllFamilies(s: Services, userId: number): Promise<void> {
  const families = await s.redis.smembers(userFamiliesKey(s, userId));
  if (!families.length) return;
  const p = s.redis.pipeline();
  for (const f of families) p.hset(familyKey(s, f), { revoked: "1" });
  await p.exec();
}

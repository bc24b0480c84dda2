import type { Services } from "../../lib/services";

/**
 * Refresh tokens are opaque `<familyId>.<secret>` strings. Redis keeps one hash per family with the
 * SHA-256 of the only secret currently valid. Every use rotates the secret; presenting an older one
 * means the token was copied, so the whole family is revoked (theft detection, as in OAuth 2.1).
 */
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 3600 * 1000;

// Atomic check-and-rotate: two concurrent refreshes with the same token cannot both win.
const ROTATE = `
local fam = redis.call('HMGET', KEYS[1], 'userId', 'current', 'revoked')
if not fam[1] then return {'unknown', ''} end
if fam[3] == '1' then return {'revoked', fam[1]} end
if fam[2] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'current', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'ok', fam[1]}
end
redis.call('HSET', KEYS[1], 'revoked', '1')
return {'reuse', fam[1]}
`;

const randomToken = (bytes: number) =>
  btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes))))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const familyKey = (s: Services, familyId: string) => s.key("rt", "fam", familyId);
const userFamiliesKey = (s: Services, userId: number) => s.key("rt", "user", userId);

export async function startFamily(s: Services, userId: number): Promise<string> {
  const familyId = randomToken(16);
  const secret = randomToken(32);
  const tx = s.redis.multi();
  tx.hset(familyKey(s, familyId), { userId: String(userId), current: await sha256(secret), revoked: "0" });
  tx.pexpire(familyKey(s, familyId), REFRESH_TOKEN_TTL_MS);
  tx.sadd(userFamiliesKey(s, userId), familyId);
  tx.pexpire(userFamiliesKey(s, userId), REFRESH_TOKEN_TTL_MS);
  await tx.exec();
  return `${familyId}.${secret}`;
}

export type RotateResult =
  | { outcome: "ok"; userId: number; refreshToken: string }
  | { outcome: "invalid" | "revoked" | "reuse" };

export async function rotate(s: Services, presented: string): Promise<RotateResult> {
  const [familyId, secret, extra] = presented.split(".");
  if (!familyId || !secret || extra !== undefined) return { outcome: "invalid" };
  const next = randomToken(32);
  const [outcome, userId] = (await s.redis.eval(
    ROTATE,
    [familyKey(s, familyId)],
    [await sha256(secret), await sha256(next), String(REFRESH_TOKEN_TTL_MS)],
  )) as [string, string];
  if (outcome === "ok") return { outcome, userId: Number(userId), refreshToken: `${familyId}.${next}` };
  if (outcome === "revoked" || outcome === "reuse") return { outcome };
  return { outcome: "invalid" };
}

/** Revokes the family of a token, but only if it belongs to `userId` (a user cannot log others out). */
export async function revokeFamilyOf(s: Services, presented: string, userId: number): Promise<void> {
  const [familyId] = presented.split(".");
  if (!familyId) return;
  const owner = await s.redis.hget(familyKey(s, familyId), "userId");
  if (owner === String(userId)) await s.redis.hset(familyKey(s, familyId), { revoked: "1" });
}

export async function revokeAllFamilies(s: Services, userId: number): Promise<void> {
  const families = await s.redis.smembers(userFamiliesKey(s, userId));
  if (!families.length) return;
  const p = s.redis.pipeline();
  for (const f of families) p.hset(familyKey(s, f), { revoked: "1" });
  await p.exec();
}

/**
 * The Redis side of users.session_version, shared by the Worker and the admin CLI (local/admins.ts,
 * which runs this file under Node: no imports). MySQL holds the authoritative version; Redis holds a
 * copy that `authenticate` reads in the same MGET as the jti deny list, so checking it on every
 * request costs no extra round trip.
 */
export const sessionVersionKeyParts = (userId: number) => ["sv", userId] as const;

/**
 * Kept longer than any access token lives (15 min): once it expires, every token issued under an
 * older version has expired too, so forgetting the copy never lets one back in.
 */
export const SESSION_VERSION_TTL_MS = 2 * 3600 * 1000;

/** Raises the copy, never lowers it: two racing changes may publish in either order. */
export const RAISE_SESSION_VERSION = `
local v = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1
`;

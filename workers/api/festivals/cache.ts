import type { Logger } from "../../lib/logger";
import { clearMicroCaches, microCache } from "../../lib/micro-cache";
import type { Services } from "../../lib/services";
import type { DayCounts, FestivalRecord, SummaryRecord } from "./model";

/**
 * Read cache for the public festival routes.
 *
 * Invalidation by version, not by delete: every admin change INCRs the festival's version and the
 * global list version after its transaction commits. Each cached value carries the version that was
 * current when its reader began (read in the same MGET as the value), so a slow reader that loaded
 * the database before a change can only ever store a value tagged with the old version, which
 * nobody accepts any more. Admin changes are therefore visible to the next read at once.
 *
 * In front of Redis, each isolate keeps the finished public responses for PAGE_TTL_MS (1 s,
 * `pages`): on sale day everyone refreshes the same few pages, and a page served from memory costs
 * no round trip at all. An admin change clears them in the isolate that made it; other isolates
 * serve their copy for at most PAGE_TTL_MS more.
 *
 * Bounds (what the lead states in the README):
 * - remaining places per day: at most 2 s: DAYS_TTL_MS (1 s) in Redis, because every reservation
 *   changes them and reservations do not bump versions, plus PAGE_TTL_MS in memory;
 * - admin changes: on the next read in the isolate that made them, within PAGE_TTL_MS elsewhere;
 * - festival fields: until the next admin change (DOC_TTL_S, 60 s, if Redis failed during the bump);
 * - list pages: LIST_TTL_S (9 s) + PAGE_TTL_MS for what admin changes do not bump: popularity order
 *   and which festivals match a status filter as the clock moves. Status is computed when a page is
 *   built, so it may lag the clock by PAGE_TTL_MS.
 * Redis errors never fail a read: the route answers from the database and skips the write-back.
 */
export const DOC_TTL_S = 60;
export const DAYS_TTL_MS = 1_000;
export const LIST_TTL_S = 9;
export const PAGE_TTL_MS = 1_000;

/** A finished public response: the body and its ETag, keyed by path and query. */
export const pages = microCache<{ body: unknown; etag: string }>(PAGE_TTL_MS, 1_000);

const verKey = (s: Services, id: number) => s.key("festival", id, "ver");
const docKey = (s: Services, id: number) => s.key("festival", id, "doc");
const daysKey = (s: Services, id: number) => s.key("festival", id, "days");
const listVerKey = (s: Services) => s.key("festivals", "list-ver");
const listKey = (s: Services, hash: string) => s.key("festivals", "list", hash);

interface Tagged<T> {
  v: string;
  data: T;
}

function accept<T>(raw: string | null | undefined, version: string): T | undefined {
  if (!raw) return undefined;
  try {
    const tagged = JSON.parse(raw) as Tagged<T>;
    return tagged.v === version ? tagged.data : undefined;
  } catch {
    return undefined;
  }
}

const tag = <T>(v: string, data: T) => JSON.stringify({ v, data } satisfies Tagged<T>);

export interface FestivalCacheRead {
  /** Null when Redis failed: then nothing is written back. */
  version: string | null;
  doc?: FestivalRecord;
  days?: DayCounts[];
}

export async function readFestival(s: Services, id: number, log: Logger): Promise<FestivalCacheRead> {
  try {
    const [ver, doc, days] = await s.redis.mget<(string | null)[]>(
      verKey(s, id),
      docKey(s, id),
      daysKey(s, id),
    );
    const version = ver ?? "0";
    return { version, doc: accept(doc, version), days: accept(days, version) };
  } catch (err) {
    log.warn("festival cache read failed", { error: err });
    return { version: null };
  }
}

export async function writeFestival(
  s: Services,
  id: number,
  version: string,
  fill: { doc?: FestivalRecord; days?: DayCounts[] },
  log: Logger,
): Promise<void> {
  const p = s.redis.pipeline();
  if (fill.doc) p.set(docKey(s, id), tag(version, fill.doc), { ex: DOC_TTL_S });
  if (fill.days) p.set(daysKey(s, id), tag(version, fill.days), { px: DAYS_TTL_MS });
  await p.exec().catch((err: unknown) => log.warn("festival cache write failed", { error: err }));
}

export interface CachedPage {
  items: { record: SummaryRecord; distanceKm?: number }[];
  nextCursor: string | null;
}

export async function readList(
  s: Services,
  hash: string,
  log: Logger,
): Promise<{ version: string | null; page?: CachedPage }> {
  try {
    const [ver, page] = await s.redis.mget<(string | null)[]>(listVerKey(s), listKey(s, hash));
    const version = ver ?? "0";
    return { version, page: accept(page, version) };
  } catch (err) {
    log.warn("festival list cache read failed", { error: err });
    return { version: null };
  }
}

export async function writeList(s: Services, hash: string, version: string, page: CachedPage, log: Logger) {
  await s.redis
    .set(listKey(s, hash), tag(version, page), { ex: LIST_TTL_S })
    .catch((err: unknown) => log.warn("festival list cache write failed", { error: err }));
}

/**
 * After a committed admin change. Retried once, then logged, not thrown: the change is committed and
 * a 500 would invite a blind retry. In that rare case festival fields may be stale up to DOC_TTL_S.
 */
export async function bumpVersions(s: Services, id: number, log: Logger): Promise<void> {
  clearMicroCaches();
  const bump = () => s.redis.pipeline().incr(verKey(s, id)).incr(listVerKey(s)).exec();
  await bump()
    .catch(bump)
    .catch((err: unknown) => log.error("festival cache invalidation failed", { festivalId: id, error: err }));
}

/** Strong validator of the exact JSON sent: equal bytes, equal tag. */
export async function etagOf(json: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(json));
  const hex = [...new Uint8Array(digest).slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `"${hex}"`;
}

/** RFC 9110 weak comparison, as If-None-Match requires. */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}

/** Clients and CDNs may store public reads but must revalidate each time (a cheap 304 when unchanged). */
export const PUBLIC_CACHE_CONTROL = "public, no-cache";

/** Hash of a canonical request, for list cache keys. */
export async function hashKey(value: unknown): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(value)));
  return btoa(String.fromCharCode(...new Uint8Array(digest).slice(0, 18)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_");
}

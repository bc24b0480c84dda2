import { sha256Hex } from "../../lib/hex";
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
 * In front of Redis, finished public responses (JSON text and ETag, `Page`) are kept in two tiers:
 * each isolate's memory (`pages`), then the Workers Cache API (`caches.default`, shared by the
 * isolates of one Cloudflare location). On sale day everyone refreshes the same few pages: one
 * isolate per location builds a page from Redis, the others take it from the edge tier, and a page
 * in memory costs no I/O at all. A page's age counts from when its build began, whichever tier
 * serves it, and neither tier serves it past PAGE_TTL_MS, so the edge tier adds nothing to the bounds
 * below. Only anonymous requests read or fill the edge tier (an authenticated answer is never put
 * in a shared cache); the page bodies never depend on the caller. An admin change clears the memory
 * tier of the isolate that made it, and that isolate ignores every page (either tier) built before
 * the change; other isolates and locations serve their copy for at most PAGE_TTL_MS more.
 *
 * Bounds (what the lead states in the README):
 * - remaining places per day: at most 2 s: DAYS_TTL_MS (1 s) in Redis, because every reservation
 *   changes them and reservations do not bump versions, plus PAGE_TTL_MS as a finished page;
 * - admin changes: on the next read in the isolate that made them, within PAGE_TTL_MS elsewhere;
 * - festival fields: until the next admin change (DOC_TTL_S, 60 s, if Redis failed during the bump);
 * - list pages: LIST_TTL_S (9 s) + PAGE_TTL_MS for what admin changes do not bump: popularity order
 *   and which festivals match a status filter as the clock moves. Status is computed when a page is
 *   built, so it may lag the clock by PAGE_TTL_MS.
 * Redis errors never fail a read: the route answers from the database and skips the write-back; a
 * Cache API error only skips the edge tier.
 */
export const DOC_TTL_S = 60;
export const DAYS_TTL_MS = 1_000;
export const LIST_TTL_S = 9;
export const PAGE_TTL_MS = 1_000;

/** A finished public response: the JSON text, its ETag and when its build began (epoch ms). */
export interface Page {
  json: string;
  etag: string;
  at: number;
}

/** The memory tier, keyed by the normalised URL; entries expire PAGE_TTL_MS after their build began. */
const pages = microCache<Page>(PAGE_TTL_MS, 1_000);

/** The last admin change made in this isolate: pages built before it are not served here any more. */
let changedAt = 0;

const fresh = (p: Page, now: number) => p.at >= changedAt && now - p.at < PAGE_TTL_MS;

/** The edge tier's entry: the page as a plain 200, with its build time; never sent to a client. */
const BUILT_AT = "x-page-built-at";

async function edgeGet(key: string, now: number, log: Logger): Promise<Page | undefined> {
  try {
    const res = await caches.default.match(key);
    if (!res) return undefined;
    const page = {
      json: await res.text(),
      etag: res.headers.get("etag") ?? "",
      at: Number(res.headers.get(BUILT_AT)),
    };
    return page.etag && fresh(page, now) ? page : undefined;
  } catch (err) {
    log.warn("festival edge cache read failed", { error: err });
    return undefined;
  }
}

/** What the edge write needs of the request's context: work that may finish after the answer. */
type Background = { waitUntil(work: Promise<unknown>): void };

function edgePut(key: string, page: Page, ctx: Background, log: Logger): void {
  const res = new Response(page.json, {
    headers: {
      "content-type": "application/json",
      etag: page.etag,
      [BUILT_AT]: String(page.at),
      // Whole seconds only; reads check the exact age (`fresh`).
      "cache-control": `public, max-age=${Math.ceil(PAGE_TTL_MS / 1000)}`,
    },
  });
  ctx.waitUntil(
    caches.default
      .put(key, res)
      .catch((err: unknown) => log.warn("festival edge cache write failed", { error: err })),
  );
}

/** Pages being rebuilt ahead of expiry in this isolate, and since when. */
const refreshing = new Map<string, number>();

/**
 * The page for `key` (a normalised absolute URL) from the first tier that has it fresh, else built
 * by `build` and stored in the tiers. `anonymous`: whether the edge tier may be used.
 *
 * Past half its life, the first request to see a page starts one rebuild in the background
 * (waitUntil) and every request meanwhile keeps getting the page, which is still within the bound:
 * on sale day a hot page is never missed by a burst of readers at once, each rebuilding it. (Promises
 * are not shared between requests: one resolved in another request's context can hang its waiter.)
 */
export async function cachedPage(
  key: string,
  opts: { anonymous: boolean; ctx: Background; log: Logger },
  build: () => Promise<unknown>,
): Promise<Page> {
  const now = Date.now();
  const inMemory = pages.get(key, now);
  if (inMemory && fresh(inMemory, now)) {
    const since = refreshing.get(key);
    if (now - inMemory.at >= PAGE_TTL_MS / 2 && (since === undefined || now - since >= PAGE_TTL_MS)) {
      refreshing.set(key, now);
      opts.ctx.waitUntil(
        fetchPage(key, opts, build, inMemory.at)
          .catch((err: unknown) => opts.log.warn("festival page refresh failed", { error: err }))
          .finally(() => refreshing.delete(key)),
      );
    }
    return inMemory;
  }
  return fetchPage(key, opts, build, 0);
}

/** From the edge tier (a page newer than `after`), else built and stored in the tiers. */
async function fetchPage(
  key: string,
  opts: { anonymous: boolean; ctx: Background; log: Logger },
  build: () => Promise<unknown>,
  after: number,
): Promise<Page> {
  if (opts.anonymous) {
    const atEdge = await edgeGet(key, Date.now(), opts.log);
    if (atEdge && atEdge.at > after) {
      pages.set(key, atEdge, atEdge.at);
      return atEdge;
    }
  }
  const at = Date.now();
  const json = JSON.stringify(await build());
  const page = { json, etag: await etagOf(json), at };
  pages.set(key, page, at);
  if (opts.anonymous) edgePut(key, page, opts.ctx, opts.log);
  return page;
}

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
  // After the bump: a page whose build began from here on read the new versions. Pages begun before
  // (in memory, at the edge, or still being built) are not served in this isolate any more.
  changedAt = Date.now();
}

/** Strong validator of the exact JSON sent: equal bytes, equal tag. */
export async function etagOf(json: string): Promise<string> {
  return `"${await sha256Hex(json, 16)}"`;
}

/** RFC 9110 weak comparison, as If-None-Match requires. */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}

/** Clients and CDNs may store public reads but must revalidate each time (a cheap 304 when unchanged). */
export const PUBLIC_CACHE_CONTROL = "public, no-cache";
/** An answer to a request with credentials is never stored by any cache, shared or private. */
export const PRIVATE_CACHE_CONTROL = "private, no-store";

/** Hash of a canonical request, for list cache keys. */
export async function hashKey(value: unknown): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(value)));
  return btoa(String.fromCharCode(...new Uint8Array(digest).slice(0, 18)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_");
}

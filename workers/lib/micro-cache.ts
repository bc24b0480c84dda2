/**
 * A few values kept in the isolate's memory for about a second: on sale day thousands of requests a
 * second ask one isolate for the same festival page or queue settings, and the cheapest round trip
 * is the one not made (each Redis or database hop is a network round trip in production). Entries
 * are bounded in age (`ttlMs`) and number (oldest first out); `clear()` lets a write in this isolate
 * show at once, while other isolates see it within `ttlMs`, the staleness each user documents.
 */
export interface MicroCache<T> {
  get(key: string, now?: number): T | undefined;
  set(key: string, value: T, now?: number): void;
  clear(): void;
}

const all: MicroCache<unknown>[] = [];

/** After an admin write in this isolate: nothing cached here may hide it (festival pages, queue settings). */
export function clearMicroCaches(): void {
  for (const c of all) c.clear();
}

export function microCache<T>(ttlMs: number, maxEntries = 500): MicroCache<T> {
  const entries = new Map<string, { at: number; value: T }>();
  const cache: MicroCache<T> = {
    get(key, now = Date.now()) {
      const e = entries.get(key);
      if (!e) return undefined;
      if (now - e.at < ttlMs) return e.value;
      entries.delete(key);
      return undefined;
    },
    set(key, value, now = Date.now()) {
      entries.delete(key);
      entries.set(key, { at: now, value });
      // Maps keep insertion order: the first key is the oldest.
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    },
    clear() {
      entries.clear();
    },
  };
  all.push(cache as MicroCache<unknown>);
  return cache;
}

/**
 * Substring search that stays an index lookup on MySQL 8 (PlanetScale) and MariaDB alike.
 *
 * Why a bigram table: `LIKE '%불꽃%'` cannot use a B-tree index, so it reads every row. InnoDB's
 * FULLTEXT with the `ngram` parser would do it on MySQL 8, but MariaDB has no ngram parser and its
 * word tokenizer cannot find `불꽃` inside `서울세계불꽃축제` (Korean titles have no spaces), so the two
 * engines would disagree. Instead each festival's searchable text is normalized (NFKC, lower-case,
 * whitespace removed) and every distinct bigram goes into `festival_search_grams (gram, festival_id)`.
 * A query of n >= 2 characters is normalized the same way; its bigrams are each an index range on the
 * primary key, intersected with GROUP BY ... HAVING COUNT(*) = k. Bigrams are necessary but not
 * sufficient ("abab" vs "ab..ba"), so the few candidates are confirmed with LOCATE on the stored
 * normalized text. One-character queries have no bigram and fall back to LOCATE alone (a scan,
 * narrowed by whatever other filters the request has).
 *
 * Pure functions: loaded by the Worker and by local/seed.ts (Node).
 */

/** Joins fields in `search_text`: a query never contains it (whitespace is stripped), so no match spans two fields. */
const FIELD_SEPARATOR = "\n";

export const normalizeSearch = (text: string): string =>
  text.normalize("NFKC").toLowerCase().replace(/\s+/gu, "");

export interface SearchableFields {
  title: string;
  description: string;
  category: string;
  region: string;
  venueName: string;
  tags: string[];
}

/**
 * Column sizes: search_title is varchar(200) (characters), search_text is TEXT (bytes). NFKC can make
 * text much longer (`㎞` is `km`, `ﷺ` is 18 letters), so a valid title may outgrow search_title.
 */
export const SEARCH_TITLE_MAX_CHARS = 200;
export const SEARCH_TEXT_MAX_BYTES = 65_535;

export function searchColumns(f: SearchableFields): { searchTitle: string; searchText: string } {
  const title = normalizeSearch(f.title);
  const parts = [title, ...f.tags, f.venueName, f.region, f.category, f.description].map(normalizeSearch);
  // Only the relevance rank reads search_title (a match at its start or inside it); matching itself
  // reads search_text, which keeps the whole title, so cutting the rank column loses no result.
  const searchTitle = Array.from(title).slice(0, SEARCH_TITLE_MAX_CHARS).join("");
  return { searchTitle, searchText: parts.filter(Boolean).join(FIELD_SEPARATOR) };
}

/** Whether the searchable text fits its column; when it does not, the request is refused (400). */
export const searchTextFits = (searchText: string): boolean =>
  new TextEncoder().encode(searchText).length <= SEARCH_TEXT_MAX_BYTES;

export const SEARCH_TEXT_TOO_LONG =
  "Title, tags, venue, region, category and description are too long together once normalized for search";

/** Distinct bigrams of normalized text, by code point (so an emoji counts as one character). */
export function bigrams(normalized: string): string[] {
  const chars = Array.from(normalized);
  const grams = new Set<string>();
  for (let i = 0; i + 1 < chars.length; i++) {
    const gram = `${chars[i]}${chars[i + 1]}`;
    if (!gram.includes(FIELD_SEPARATOR)) grams.add(gram);
  }
  return [...grams];
}

/**
 * The bigrams a query looks up. Every one of them must be present, and LOCATE confirms the match, so
 * a long query needs only a few: first, last and evenly spaced between keep the intersection small.
 */
export function queryGrams(normalizedQuery: string, max = 8): string[] {
  const all = bigrams(normalizedQuery);
  if (all.length <= max) return all;
  const picked = new Set<string>();
  for (let i = 0; i < max; i++) picked.add(all[Math.round((i * (all.length - 1)) / (max - 1))] as string);
  return [...picked];
}

import { describe, expect, it } from "vitest";
import { ids, list, setReservedCount } from "./festivals-helpers";
import { createFestival, uniqueWord } from "./fixtures";

/**
 * README, Caching: "list pages at most 10 s" stale (9 s in Redis + 1 s in the isolate). Popularity
 * moves with every reservation without bumping the list version, so it is the part that can lag:
 * a read 10 s after a change must see it. (A wait, not a timing assertion: a busy machine only
 * makes the second read later, which the bound still covers.)
 */
describe("festival list pages", () => {
  it("are at most 10 s stale: popularity order changed behind the cache shows by then", async () => {
    const category = uniqueWord("stale-");
    const popular = await createFestival({ category, reservedCount: 5 });
    const rising = await createFestival({ category, reservedCount: 1 });
    const query = { category, sort: "popularity" };
    // Fills both cache tiers with the old order.
    expect(ids(await list(query))).toEqual([popular.id, rising.id]);
    await setReservedCount(rising.id, 50);
    const changedAt = Date.now();
    await new Promise((r) => setTimeout(r, 10_000 - (Date.now() - changedAt) + 250));
    expect(ids(await list(query))).toEqual([rising.id, popular.id]);
  }, 60_000);
});

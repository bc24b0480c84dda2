import { asc, eq, getTableColumns } from "drizzle-orm";
import { festivalDays, festivals } from "../../db/schema/festivals";
import { AppError } from "../../lib/errors";
import type { Logger } from "../../lib/logger";
import type { Services } from "../../lib/services";
import { hashKey, readFestival, readList, writeFestival, writeList } from "./cache";
import { type ListParams, queryFestivals } from "./list-query";
import { type DayCounts, type FestivalRecord, toDetail, toRecord, toSummary } from "./model";
import type { FestivalDetail, FestivalSummary } from "./schemas";

const {
  searchTitle: _t,
  searchText: _x,
  reservedCount: _r,
  cancelReason: _c,
  ...recordColumns
} = getTableColumns(festivals);

export async function loadRecord(s: Services, id: number): Promise<FestivalRecord | undefined> {
  const [row] = await s.db.select(recordColumns).from(festivals).where(eq(festivals.id, id)).limit(1);
  return row && toRecord(row);
}

const loadDays = (s: Services, id: number): Promise<DayCounts[]> =>
  s.db
    .select({
      day: festivalDays.day,
      capacity: festivalDays.capacity,
      reserved: festivalDays.reserved,
      held: festivalDays.held,
    })
    .from(festivalDays)
    .where(eq(festivalDays.festivalId, id))
    .orderBy(asc(festivalDays.day));

export async function festivalDetail(
  s: Services,
  id: number,
  log: Logger,
  now = new Date(),
): Promise<FestivalDetail> {
  const cached = await readFestival(s, id, log);
  const [doc, days] = await Promise.all([cached.doc ?? loadRecord(s, id), cached.days ?? loadDays(s, id)]);
  if (!doc) throw new AppError(404, "festival.not_found", "No festival with this id");
  if (cached.version !== null && (!cached.doc || !cached.days)) {
    await writeFestival(
      s,
      id,
      cached.version,
      { doc: cached.doc ? undefined : doc, days: cached.days ? undefined : days },
      log,
    );
  }
  return toDetail(doc, days, now);
}

export async function festivalList(
  s: Services,
  params: ListParams,
  log: Logger,
  now = new Date(),
): Promise<{ items: FestivalSummary[]; nextCursor: string | null }> {
  const hash = await hashKey(params);
  const cached = await readList(s, hash, log);
  let page = cached.page;
  if (!page) {
    page = await queryFestivals(s, params, now);
    if (cached.version !== null) await writeList(s, hash, cached.version, page, log);
  }
  return {
    items: page.items.map((i) => toSummary(i.record, now, i.distanceKm)),
    nextCursor: page.nextCursor,
  };
}

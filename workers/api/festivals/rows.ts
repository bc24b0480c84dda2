// Pure: turns a validated festival into the rows to insert. local/seed.ts (Node) uses it too, hence the
// explicit extensions and type-only imports.
import type { NewFestival, NewFestivalDay } from "../../db/schema/festivals.ts";
import { daysInRange, festivalSpan } from "./calendar.ts";
import type { CreateFestivalInput } from "./schemas.ts";
import { bigrams, searchColumns } from "./search-text.ts";

export function festivalRow(f: CreateFestivalInput): NewFestival {
  return {
    title: f.title,
    description: f.description,
    category: f.category,
    region: f.region,
    venueName: f.venue.name,
    venueAddress: f.venue.address,
    lat: f.venue.lat,
    lng: f.venue.lng,
    startDate: f.startDate,
    endDate: f.endDate,
    timezone: f.timezone,
    ...festivalSpan(f.startDate, f.endDate, f.timezone),
    perUserLimit: f.perUserLimit,
    saleOpensAt: new Date(f.saleOpensAt),
    saleClosesAt: new Date(f.saleClosesAt),
    imageUrl: f.imageUrl,
    tags: f.tags,
    ...searchColumns({ ...f, venueName: f.venue.name }),
  };
}

export function dayRows(
  festivalId: number,
  f: Pick<CreateFestivalInput, "startDate" | "endDate" | "capacity">,
) {
  return daysInRange(f.startDate, f.endDate).map(
    (day): NewFestivalDay => ({
      festivalId,
      day,
      capacity: typeof f.capacity === "number" ? f.capacity : (f.capacity[day] ?? 0),
    }),
  );
}

export const gramRows = (festivalId: number, searchText: string) =>
  bigrams(searchText).map((gram) => ({ festivalId, gram }));

/** Rows per multi-row INSERT: keeps one statement well under any packet or placeholder limit. */
export const INSERT_CHUNK = 500;

export function chunks<T>(rows: T[], size = INSERT_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

import { z } from "@hono/zod-openapi";

/** Request pieces every area shares: ids in paths, calendar days, keyset cursors, idempotency keys. */

export const IdParamSchema = z.coerce
  .number()
  .int()
  .positive()
  .max(Number.MAX_SAFE_INTEGER)
  .openapi({ param: { in: "path" }, example: 1 });

/** A real calendar date `YYYY-MM-DD` (2026-02-30 is refused). */
export const DaySchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "Use YYYY-MM-DD")
  .refine((d) => {
    const t = Date.parse(`${d}T00:00:00Z`);
    return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === d;
  }, "Not a calendar date")
  .openapi({ example: "2026-10-03" });

/**
 * Options for an object's cross-field `.superRefine(rule, onlyWhenFieldsParsed)`. zod runs object
 * rules even after a field failed a format or refine check (those issues do not abort the parse) and
 * hands the rule the raw value: date arithmetic on a `startDate` of "" threw, a 500 for bad input.
 * The rule waits until every field is valid; the client sees field errors first, then the rule's.
 */
export const onlyWhenFieldsParsed = {
  when: (payload: { issues: readonly unknown[] }) => payload.issues.length === 0,
};

/** Opaque keyset cursor over ids: base64url JSON of the last id seen (stable under inserts). */
export const CursorSchema = z
  .string()
  .max(200)
  .transform((raw, ctx) => {
    try {
      const { id } = JSON.parse(atob(raw.replace(/-/g, "+").replace(/_/g, "/"))) as { id?: unknown };
      if (typeof id === "number" && Number.isSafeInteger(id) && id > 0) return id;
    } catch {}
    ctx.addIssue({ code: "custom", message: "Not a cursor from this API" });
    return z.NEVER;
  });

export const encodeCursor = (id: number) =>
  btoa(JSON.stringify({ id })).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

export const IdempotencyHeaderSchema = z.object({
  "idempotency-key": z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({ description: "Repeats within 24 h get the first answer", example: "c0ffee-1" }),
});

import { z } from "@hono/zod-openapi";
import { CANCEL_REASONS, RESERVATION_STATUSES } from "../../db/schema/reservations";

/** A real calendar date `YYYY-MM-DD` (2026-02-30 is refused). */
export const DaySchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "Use YYYY-MM-DD")
  .refine((d) => {
    const t = Date.parse(`${d}T00:00:00Z`);
    return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === d;
  }, "Not a calendar date")
  .openapi({ example: "2026-10-03" });

export const IdParamSchema = z.coerce
  .number()
  .int()
  .positive()
  .max(Number.MAX_SAFE_INTEGER)
  .openapi({ param: { in: "path" }, example: 1 });

export const ReservationSchema = z
  .object({
    id: z.number().int(),
    festivalId: z.number().int(),
    userId: z.number().int(),
    day: z.string(),
    quantity: z.number().int(),
    status: z.enum(RESERVATION_STATUSES),
    confirmedAt: z.iso.datetime(),
    cancelledAt: z.iso.datetime().nullable(),
    cancelReason: z.enum(CANCEL_REASONS).nullable(),
    checkedInAt: z.iso.datetime().nullable(),
    /** Show as a QR code at the gate; null once cancelled. */
    checkInCode: z.string().nullable().openapi({ example: "SP-42-MZXW6YTBOI2HA5LTMFZGK3TU" }),
    createdAt: z.iso.datetime(),
  })
  .openapi("Reservation");

/** Opaque keyset cursor: base64url JSON of the last id seen. */
export const CursorSchema = z
  .string()
  .max(200)
  .transform((raw, ctx) => {
    try {
      const json = atob(raw.replace(/-/g, "+").replace(/_/g, "/"));
      const { id } = JSON.parse(json) as { id?: unknown };
      if (typeof id === "number" && Number.isSafeInteger(id) && id > 0) return id;
    } catch {}
    ctx.addIssue({ code: "custom", message: "Not a cursor from this API" });
    return z.NEVER;
  });

export const encodeCursor = (id: number) =>
  btoa(JSON.stringify({ id })).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

export const ListQuerySchema = z.object({
  status: z.enum(RESERVATION_STATUSES).optional(),
  cursor: CursorSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export const ReservationListSchema = z
  .object({ items: z.array(ReservationSchema), nextCursor: z.string().nullable() })
  .openapi("ReservationList");

export const IdempotencyHeaderSchema = z.object({
  "idempotency-key": z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({ description: "Repeats within 24 h get the first answer", example: "c0ffee-1" }),
});

export type ReservationView = z.infer<typeof ReservationSchema>;
export type ReservationList = z.infer<typeof ReservationListSchema>;
export type ListQuery = z.infer<typeof ListQuerySchema>;

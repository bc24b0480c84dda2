import { z } from "@hono/zod-openapi";
import { CANCEL_REASONS, RESERVATION_STATUSES } from "../../db/schema/reservations";
import { CursorSchema } from "../../lib/schemas";

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

export const ListQuerySchema = z.object({
  status: z.enum(RESERVATION_STATUSES).optional(),
  cursor: CursorSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export const ReservationListSchema = z
  .object({ items: z.array(ReservationSchema), nextCursor: z.string().nullable() })
  .openapi("ReservationList");

export type ReservationView = z.infer<typeof ReservationSchema>;
export type ReservationList = z.infer<typeof ReservationListSchema>;
export type ListQuery = z.infer<typeof ListQuerySchema>;

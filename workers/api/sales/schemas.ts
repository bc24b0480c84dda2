import { z } from "@hono/zod-openapi";
import { WAITLIST_STATUSES } from "../../db/schema/sales";
import { DaySchema, IdParamSchema } from "../../lib/schemas";

export const FestivalParamsSchema = z.object({ festivalId: IdParamSchema });

export const QUEUE_STATUSES = ["pre_queue", "waiting", "admitted"] as const;

export const QueueStatusSchema = z
  .object({
    festivalId: z.number().int(),
    status: z.enum(QUEUE_STATUSES).openapi({
      description:
        "pre_queue: joined before opening, the order is drawn at opening; waiting: in line; " +
        "admitted: reserve now with `admission.token`",
    }),
    /** 1 = next to be admitted; null before opening and once admitted. Never grows. */
    position: z.number().int().nullable(),
    /** Users in line, not yet admitted. */
    waiting: z.number().int(),
    opensAt: z.iso.datetime(),
    admissionRatePerMinute: z.number().int(),
    estimatedWaitSeconds: z.number().int().nullable(),
    admission: z
      .object({
        token: z.string().openapi({ description: "Send as `X-Admission-Token` (or body `admissionToken`)" }),
        expiresAt: z.iso.datetime(),
      })
      .nullable(),
  })
  .openapi("QueueStatus");

export const WaitlistJoinSchema = z
  .object({ day: DaySchema, quantity: z.number().int().min(1).max(100).openapi({ example: 2 }) })
  .strict();

export const WaitlistEntrySchema = z
  .object({
    id: z.number().int(),
    festivalId: z.number().int(),
    day: z.string(),
    quantity: z.number().int(),
    status: z.enum(WAITLIST_STATUSES),
    /** Among the day's waiting entries, 1 = first; null unless waiting. */
    position: z.number().int().nullable(),
    /**
     * Places held for me (possibly fewer than asked: places freed later top it up first). Claim by
     * reserving the same day (POST /v1/festivals/{festivalId}/reservations) before it expires.
     */
    offer: z
      .object({ quantity: z.number().int(), offeredAt: z.iso.datetime(), expiresAt: z.iso.datetime() })
      .nullable(),
    reservationId: z.number().int().nullable(),
    createdAt: z.iso.datetime(),
  })
  .openapi("WaitlistEntry");

export const WaitlistListSchema = z
  .object({ items: z.array(WaitlistEntrySchema), nextCursor: z.string().nullable() })
  .openapi("WaitlistEntryList");

export const DayParamsSchema = z.object({
  festivalId: IdParamSchema,
  day: DaySchema.openapi({ param: { in: "path" } }),
});

export const SalesSettingsSchema = z
  .object({
    queueEnabled: z.boolean(),
    admissionRatePerMinute: z.number().int().min(1).max(1_000_000),
    activeCap: z.number().int().min(1).max(1_000_000),
    offerMinutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60),
  })
  .partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, "Send at least one setting to change")
  .openapi("SalesSettings");

export const SalesViewSchema = z
  .object({
    festivalId: z.number().int(),
    queue: z.object({
      enabled: z.boolean(),
      admissionRatePerMinute: z.number().int(),
      activeCap: z.number().int(),
      opensAt: z.iso.datetime(),
      waiting: z.number().int(),
      admittedActive: z.number().int(),
      /** Admissions since the current rate took effect. */
      admittedTotal: z.number().int(),
    }),
    waitlist: z.object({
      offerMinutes: z.number().int(),
      waiting: z.number().int(),
      offersOut: z.number().int(),
      days: z.array(
        z.object({
          day: z.string(),
          capacity: z.number().int(),
          reserved: z.number().int(),
          held: z.number().int(),
          waiting: z.number().int(),
          offersOut: z.number().int(),
        }),
      ),
    }),
  })
  .openapi("SalesView");

export type QueueStatus = z.infer<typeof QueueStatusSchema>;
export type WaitlistEntryView = z.infer<typeof WaitlistEntrySchema>;
export type WaitlistList = z.infer<typeof WaitlistListSchema>;
export type SalesSettings = z.infer<typeof SalesSettingsSchema>;
export type SalesView = z.infer<typeof SalesViewSchema>;

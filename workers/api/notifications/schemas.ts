import { z } from "@hono/zod-openapi";
import { CursorSchema } from "../../lib/schemas";

export const NotificationSchema = z
  .object({
    id: z.number().int(),
    type: z.string().openapi({ example: "reservation.confirmed" }),
    title: z.string(),
    body: z.string(),
    data: z.record(z.string(), z.string()),
    readAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
  })
  .openapi("Notification");

export const NotificationListQuerySchema = z.object({
  cursor: CursorSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  unread: z
    .enum(["true", "false"])
    .optional()
    .transform((v) => v === "true")
    .openapi({ description: "true: only unread notifications" }),
});

export const NotificationListSchema = z
  .object({
    items: z.array(NotificationSchema),
    nextCursor: z.string().nullable(),
    unreadCount: z.number().int(),
  })
  .openapi("NotificationList");

export const UnreadCountSchema = z.object({ unreadCount: z.number().int() }).openapi("UnreadCount");

/** FCM registration tokens are opaque ASCII, ~150-250 characters today. */
export const DeviceTokenSchema = z
  .string()
  .trim()
  .min(16)
  .max(512)
  .regex(/^[\x21-\x7e]+$/, "A registration token is printable ASCII without spaces");

export const DeviceRegisterSchema = z
  .object({ token: DeviceTokenSchema, platform: z.enum(["android", "ios", "web"]).optional() })
  .openapi("DeviceRegistration");

export const DeviceSchema = z
  .object({
    token: z.string(),
    platform: z.enum(["android", "ios", "web"]).nullable(),
    createdAt: z.iso.datetime(),
    lastSeenAt: z.iso.datetime(),
  })
  .openapi("Device");

export const DeviceDeleteSchema = z.object({ token: DeviceTokenSchema }).openapi("DeviceRemoval");

export type NotificationView = z.infer<typeof NotificationSchema>;
export type NotificationList = z.infer<typeof NotificationListSchema>;
export type NotificationListQuery = z.infer<typeof NotificationListQuerySchema>;
export type DeviceView = z.infer<typeof DeviceSchema>;

import { z } from "@hono/zod-openapi";

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

/** Opaque keyset cursor: base64url JSON of the last id seen. */
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

export const NotificationIdParamSchema = z.coerce
  .number()
  .int()
  .positive()
  .max(Number.MAX_SAFE_INTEGER)
  .openapi({ param: { in: "path" }, example: 1 });

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

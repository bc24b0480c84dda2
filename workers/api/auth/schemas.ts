import { z } from "@hono/zod-openapi";
import { ROLES } from "../../db/schema/users";

export const PASSWORD_RULES = "10 to 128 characters, with at least one letter and one digit";

export const EmailSchema = z
  .email()
  .max(254)
  .transform((e) => e.toLowerCase())
  .openapi({ example: "jisoo@example.com" });

export const PasswordSchema = z
  .string()
  .min(10, `Password must be ${PASSWORD_RULES}`)
  .max(128, `Password must be ${PASSWORD_RULES}`)
  .refine((p) => /\p{L}/u.test(p) && /\p{N}/u.test(p), `Password must be ${PASSWORD_RULES}`)
  .openapi({ example: "festival-2026" });

/** Visible names: trimmed, no control characters, 2-20 characters (Korean counts one per syllable). */
export const NicknameSchema = z
  .string()
  .trim()
  .min(2)
  .max(20)
  .refine((n) => !/\p{Cc}/u.test(n), "Nickname must not contain control characters")
  .openapi({ example: "솜솜" });

export const TokenPairSchema = z
  .object({
    accessToken: z.string(),
    accessTokenExpiresAt: z.iso.datetime(),
    refreshToken: z.string(),
    tokenType: z.literal("Bearer"),
  })
  .openapi("TokenPair");

export const NotificationPrefsSchema = z
  .object({
    reminders: z.boolean(),
    reminderOffsetsHours: z
      .array(
        z
          .number()
          .int()
          .min(1)
          .max(24 * 14),
      )
      .max(5),
    chat: z.boolean(),
    festivalUpdates: z.boolean(),
  })
  .openapi("NotificationPrefs");

export const ProfileSchema = z
  .object({
    id: z.number().int(),
    email: z.string(),
    nickname: z.string(),
    role: z.enum(ROLES),
    notifications: NotificationPrefsSchema,
    createdAt: z.iso.datetime(),
  })
  .openapi("Profile");

export type TokenPair = z.infer<typeof TokenPairSchema>;
export type Profile = z.infer<typeof ProfileSchema>;

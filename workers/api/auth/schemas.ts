import { z } from "@hono/zod-openapi";
import { cleanText } from "../../../durable-objects/chat-room/contract/protocol";
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

/**
 * Names that would pass for the festival's own people in chat. Matched inside the name after
 * cleaning, NFKC (fullwidth and compatibility forms fold to plain letters), lower-casing and
 * removing spaces and punctuation, so "A d m i n", "ＡＤＭＩＮ" or "운영자_1" are caught too.
 */
export const RESERVED_NICKNAMES = ["운영자", "운영진", "관리자", "스태프", "admin", "staff", "moderator"];

const foldForCompare = (name: string) =>
  name
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[\s\p{P}\p{S}]/gu, "");

/**
 * Chat's cleaning (controls, bidi overrides, lone surrogates) plus every invisible format character
 * (zero-width space/joiners, marks, BOM: \p{Cf}) and runs of whitespace made one space, then NFC, so
 * two names that look the same are the same string. Joiners go too: a name is not an emoji sequence,
 * and a joiner inside "ad\u200dmin" would hide a reserved word.
 */
export const cleanNickname = (raw: string) =>
  cleanText(raw)
    .replace(/\p{Cf}/gu, "")
    .replace(/\s+/g, " ")
    .trim()
    .normalize("NFC");

const nicknameLength = (n: string) => [...n].length;

/** Visible names: cleaned as above, 2-20 characters (Korean counts one per syllable), not reserved. */
export const NicknameSchema = z
  .string()
  .max(200)
  .transform(cleanNickname)
  .refine((n) => nicknameLength(n) >= 2 && nicknameLength(n) <= 20, "Nickname must be 2 to 20 characters")
  .refine((n) => {
    const folded = foldForCompare(n);
    return !RESERVED_NICKNAMES.some((word) => folded.includes(word));
  }, "This nickname is reserved")
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

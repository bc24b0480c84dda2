import { and, eq, isNull } from "drizzle-orm";
import { festivals } from "../../db/schema/festivals";
import { festivalStaff, users } from "../../db/schema/users";
import { AppError } from "../../lib/errors";
import type { Services } from "../../lib/services";

/**
 * Festival-scoped staff (checked by `requireFestivalStaff` in workers/api/middleware/auth.ts): an
 * admin lets a person work one festival's gate without making them an admin of everything.
 */
async function requireFestivalAndUser(s: Services, festivalId: number, userId: number): Promise<void> {
  const [[festival], [user]] = await Promise.all([
    s.db.select({ id: festivals.id }).from(festivals).where(eq(festivals.id, festivalId)).limit(1),
    s.db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.id, userId), isNull(users.deletedAt)))
      .limit(1),
  ]);
  if (!festival) throw new AppError(404, "festival.not_found", "No festival with this id");
  if (!user) throw new AppError(404, "user.not_found", "No account with this id");
}

/** Idempotent: granting twice keeps the first grant. */
export async function grantStaff(s: Services, festivalId: number, userId: number, grantedBy: number) {
  await requireFestivalAndUser(s, festivalId, userId);
  await s.db
    .insert(festivalStaff)
    .values({ festivalId, userId, grantedBy })
    .onDuplicateKeyUpdate({ set: { festivalId } });
}

/** Idempotent: revoking a grant that is not there is no error. Takes effect on the next request. */
export async function revokeStaff(s: Services, festivalId: number, userId: number) {
  await s.db
    .delete(festivalStaff)
    .where(and(eq(festivalStaff.festivalId, festivalId), eq(festivalStaff.userId, userId)));
}

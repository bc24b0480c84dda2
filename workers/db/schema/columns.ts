import { bigint, datetime } from "drizzle-orm/mysql-core";

/** Shared column shapes: ids are unsigned bigints, times are UTC DATETIME(3) read as Date. */
export const id = () => bigint("id", { mode: "number", unsigned: true }).autoincrement().primaryKey();
export const ref = (name: string) => bigint(name, { mode: "number", unsigned: true });
export const at = (name: string) => datetime(name, { mode: "date", fsp: 3 });
export const createdAt = () =>
  at("created_at")
    .notNull()
    .$defaultFn(() => new Date());
export const updatedAt = () =>
  at("updated_at")
    .notNull()
    .$defaultFn(() => new Date())
    .$onUpdateFn(() => new Date());

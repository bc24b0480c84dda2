// Every table, re-exported for drizzle's relational queries and drizzle-kit.
export * from "./chat";
export * from "./festivals";
export * from "./reservations";
export * from "./users";

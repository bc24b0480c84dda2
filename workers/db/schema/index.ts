// Every table, re-exported for drizzle's relational queries and drizzle-kit.
export * from "./chat";
export * from "./festivals";
export * from "./follow-ups";
export * from "./notifications";
export * from "./reservations";
export * from "./sales";
export * from "./users";

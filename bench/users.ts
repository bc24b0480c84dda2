import { Client } from "@planetscale/database";
import { issueAccessToken } from "../workers/api/auth/tokens.ts";
import { adminToken, type BenchEnv, createFestival } from "./harness.ts";

/**
 * Many users for a benchmark, straight into MySQL (signing up each would spend the run on PBKDF2),
 * with access tokens minted by the Worker's own token code and secret.
 */
export async function bulkUsers(databaseUrl: string, jwtSecret: string, n: number) {
  const conn = new Client({ url: databaseUrl }).connection();
  const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  for (let i = 0; i < n; i += 500) {
    const emails = Array.from(
      { length: Math.min(500, n - i) },
      (_, j) => `bench-${tag}-${i + j}@example.com`,
    );
    await conn.execute(
      `insert into users (email, nickname, password_hash, role, reminder_offsets_hours, created_at, updated_at) values ${emails
        .map(() => "(?, 'bench', '!', 'user', '[24]', utc_timestamp(3), utc_timestamp(3))")
        .join(",")}`,
      emails,
    );
  }
  const rows = (await conn.execute("select id from users where email like ? order by id", [`bench-${tag}-%`]))
    .rows as { id: number }[];
  return Promise.all(
    rows.map(async ({ id }) => ({
      id: Number(id),
      token: (await issueAccessToken({ id: Number(id), role: "user" }, jwtSecret)).token,
    })),
  );
}

/**
 * A festival's chat room with `n` members who joined through the API, as the chat benchmarks need:
 * returns the members (with tokens) and the room's WebSocket URL.
 */
export async function chatRoomWithMembers(env: BenchEnv, title: string, n: number) {
  const admin = await adminToken(env);
  const { id: festivalId } = await createFestival(env, admin, { title, capacity: 1000, daysAhead: 30 });
  const users = await bulkUsers(env.databaseUrl, env.jwtSecret, n);
  // A few joins at a time: a large room's hundreds of members would otherwise take a while.
  let next = 0;
  const joiner = async () => {
    for (let u = users[next++]; u; u = users[next++]) {
      const res = await fetch(`${env.appUrl}/v1/festivals/${festivalId}/chat/members`, {
        method: "POST",
        headers: { authorization: `Bearer ${u.token}` },
      });
      if (res.status !== 204) throw new Error(`join: ${res.status} ${await res.text()}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, joiner));
  const wsUrl = `${env.appUrl.replace("http", "ws")}/v1/festivals/${festivalId}/chat`;
  return { festivalId, users, wsUrl };
}

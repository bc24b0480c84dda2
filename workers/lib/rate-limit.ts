import type { Services } from "./services";

/**
 * Fixed-window counters in Redis: `hit` counts an attempt and says where the window stands.
 * Fixed windows are enough here: they bound brute force, and their edge burst is at most 2x.
 */
export interface WindowState {
  count: number;
  retryAfterSeconds: number;
}

export async function hit(s: Services, key: string, windowMs: number): Promise<WindowState> {
  const p = s.redis.pipeline();
  p.incr(key);
  p.pexpire(key, windowMs, "NX");
  p.pttl(key);
  const [count, , pttl] = (await p.exec()) as [number, number, number];
  return { count, retryAfterSeconds: Math.max(1, Math.ceil(pttl / 1000)) };
}

export async function reset(s: Services, key: string): Promise<void> {
  await s.redis.del(key);
}

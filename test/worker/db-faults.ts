/**
 * Contention on demand: the PlanetScale stand-in fails the statements whose text contains `match`
 * exactly as MySQL fails a deadlock victim (1213) or a lock wait timeout (1205), through the control
 * server (local/control-server.ts). Match on something only the test's own statements contain (a
 * unique title, "user_id = <its user>"): other test files share the stand-in.
 */
export async function failStatements(
  match: string,
  opts: { errno?: 1213 | 1205 | 1040; times?: number } = {},
) {
  const params = new URLSearchParams({ match, errno: String(opts.errno ?? 1213) });
  if (opts.times !== undefined) params.set("times", String(opts.times));
  await controlFault(params);
}

/** Ends the fault; resolves to how many statements it failed. */
export async function stopFailing(match: string): Promise<number> {
  return (await controlFault(new URLSearchParams({ clear: match }))).fired;
}

async function controlFault(params: URLSearchParams): Promise<{ fired: number }> {
  const { inject } = await import("vitest");
  const res = await fetch(`${inject("controlUrl")}/fault/planetscale?${params}`, { method: "POST" });
  if (res.status !== 200) throw new Error(`fault ${params}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { fired: number };
}

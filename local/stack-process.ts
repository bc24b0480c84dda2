import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { privateStack } from "./stack.ts";

/**
 * A private stack in a Node process of its own: what the benchmarks run. In one process with the
 * load generator, every stand-in request waited behind the generator's own work on one event loop
 * (a sale batch's statements, a chain of round trips, took 25-250 ms each at "0 ms" injected
 * latency), while hello-world, the baseline, had the event loop to itself. In production the
 * database and Redis are other machines; here they are at least another process.
 */
export interface StackProcess {
  bindings: Record<string, string>;
  config: { kafkaDataDir: string };
  /** Stack.setLatency in the stack's process: resolves once it applies. */
  setLatency(ms: number): Promise<void>;
  stop(): Promise<void>;
  dropData(): Promise<void>;
}

type Op = "setLatency" | "stop" | "dropData";
type Request = { id: number; op: Op; ms?: number };
type Reply = { id: number; error?: string };
type Ready = { ready: { bindings: Record<string, string>; kafkaDataDir: string } } | { failed: string };

export async function startStackProcess(tag: string, work: string): Promise<StackProcess> {
  const child = fork(fileURLToPath(import.meta.url), ["child", tag, work], { stdio: "inherit" });
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once("message", (m) => resolve(m as Ready));
    child.once("exit", (code) => reject(new Error(`stack process exited (${code}) before it was ready`)));
  });
  if ("failed" in ready) throw new Error(`stack process: ${ready.failed}`);
  let next = 0;
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  child.on("message", (m) => {
    const reply = m as Reply;
    const w = waiting.get(reply.id);
    waiting.delete(reply.id);
    if (reply.error) w?.reject(new Error(reply.error));
    else w?.resolve();
  });
  const call = (op: Op, ms?: number) =>
    new Promise<void>((resolve, reject) => {
      const id = ++next;
      waiting.set(id, { resolve, reject });
      child.send({ id, op, ms } satisfies Request);
    });
  return {
    bindings: ready.ready.bindings,
    config: { kafkaDataDir: ready.ready.kafkaDataDir },
    setLatency: (ms) => call("setLatency", ms),
    stop: () => call("stop"),
    async dropData() {
      await call("dropData");
      await exited(child);
    },
  };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  child.send({ id: 0, op: "exit" });
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

// The child: `node local/stack-process.ts child <tag> <work>`, driven over the IPC channel.
if (process.argv[2] === "child" && process.send) {
  const [tag, work] = process.argv.slice(3) as [string, string];
  const stack = privateStack(tag, work);
  try {
    await stack.start();
    process.send({
      ready: { bindings: stack.bindings, kafkaDataDir: stack.config.kafkaDataDir },
    } satisfies Ready);
  } catch (err) {
    process.send({ failed: String(err) } satisfies Ready);
    process.exit(1);
  }
  process.on("message", async (m: Request | { id: 0; op: "exit" }) => {
    if (m.op === "exit") process.exit(0);
    try {
      if (m.op === "setLatency") stack.setLatency(m.ms ?? 0);
      else if (m.op === "stop") await stack.stop();
      else await stack.dropData();
      process.send?.({ id: m.id } satisfies Reply);
    } catch (err) {
      process.send?.({ id: m.id, error: String(err) } satisfies Reply);
    }
  });
  // The parent died without saying: nothing is left running.
  process.on("disconnect", () => void stack.stop().finally(() => process.exit(0)));
}

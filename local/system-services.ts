import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";

/** The real engines behind the stand-ins. They run as system services; we start them when they are down. */
interface SystemService {
  name: string;
  port: number;
  binary: string;
  start: string[];
  aptPackage: string;
}

export const MARIADB: SystemService = {
  name: "MariaDB",
  port: 3306,
  binary: "/usr/sbin/mariadbd",
  start: ["start-stop-daemon", "--start", "--oknodo", "--background", "--exec", "/usr/sbin/mariadbd"],
  aptPackage: "mariadb-server",
};

export const REDIS: SystemService = {
  name: "Redis",
  port: 6379,
  binary: "/usr/bin/redis-server",
  start: [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
  ],
  aptPackage: "redis-server",
};

export function isListening(port: number, host = "127.0.0.1", timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Starts the service if it is installed and down; explains how to install it when it is missing. */
export async function ensureRunning(service: SystemService): Promise<void> {
  if (await isListening(service.port)) return;
  if (!existsSync(service.binary)) {
    throw new Error(
      `${service.name} is not installed. Install it with:\n  sudo apt-get update && sudo apt-get install -y ${service.aptPackage}`,
    );
  }
  const [cmd, ...args] = service.start;
  if (service === MARIADB && !existsSync("/run/mysqld"))
    spawnSync("install", ["-d", "-o", "mysql", "/run/mysqld"]);
  const result = spawnSync(cmd as string, args, { stdio: "inherit" });
  if (result.status !== 0) throw new Error(`could not start ${service.name}: ${service.start.join(" ")}`);
  for (let i = 0; i < 60; i++) {
    if (await isListening(service.port)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${service.name} did not start listening on port ${service.port}`);
}

import { open, rename } from "node:fs/promises";
import { dirname } from "node:path";

/** fsync a directory, so that a file created or renamed in it is still there after a crash. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

let tmpCounter = 0;

/**
 * Replace the file at `path` with `data` atomically (write a temp file, fsync, rename, fsync the directory):
 * after a crash a reader finds either the old or the new content, never a torn mix.
 */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  tmpCounter += 1;
  const tmp = `${path}.${process.pid}.${tmpCounter}.tmp`;
  const handle = await open(tmp, "w");
  try {
    await handle.writeFile(data, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  await syncDir(dirname(path));
}

export function isErrnoCode(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

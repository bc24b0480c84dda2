import { readFile } from "node:fs/promises";

export const ROOT = new URL("../", import.meta.url);

/** Parses .dev.vars (KEY=VALUE lines, # comments); missing file = no vars. */
export async function loadDevVars(file = new URL(".dev.vars", ROOT)): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return {};
  }
  const vars: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m?.[1]) vars[m[1]] = (m[2] ?? "").replace(/^"(.*)"$/, "$1");
  }
  return vars;
}

import { readFile, writeFile } from "node:fs/promises";

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
    if (m?.[1]) vars[m[1]] = (m[2] ?? "").replace(/^"(.*)"$/, "$1").replace(/^'(.*)'$/, "$1");
  }
  return vars;
}

/** Sets KEY=VALUE lines in .dev.vars (replacing or appending); values are single-quoted, as dotenv keeps those literal. */
export async function setDevVars(
  values: Record<string, string>,
  file = new URL(".dev.vars", ROOT),
): Promise<boolean> {
  const before = await readFile(file, "utf8").catch(() => "");
  let text = before;
  for (const [key, value] of Object.entries(values)) {
    const line = `${key}='${value}'`;
    const re = new RegExp(`^${key}=.*$`, "m");
    text = re.test(text) ? text.replace(re, () => line) : `${text.replace(/\n?$/, "\n")}${line}\n`;
  }
  if (text !== before) await writeFile(file, text);
  return text !== before;
}

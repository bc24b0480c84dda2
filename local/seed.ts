/** Demo data for `npm run dev`; filled by the festivals area. Returns a line to print, or nothing. */
export async function seedDemoData(_databaseUrl: string): Promise<string | undefined> {
  return undefined;
}

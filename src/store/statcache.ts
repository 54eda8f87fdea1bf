/**
 * The stat cache: workspace path → size, mtime and inode of the file when it was last read, with
 * what reading it found (sha256, or a skip reason). A hit means the file is not read again. It is
 * not part of any run (never hashed); an invalid or missing cache only costs a re-read. `writeRun`
 * writes it.
 */
import { readFileSync } from "node:fs";
import { SHA256, statCachePath } from "./layout.ts";

/** Path → [size, mtime in ms, inode, sha256 ("" when not read), skip reason ("" when ingested)]. */
export type StatCache = Record<string, [number, number, number, string, string]>;

/**
 * One entry as the cache holds it (checked by hand: a schema library copying 100,000 entries took
 * most of an unchanged run). Items after the fifth are ignored, as the schema did (a later version
 * may add some).
 */
const validEntry = (e: unknown): e is StatCache[string] =>
  Array.isArray(e) && e.length >= 5 && typeof e[0] === "number" && typeof e[1] === "number" && typeof e[2] === "number" &&
  typeof e[3] === "string" && (e[3] === "" || SHA256.test(e[3])) && typeof e[4] === "string";

/**
 * The cache (empty when missing or invalid) and the file's text as it is on disk ("" when missing),
 * so a caller can tell whether a new cache differs and by how many bytes.
 */
export function loadStatCache(profileDir: string): { cache: StatCache; text: string } {
  let text: string;
  try { text = readFileSync(statCachePath(profileDir), "utf8"); } catch { return { cache: {}, text: "" }; }
  let data: unknown;
  try { data = JSON.parse(text); } catch { return { cache: {}, text }; }
  if (typeof data !== "object" || data === null || Array.isArray(data)) return { cache: {}, text };
  for (const k in data) if (!validEntry((data as Record<string, unknown>)[k])) return { cache: {}, text };
  return { cache: data as StatCache, text };
}

/**
 * The stat cache: the run it was written for, and workspace path → size, mtime, inode and ctime of
 * each file that run recorded, as they were when it was read. A hit (the same size, mtime, inode
 * and ctime now, and the cache's run is the current one) means the file is not read again: its record (sha256,
 * skip reason, warnings) is the current manifest's. It is not part of any run (never hashed); an
 * invalid, missing or other run's cache only costs a re-read. `writeRun` writes it after the run.
 *
 * On disk it is the JSON compressed with zstd (level 1). The records stay in the manifest only:
 * a cache that also held each sha256 took 12.6 MB as JSON at 100,000 files, against about 1 MB
 * now, and the footprint budget counts it. An older binary's `stat.json` is not read; `writeRun`
 * removes it.
 *
 * The ctime (change time) is there because a program can set the mtime back (`touch -r`, `cp -p`,
 * a tool restoring timestamps) after changing a file in place, keeping its size and inode; the
 * system sets the ctime on every change and no program can set it. A cache written before the
 * ctime was kept (entries of three items) is invalid as a whole, so it is ignored: every file is
 * read and hashed once, and the cache is written again.
 */
import { MAX_CACHE_BYTES, readRegularFile } from "../shared/fs.ts";
import { RUN_ID, statCachePath } from "./layout.ts";

/** Path → [size, mtime in ms, inode, ctime in ms]. */
export type StatEntries = Record<string, [number, number, number, number]>;
export type StatCache = { run: string; files: StatEntries };

/** The cache's bytes as written (zstd, level 1: a cache need not be the smallest, nor the same bytes each time). */
export const encodeStatCache = (text: string): Uint8Array => Bun.zstdCompressSync(new TextEncoder().encode(text), { level: 1 });

/**
 * One entry as the cache holds it (checked by hand: a schema library copying 100,000 entries took
 * most of an unchanged run). Items after the fourth are ignored (a later version may add some).
 */
const validEntry = (e: unknown): e is StatEntries[string] =>
  Array.isArray(e) && e.length >= 4 && typeof e[0] === "number" && typeof e[1] === "number" && typeof e[2] === "number" && typeof e[3] === "number";

/**
 * The cache (undefined when missing or invalid), its JSON text ("" when missing or not zstd) and
 * its size on disk, so a caller can tell whether a new cache differs and by how many bytes.
 */
export function loadStatCache(profileDir: string): { cache?: StatCache; text: string; bytes: number } {
  // Not a regular file (a FIFO would stall the reader): as if missing; the run's write replaces it.
  const raw = readRegularFile(statCachePath(profileDir), MAX_CACHE_BYTES);
  if (!raw) return { text: "", bytes: 0 };
  const bytes = raw.length;
  let text: string;
  try { text = new TextDecoder("utf-8", { fatal: true }).decode(Bun.zstdDecompressSync(raw)); } catch { return { text: "", bytes }; }
  let data: unknown;
  try { data = JSON.parse(text); } catch { return { text, bytes }; }
  const { run, files } = (typeof data === "object" && data !== null ? data : {}) as Record<string, unknown>;
  if (typeof run !== "string" || !RUN_ID.test(run) || typeof files !== "object" || files === null || Array.isArray(files)) return { text, bytes };
  for (const k in files) if (!validEntry((files as Record<string, unknown>)[k])) return { text, bytes };
  return { cache: { run, files: files as StatEntries }, text, bytes };
}

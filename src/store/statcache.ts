/**
 * The stat cache: workspace path → size, mtime and inode of the file when it was last read, with
 * what reading it found (sha256, or a skip reason). A hit means the file is not read again. It is
 * not part of any run (never hashed); deleting it only costs a re-read.
 */
import { readFileSync } from "node:fs";
import { atomicWriteFile } from "../shared/fs.ts";
import { statCachePath } from "./layout.ts";

/** [bytes, mtimeMs, ino, sha256 or "", skip reason or ""] */
export type StatEntry = [number, number, number, string, string];
export type StatCache = Record<string, StatEntry>;

export function loadStatCache(profileDir: string): StatCache {
  try {
    const data = JSON.parse(readFileSync(statCachePath(profileDir), "utf8"));
    return data && typeof data === "object" && !Array.isArray(data) ? (data as StatCache) : {};
  } catch {
    return {};
  }
}

export function saveStatCache(profileDir: string, cache: StatCache): string {
  const text = JSON.stringify(cache);
  atomicWriteFile(statCachePath(profileDir), text, { fsync: false });
  return text;
}

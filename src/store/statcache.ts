/**
 * The stat cache: workspace path → size, mtime and inode of the file when it was last read, with
 * what reading it found (sha256, or a skip reason). A hit means the file is not read again. It is
 * not part of any run (never hashed); an invalid or missing cache only costs a re-read. `writeRun`
 * writes it.
 */
import { readFileSync } from "node:fs";
import * as v from "valibot";
import { SHA256, statCachePath } from "./layout.ts";

const StatCacheSchema = v.record(v.string(), v.tuple([v.number(), v.number(), v.number(), v.union([v.literal(""), v.pipe(v.string(), v.regex(SHA256))]), v.string()]));
export type StatCache = v.InferOutput<typeof StatCacheSchema>;

/**
 * The cache (empty when missing or invalid) and the file's text as it is on disk ("" when missing),
 * so a caller can tell whether a new cache differs and by how many bytes.
 */
export function loadStatCache(profileDir: string): { cache: StatCache; text: string } {
  let text: string;
  try { text = readFileSync(statCachePath(profileDir), "utf8"); } catch { return { cache: {}, text: "" }; }
  try {
    const r = v.safeParse(StatCacheSchema, JSON.parse(text));
    return { cache: r.success ? r.output : {}, text };
  } catch {
    return { cache: {}, text };
  }
}

/**
 * The stat cache: workspace path → size, mtime and inode of the file when it was last read, with
 * what reading it found (sha256, or a skip reason). A hit means the file is not read again. It is
 * not part of any run (never hashed); an invalid or missing cache only costs a re-read. `writeRun`
 * writes it.
 */
import { readFileSync } from "node:fs";
import * as v from "valibot";
import { statCachePath } from "./layout.ts";

const StatCacheSchema = v.record(v.string(), v.tuple([v.number(), v.number(), v.number(), v.union([v.literal(""), v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/))]), v.string()]));
export type StatCache = v.InferOutput<typeof StatCacheSchema>;

export function loadStatCache(profileDir: string): StatCache {
  try {
    const r = v.safeParse(StatCacheSchema, JSON.parse(readFileSync(statCachePath(profileDir), "utf8")));
    return r.success ? r.output : {};
  } catch {
    return {};
  }
}

/**
 * The filters cache: every index shard's bloom filters (table `filters`, see store/bloom.ts) in one
 * file. A question about every shard (the links into a document, the mentions of a reference, the
 * definitions of a symbol) asks each shard's filter first; without the cache that opened every
 * shard's segment and read a block from each, most of a `node` or `why-connected` on a small run
 * (corpus-2000: 32 segments opened, about 5 ms of 28).
 *
 * File `.pkg/profiles/<p>/cache/filters.bin`:
 *
 *   auditgraph-filters 1 <crc32, 8 hex> <JSON {"<shard>": ["<sha256 of its index object>", F], …}>\n
 *   the filters' bytes, back to back
 *
 * the crc32 over the JSON and the bytes after the newline (the JSON says where each filter is: a
 * digit changed there would hand a shard another filter, which says no to keys the shard holds)
 *
 * where F is 0 for a shard written before the filters (it may hold any key), else an object with,
 * for each of FILTER_TABLES, `[offset, length]` of its filter in the bytes, 0 when the table has
 * no entries (it holds no key), or null when it has entries and no filter (it may hold any key).
 * It is not part of any run and never hashed, and answers only for the index objects it names: a
 * shard whose object is not named (same shard, same sha256) is read from its segment. A missing,
 * unreadable or damaged cache (header, checksum, an entry out of bounds, a filter that is not one;
 * not a regular file) is ignored and made again from the segments. The CLI writes the cache it
 * made (atomically; a failed write is ignored); the MCP and UI servers are read-only and keep
 * theirs in memory for the run.
 */
import { MAX_CACHE_BYTES, readRegularFile } from "../shared/fs.ts";
import { cacheFileBytes, readCacheFile, writeCacheFile } from "./cache-file.ts";
import { FILTER_TABLES, isBloom, type FilterTable } from "../store/bloom.ts";
import { filtersCachePath, SHA256 } from "../store/layout.ts";
import type { Segment } from "../store/segment.ts";

const MAGIC = "auditgraph-filters 1";
/** The filter of a table without entries: no key is in it. */
export const EMPTY = new Uint8Array(0);
/**
 * A shard's filters: per table, a bloom filter, EMPTY (the table has no entries) or null (no
 * filter: any key may be there). `filtered`: the shard was written with filters.
 */
export type ShardFilters = { filtered: boolean; tables: Record<FilterTable, Uint8Array | null> };


/**
 * The filter of a table that is not one (damage): a question about that table is a corrupt object
 * (exit 5), one about another table is answered as before (a command meets only the damage it reads).
 * A shard with one is not written to the cache.
 */
export const DAMAGED = new Uint8Array(1);
/** A shard written before the filters: every table to be read. */
const UNFILTERED: ShardFilters = { filtered: false, tables: Object.fromEntries(FILTER_TABLES.map((t) => [t, null])) as Record<FilterTable, null> };

/** A shard's filters as its segment holds them (a filter that is not one is DAMAGED). */
export function segmentFilters(seg: Segment): ShardFilters {
  const t = seg.header.tables;
  // A shard written before the filters holds anything.
  if (t.filters === undefined) return UNFILTERED;
  const tables = {} as Record<FilterTable, Uint8Array | null>;
  for (const name of FILTER_TABLES) {
    // No filter for a table without entries.
    const f = seg.bytes("filters", name, false) ?? ((t[name]?.count ?? 0) > 0 ? null : EMPTY);
    // A copy: the bytes may be a slice of a block that the segment's caches drop.
    tables[name] = f && f !== EMPTY ? (isBloom(f) ? f.slice() : DAMAGED) : f;
  }
  return { filtered: true, tables };
}

/** The cache on disk when it is sound: each shard it names with its object and filters. */
function readCache(profileDir: string): Map<number, { sha: string; filters: ShardFilters }> | undefined {
  const raw = readRegularFile(filtersCachePath(profileDir), MAX_CACHE_BYTES);
  if (!raw) return undefined;
  const file = readCacheFile(MAGIC, raw);
  if (!file) return undefined;
  const { named, body } = file; // the filters are views of the body
  const out = new Map<number, { sha: string; filters: ShardFilters }>();
  for (const [k, v] of Object.entries(named)) {
    if (!/^\d{1,3}$/.test(k) || !Array.isArray(v) || v.length !== 2 || typeof v[0] !== "string" || !SHA256.test(v[0])) return undefined;
    const [sha, f] = v as [string, unknown];
    if (f === 0) { out.set(Number(k), { sha, filters: UNFILTERED }); continue; }
    if (typeof f !== "object" || f === null || Array.isArray(f)) return undefined;
    const tables = {} as Record<FilterTable, Uint8Array | null>;
    for (const name of FILTER_TABLES) {
      const e = (f as Record<string, unknown>)[name];
      if (e === 0) tables[name] = EMPTY;
      else if (e === null) tables[name] = null;
      else {
        if (!Array.isArray(e) || e.length !== 2 || !e.every((x) => Number.isInteger(x) && x >= 0) || e[0] + e[1] > body.length) return undefined;
        const bytes = body.subarray(e[0], e[0] + e[1]);
        if (!isBloom(bytes)) return undefined;
        tables[name] = bytes;
      }
    }
    out.set(Number(k), { sha, filters: { filtered: true, tables } });
  }
  return out;
}

/**
 * The filters of the index shards `want` names (shard → sha256 of its index object): from the
 * cache for the objects it names, from their segments (through `read`) for the others, and the
 * cache written when any were read and `write`.
 */
export function loadFilters(profileDir: string, want: Map<number, string>, read: (shard: number) => ShardFilters, write: boolean): Map<number, ShardFilters> {
  const old = readCache(profileDir);
  const out = new Map<number, ShardFilters>();
  let fresh = false;
  for (const [n, sha] of want) {
    const c = old?.get(n);
    if (c && c.sha === sha) out.set(n, c.filters);
    else { out.set(n, read(n)); fresh = true; }
  }
  const damaged = [...out.values()].some((f) => FILTER_TABLES.some((t) => f.tables[t] === DAMAGED));
  if (fresh && write && !damaged) {
    const parts: Uint8Array[] = [];
    let at = 0;
    const named: Record<string, [string, unknown]> = {};
    for (const [n, sha] of [...want].sort((a, b) => a[0] - b[0])) {
      const f = out.get(n)!;
      if (!f.filtered) { named[String(n)] = [sha, 0]; continue; }
      const entry: Record<string, unknown> = {};
      for (const name of FILTER_TABLES) {
        const t = f.tables[name];
        if (t === null) entry[name] = null;
        else if (t === EMPTY) entry[name] = 0;
        else { entry[name] = [at, t.length]; parts.push(t); at += t.length; }
      }
      named[String(n)] = [sha, entry];
    }
    writeCacheFile(filtersCachePath(profileDir), cacheFileBytes(MAGIC, named, Buffer.concat(parts)));
  }
  return out;
}

/**
 * The words cache: every word of a run's dictionaries (a term of word characters only, see
 * isWordTerm) once, with the index shards that hold it. Finding the words that contain a word (the
 * wider pass of search.ts: connect → reconnect) then reads one small file instead of every shard's
 * whole dictionary. On the 10x benchmark corpus the dictionaries hold 3.9 million entries in 64
 * shards (76 MB to decompress), and 142,420 distinct words (0.9 MB here).
 *
 * File `.pkg/profiles/<p>/cache/words.zst`: zstd (level 1) of
 *
 *   auditgraph-words 2 <crc32, 8 hex> <JSON {"<shard>": "<sha256 of its index object>", …}>
 *   <word>\t<16 hex digits: bit n set when shard n's dictionary holds the word>
 *   …
 *
 * words in the order first found (the kept ones as the cache had them, then shard by shard, each
 * dictionary in key order); the crc32 covers the JSON and the lines (query/cache-file.ts; version
 * 1's covered the lines only, and is made again like any other damage). It is not part of any run and never hashed. It answers only for the
 * index objects it names: a run whose index shards are all named (same shard, same sha256) uses it
 * as it is; otherwise the words of the shards it names with the same object are kept, and only
 * the other shards' dictionaries are read (a one-file change reads one shard's). A missing,
 * unreadable or damaged cache (bad zstd, header, checksum or line; not a regular file) is ignored and made again from
 * the dictionaries. The CLI writes the cache it made (atomically; a failed write is ignored, a
 * read-only store only costs the reading); the MCP and UI servers are read-only and keep theirs in
 * memory for the run.
 */
import { MAX_CACHE_BYTES, readRegularFile } from "../shared/fs.ts";
import { cacheFileBytes, readCacheFile, writeCacheFile } from "./cache-file.ts";
import { isWordTerm } from "../pipeline/tokens.ts";
import { SHA256, wordsCachePath } from "../store/layout.ts";
import type { Segment } from "../store/segment.ts";

const MAGIC = "auditgraph-words 2";
/** Shard numbers are below this (pipeline/shard.ts MAX_SHARDS): two 32-bit halves of a mask. */
const MASK_SHARDS = 64;
const MASK_HEX = 16;
/** The ASCII codes of the hex digits, and each code's value (-1: not a lower-case hex digit). */
const HEX = Buffer.from("0123456789abcdef");
const HEX_VALUE = new Int8Array(256).fill(-1);
HEX.forEach((c, i) => { HEX_VALUE[c] = i; });

/** Shard number → sha256 of its index object. */
export type ShardObjects = Map<number, string>;
/** Every data block of a shard's `terms` dictionary (lines `<key>\t<value>\n`), given one by one to `block`. */
export type ShardBlocks = (shard: number, block: (raw: Uint8Array) => void) => void;

/** The data blocks of a segment's `terms` dictionary. */
export const segmentBlocks = (seg: Segment, block: (raw: Uint8Array) => void): void => seg.eachDataBlock("terms", block);

/**
 * Words by their UTF-8 bytes with a mask of shards each: an open-addressing table over an arena,
 * so that the millions of (shard, word) pairs of a large run's dictionaries make no string each
 * (a Map of strings took three quarters of the time). A word's place is the order it was first added.
 */
class WordTable {
  private arena = Buffer.alloc(1 << 20);
  private used = 0;
  private start = new Int32Array(1 << 12);
  private len = new Int32Array(1 << 12);
  lo = new Uint32Array(1 << 12);
  hi = new Uint32Array(1 << 12);
  count = 0;
  private slots = new Int32Array(1 << 13).fill(-1);

  /** Adds `lo`/`hi` to the mask of the word b[from, to), adding the word first when it is new. */
  add(b: Uint8Array, from: number, to: number, lo: number, hi: number, h = hashOf(b, from, to)): void {
    const mask = this.slots.length - 1;
    const n = to - from;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const id = this.slots[s]!;
      if (id < 0) { this.slots[s] = this.insert(b, from, n, lo, hi); return; }
      if (this.len[id] === n && this.same(id, b, from, n)) { this.lo[id] = (this.lo[id]! | lo) >>> 0; this.hi[id] = (this.hi[id]! | hi) >>> 0; return; }
    }
  }

  private same(id: number, b: Uint8Array, from: number, n: number): boolean {
    const a = this.arena, at = this.start[id]!;
    for (let i = 0; i < n; i++) if (a[at + i] !== b[from + i]) return false;
    return true;
  }

  private insert(b: Uint8Array, from: number, n: number, lo: number, hi: number): number {
    if (this.used + n > this.arena.length) { const a = Buffer.alloc(Math.max(this.arena.length * 2, this.used + n)); this.arena.copy(a); this.arena = a; }
    for (let i = 0; i < n; i++) this.arena[this.used + i] = b[from + i]!;
    const id = this.count++;
    if (id >= this.start.length) {
      this.start = grow(this.start, id * 2); this.len = grow(this.len, id * 2);
      this.lo = grow(this.lo, id * 2); this.hi = grow(this.hi, id * 2);
    }
    this.start[id] = this.used; this.len[id] = n; this.lo[id] = lo >>> 0; this.hi[id] = hi >>> 0;
    this.used += n;
    if (this.count * 2 > this.slots.length) this.rehash();
    return id;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2).fill(-1);
    const mask = slots.length - 1;
    for (let id = 0; id < this.count; id++) {
      let s = hashOf(this.arena, this.start[id]!, this.start[id]! + this.len[id]!) & mask;
      while (slots[s]! >= 0) s = (s + 1) & mask;
      slots[s] = id;
    }
    this.slots = slots;
  }

  /** The cache's lines: each word with a shard, in the order added. */
  lines(): Buffer {
    let size = 0;
    for (let id = 0; id < this.count; id++) if (this.lo[id] || this.hi[id]) size += this.len[id]! + 2 + MASK_HEX;
    const out = Buffer.alloc(size);
    let at = 0;
    for (let id = 0; id < this.count; id++) {
      if (!this.lo[id] && !this.hi[id]) continue;
      at += this.arena.copy(out, at, this.start[id]!, this.start[id]! + this.len[id]!);
      out[at++] = 9;
      for (const x of [this.hi[id]!, this.lo[id]!]) for (let k = 28; k >= 0; k -= 4) out[at++] = HEX[(x >>> k) & 15]!;
      out[at++] = 10;
    }
    return out;
  }
}

/** FNV-1a of b[from, to). */
function hashOf(b: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h;
}

function grow<T extends Int32Array | Uint32Array>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}

/**
 * Adds the words of a dictionary block (lines `<key>\t<value>\n`) to `t` with shard `n`: keys of
 * ASCII letters, digits and `_` by their bytes, others when isWordTerm says they are words (a key
 * that needs quoting never is one).
 */
function addBlock(t: WordTable, raw: Uint8Array, n: number): void {
  const lo = n < 32 ? (1 << n) >>> 0 : 0, hi = n < 32 ? 0 : (1 << (n - 32)) >>> 0;
  const b = Buffer.from(raw.buffer, raw.byteOffset, raw.length);
  for (let at = 0; at < b.length;) {
    const nl = b.indexOf(10, at);
    if (nl < 0) break;
    let end = at;
    let ascii = true;
    let h = 0x811c9dc5;
    for (; end < nl; end++) {
      const c = b[end]!;
      if (c === 9) break;
      h = Math.imul(h ^ c, 0x01000193);
      if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95)) ascii = false;
    }
    if (end < nl && end > at && (ascii || (b[at] !== 34 && isWordTerm(b.toString("utf8", at, end))))) t.add(b, at, end, lo, hi, h);
    at = nl + 1;
  }
}


/** The words and their shards, as the cache's lines hold them. */
export class Words {
  constructor(private readonly body: Buffer) {}

  /**
   * For each needle, the words that contain it (in the cache's order) with the shards that hold each
   * (ascending); undefined when a line is not well formed (the caller makes the words again from
   * the dictionaries: loadWords with `useCache` false).
   */
  containing(needles: string[]): [string, number[]][][] | undefined {
    const b = this.body;
    const out: [string, number[]][][] = [];
    for (const needle of needles) {
      const found: [string, number[]][] = [];
      out.push(found);
      if (needle === "") continue;
      const bytes = Buffer.from(needle);
      for (let at = b.indexOf(bytes); at >= 0;) {
        const start = b.lastIndexOf(10, at) + 1;
        const tab = b.indexOf(9, start);
        const nl = tab < 0 ? -1 : b.indexOf(10, tab);
        if (tab < 0 || nl !== tab + 1 + MASK_HEX) return undefined;
        if (at + bytes.length <= tab) {
          const mask = maskAt(b, tab + 1);
          if (!mask) return undefined;
          const shards: number[] = [];
          for (let n = 0; n < 32; n++) if (mask[0] & (1 << n)) shards.push(n);
          for (let n = 0; n < 32; n++) if (mask[1] & (1 << n)) shards.push(32 + n);
          found.push([b.toString("utf8", start, tab), shards]);
        }
        at = b.indexOf(bytes, nl + 1);
      }
    }
    return out;
  }
}

/** The mask written at b[at, at + 16) as [shards 0-31, shards 32-63] (the hex has 32-63 first), or undefined when it is not lower-case hex. */
function maskAt(b: Buffer, at: number): [number, number] | undefined {
  let hi = 0, lo = 0;
  for (let i = 0; i < MASK_HEX; i++) {
    const v = HEX_VALUE[b[at + i]!]!;
    if (v < 0) return undefined;
    if (i < 8) hi = (hi << 4) | v; else lo = (lo << 4) | v;
  }
  return [lo, hi];
}

/** The cache on disk when it is sound: the index objects it names and its word lines. */
function readCache(profileDir: string): { shards: Map<number, string>; body: Buffer } | undefined {
  const raw = readRegularFile(wordsCachePath(profileDir), MAX_CACHE_BYTES);
  if (!raw) return undefined;
  let all: Buffer;
  try { all = Buffer.from(Bun.zstdDecompressSync(raw)); } catch { return undefined; }
  const file = readCacheFile(MAGIC, all);
  if (!file) return undefined;
  const { named, body } = file;
  const shards = new Map<number, string>();
  for (const [k, v] of Object.entries(named)) {
    const n = Number(k);
    if (!/^\d+$/.test(k) || n >= MASK_SHARDS || typeof v !== "string" || !SHA256.test(v)) return undefined;
    shards.set(n, v);
  }
  return { shards, body };
}

/**
 * The words of the index shards `want` names: the cache when it names exactly these objects,
 * else made from what it holds for the unchanged ones and the dictionaries of the others (read
 * through `read`), and written when `write`. With `useCache` false, made from the dictionaries
 * alone (a cache whose checksum held but whose lines do not). Shard numbers must be below 64.
 */
export function loadWords(profileDir: string, want: ShardObjects, read: ShardBlocks, write: boolean, useCache = true): Words {
  const old = useCache ? readCache(profileDir) : undefined;
  if (old && old.shards.size === want.size && [...want].every(([n, sha]) => old.shards.get(n) === sha)) return new Words(old.body);
  let t = new WordTable();
  let keepLo = 0, keepHi = 0;
  let fresh: number[] = [];
  for (const [n, sha] of want) {
    if (n < 0 || n >= MASK_SHARDS) throw new Error(`shard ${n} out of range for the words cache`);
    if (old?.shards.get(n) === sha) { if (n < 32) keepLo |= 1 << n; else keepHi |= 1 << (n - 32); }
    else fresh.push(n);
  }
  if (old && (keepLo || keepHi) && !keep(old.body, keepLo, keepHi, t)) { t = new WordTable(); fresh = [...want.keys()]; }
  for (const n of fresh.sort((a, b) => a - b)) read(n, (raw) => addBlock(t, raw, n));
  const body = t.lines();
  if (write) {
    const named = Object.fromEntries([...want].sort((a, b) => a[0] - b[0]).map(([n, sha]) => [String(n), sha]));
    writeCacheFile(wordsCachePath(profileDir), Bun.zstdCompressSync(cacheFileBytes(MAGIC, named, body), { level: 1 }));
  }
  return new Words(body);
}

/** Adds the cache's words that a kept shard holds to `t`, their masks narrowed to the kept shards; false when a line is not well formed. */
function keep(body: Buffer, keepLo: number, keepHi: number, t: WordTable): boolean {
  for (let at = 0; at < body.length;) {
    const tab = body.indexOf(9, at);
    if (tab <= at || tab + 1 + MASK_HEX >= body.length || body[tab + 1 + MASK_HEX] !== 10) return false;
    const mask = maskAt(body, tab + 1);
    if (!mask) return false;
    const lo = (mask[0] & keepLo) >>> 0, hi = (mask[1] & keepHi) >>> 0;
    if (lo || hi) t.add(body, at, tab, lo, hi);
    at = tab + 2 + MASK_HEX;
  }
  return true;
}

/**
 * Segments: immutable objects made of sorted key → value tables that a reader can look into
 * without decoding the whole object. The index and text shards of a run are segments.
 *
 *   bytes 0..7    "AGSEG01\n"
 *   bytes 8..11   header length H (u32, little-endian); bytes 12..15 its crc32
 *   16..16+H      header: JSON {schema_version, kind, shard, shards, stats, tables: {name: TableRoot}}
 *   then          blocks, addressed by [offset, length, crc32] relative to the end of the header
 *
 * Every block's address carries the crc32 of its stored bytes, checked on each read: a query reads
 * only some blocks, so damage anywhere it reads is found there (exit 5); `verify` re-hashes the whole object.
 *
 * A block is zstd (level 3 unless the writer says otherwise) of text lines `<key>\t<JSON value>\n`,
 * keys strictly ascending (a key holding a tab or newline, or starting with `"`, is written
 * JSON-quoted), cut at 8 KiB of text. A table with more blocks than fit in its root gets index blocks (the same
 * line format, values [offset, length, crc, …] of the block that starts with that key), level
 * above level, so a lookup reads the header, at most a couple of index blocks and one data block,
 * finds `\n<key>\t` in the block's text and parses just that value.
 *
 * Binary tables (postings, texts) pair each data block with a companion block: zstd of the
 * values of that block's keys back to back; a line's value is the length of its value in the
 * companion (its start is the sum of the lengths before it), cut at 16 KiB. A value over 1 KiB gets
 * a block of its own and the line holds [offset, length] instead (a common term's postings are
 * decompressed alone). So a lookup decompresses one small dictionary block and one companion block,
 * and the dictionary costs a few bytes per key. These sizes are the writer's (TableLayout: a table
 * may be cut finer); a reader follows the refs.
 *
 * Deterministic: the same entries give the same bytes. Reads use positioned reads on one file
 * descriptor per segment; a truncated or damaged segment is a corrupt object (exit 5).
 */
import { closeSync, readSync } from "node:fs";
import { openRegular } from "../shared/fs.ts";
import { sha256Hex } from "../shared/hash.ts";
import { quoted } from "../shared/printable.ts";
import { isBloom } from "./bloom.ts";
import { corrupt, unreadable, type EncodedObject } from "./objects.ts";

const MAGIC = "AGSEG01\n";
/** Magic, header length (u32 LE), header crc32 (u32 LE). */
const HEAD = MAGIC.length + 8;
const ZSTD_LEVEL = 3;
/**
 * How a table's blocks are cut (bytes before compression): `block`, a dictionary/data block (an
 * entry larger than this gets a block of its own); `companion`, a binary table's companion block;
 * `alone`, the size above which a binary value gets a block of its own. Writer-side only: a reader
 * follows whatever the refs say, so changing these changes no format.
 */
export type TableLayout = { block: number; companion: number; alone: number };
const LAYOUT: TableLayout = { block: 8 * 1024, companion: 16 * 1024, alone: 1024 };
/** Entries a table's root may hold in the header before an index level is added. */
const ROOT_FANOUT = 64;
const INDEX_FANOUT = 128;

/** [first key, offset, length, crc32] of a block; binary tables add [offset, length, crc32] of the companion block (-1 when none). */
type BlockRef = [string, number, number, number] | [string, number, number, number, number, number, number];
/** Where a block is: [offset, length, crc32 of the stored bytes]. */
type Addr = [number, number, number];
export type TableRoot = { count: number; levels: number; binary?: boolean; root: BlockRef[] };
export type SegmentHeader = { schema_version: string; kind: string; shard: number; shards?: number; stats: Record<string, unknown>; tables: Record<string, TableRoot> };

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });
/** For blocks, whose crc32 is checked first: a non-validating decode is about twice as fast. */
const blockText = new TextDecoder();

/**
 * A binary value stored alone in a segment: its bytes (`raw`), and its block as stored (`data`,
 * zstd at the segment's level) with the block's crc32. Given to encodeSegment by table and key, the
 * block is written as it was when the value to store is the same bytes (zstd gives the same block
 * for the same bytes and level, so the segment's bytes are those it would have made), instead of
 * compressing them again.
 */
export type StoredValue = { raw: Uint8Array; data: Uint8Array; crc: number };

/**
 * Builds a segment from text tables (values are JSON) and binary tables (values are bytes); each
 * table's entries sorted by key, keys unique. `opts.level`: the zstd level of every block (3 by
 * default); `opts.layout`: per table, how its blocks are cut (LAYOUT by default).
 */
export function encodeSegment(
  head: Omit<SegmentHeader, "tables">, tables: Record<string, [string, unknown][]>, binary: Record<string, [string, Uint8Array][]> = {},
  opts: { level?: number; layout?: Record<string, Partial<TableLayout>>; stored?: Record<string, Map<string, StoredValue>> } = {},
): EncodedObject {
  const blocks: Uint8Array[] = [];
  let offset = 0;
  const zstdLevel = opts.level ?? ZSTD_LEVEL;
  const putBytes = (bytes: Uint8Array): Addr => {
    const data = Bun.zstdCompressSync(bytes, { level: zstdLevel });
    blocks.push(data);
    const at = offset;
    offset += data.length;
    return [at, data.length, Bun.hash.crc32(data)];
  };
  const put = (text: string): Addr => putBytes(enc.encode(text));
  const roots: Record<string, TableRoot> = {};
  const names = [...new Set([...Object.keys(tables), ...Object.keys(binary)])].sort();
  for (const name of names) {
    if (tables[name] && binary[name]) throw new Error(`segment table ${name} is both binary and text`);
    const isBinary = binary[name] !== undefined;
    const reusable = opts.stored?.[name];
    /** A value stored alone as a previous segment of the same writer and level stored the same bytes: its block as it was. */
    const reuse = (key: string, bytes: Uint8Array): Addr | undefined => {
      const s = reusable?.get(key);
      if (!s || s.raw.length !== bytes.length || Buffer.compare(s.raw, bytes) !== 0) return undefined;
      blocks.push(s.data);
      const at = offset;
      offset += s.data.length;
      return [at, s.data.length, s.crc];
    };
    const entries: [string, unknown][] = tables[name] ?? binary[name]!;
    const { block: BLOCK_BYTES, companion: COMPANION_BYTES, alone: ALONE_BYTES } = { ...LAYOUT, ...opts.layout?.[name] };
    let level: BlockRef[] = [];
    let text = "";
    let first: string | undefined;
    let prev: string | undefined;
    let companion: Uint8Array[] = [];
    let companionSize = 0;
    const flush = () => {
      if (!text) return;
      const [o, l, c] = put(text);
      if (!isBinary) level.push([first!, o, l, c]);
      else if (companionSize === 0) level.push([first!, o, l, c, -1, -1, -1]);
      else {
        const all = new Uint8Array(companionSize);
        let at = 0;
        for (const c of companion) { all.set(c, at); at += c.length; }
        level.push([first!, o, l, c, ...putBytes(all)]);
      }
      text = "";
      companion = [];
      companionSize = 0;
    };
    for (const [key, value] of entries) {
      if (prev !== undefined && !(key > prev)) throw new Error(`segment table ${name}: keys not ascending at ${JSON.stringify(key)}`);
      prev = key;
      let v: string;
      if (!isBinary) v = JSON.stringify(value);
      else {
        const bytes = value as Uint8Array;
        if (bytes.length > ALONE_BYTES) v = `[${(reuse(key, bytes) ?? putBytes(bytes)).join(",")}]`;
        else {
          if (companionSize && companionSize + bytes.length > COMPANION_BYTES) flush();
          companion.push(bytes);
          companionSize += bytes.length;
          v = String(bytes.length);
        }
      }
      const line = `${keyText(key)}\t${v}\n`;
      if (text && text.length + line.length > BLOCK_BYTES) {
        // Keep the value just added to the companion with its line: move it to the next block.
        if (isBinary && !v.startsWith("[")) { companion.pop(); companionSize -= (value as Uint8Array).length; flush(); companion.push(value as Uint8Array); companionSize += (value as Uint8Array).length; }
        else flush();
      }
      if (!text) first = key;
      text += line;
    }
    flush();
    let levels = 0;
    while (level.length > ROOT_FANOUT) {
      const up: BlockRef[] = [];
      for (let i = 0; i < level.length; i += INDEX_FANOUT) {
        const group = level.slice(i, i + INDEX_FANOUT);
        up.push([group[0]![0], ...put(group.map(([k, ...rest]) => `${keyText(k)}\t[${rest.join(",")}]\n`).join(""))]);
      }
      level = up;
      levels++;
    }
    roots[name] = { count: entries.length, levels, ...(isBinary ? { binary: true } : {}), root: level };
  }
  const header = enc.encode(JSON.stringify({ ...head, tables: roots }));
  const total = HEAD + header.length + offset;
  const out = new Uint8Array(total);
  out.set(enc.encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(MAGIC.length, header.length, true);
  new DataView(out.buffer).setUint32(MAGIC.length + 4, Bun.hash.crc32(header), true);
  out.set(header, HEAD);
  let at = HEAD + header.length;
  for (const b of blocks) { out.set(b, at); at += b.length; }
  return { sha256: sha256Hex(out), bytes: out.length, data: out };
}

/** Is this object a segment (rather than an older whole-zstd JSON object)? */
const MAGIC_BYTES = enc.encode(MAGIC);
export const isSegment = (bytes: Uint8Array) => bytes.length >= HEAD && MAGIC_BYTES.every((b, i) => bytes[i] === b);

/**
 * Reads every block of a segment (checksums, decompression, line format, key order): what is wrong,
 * or undefined when it is sound. `verify` calls it for the current format's index and text objects.
 */
export function checkSegment(path: string): { problem: string } | { header: SegmentHeader } {
  let seg: Segment;
  try { seg = new Segment(path); } catch (e) { return { problem: (e as Error).message }; }
  const problem = checkTables(seg);
  return problem === undefined ? { header: seg.header } : { problem };
}

/** checkSegment's walk of one open segment's tables (it closes the segment). */
function checkTables(seg: Segment): string | undefined {
  try {
    for (const [name, t] of Object.entries(seg.header.tables)) {
      let prev: string | undefined;
      let n = 0;
      const rows = t.binary ? seg.rangeBytes(name) : seg.range<unknown>(name);
      for (const [k, v] of rows) {
        if (prev !== undefined && !(k > prev)) return `table ${name}: keys out of order at ${JSON.stringify(k)}`;
        // A bloom filter that is not one fails the reads that ask it (exit 5): verify says so too.
        if (name === "filters" && v instanceof Uint8Array && !isBloom(v)) return `table filters: the filter of ${JSON.stringify(k)} is not a bloom filter`;
        prev = k;
        n++;
      }
      if (n !== t.count) return `table ${name}: ${n} entries, header says ${t.count}`;
    }
    return undefined;
  } catch (e) {
    return `table data: ${(e as Error).message}`;
  } finally { seg.close(); }
}

/**
 * What is wrong with a segment's header for the artifact it is listed as (`index/NN`, `text/NN`),
 * or undefined when its kind and shard are the name's. The object's name is its hash, so a
 * manifest listing an object under another artifact's name is only seen here: read as that shard,
 * it would answer with another shard's documents or fail on tables it does not have.
 */
export function artifactMismatch(header: SegmentHeader, name: string): string | undefined {
  const m = /^(index|text)\/(\d+)$/.exec(name);
  if (!m) return undefined;
  const kind = typeof header.kind === "string" ? header.kind : undefined;
  if (kind === m[1] && header.shard === Number(m[2])) return undefined;
  const shard = Number.isInteger(header.shard) ? String(header.shard).padStart(2, "0") : "?";
  const what = kind === "index" || kind === "text" ? `${kind}/${shard}` : kind === undefined ? "a segment without a kind" : `a segment of kind ${quoted(kind)}`;
  return `artifact ${name} holds ${what}`;
}

/** A key as written in a block: as is, or JSON-quoted when it holds a tab or newline or starts with a quote. */
const keyText = (k: string) => (k.charCodeAt(0) === 34 || k.includes("\t") || k.includes("\n") || k === "" ? JSON.stringify(k) : k);

/** Binary search over `count` keys in order (`keyAt`): the last index whose key is <= key; -1 when none. */
function lastAtOrBefore(count: number, keyAt: (i: number) => string, key: string): number {
  let lo = 0;
  let hi = count - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (keyAt(mid) <= key) { ans = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return ans;
}
/** The last of `refs` whose first key is <= key; -1 when none. */
const lastRefAtOrBefore = (refs: readonly BlockRef[], key: string) => lastAtOrBefore(refs.length, (i) => refs[i]![0], key);

/** An index block line's value ([offset, length, crc, …]) as the ref of the block starting at `key`. */
function parseRef(key: string, value: string, path: string): BlockRef {
  let nums: unknown;
  try { nums = JSON.parse(value); } catch { throw corrupt(path); }
  if (!Array.isArray(nums) || (nums.length !== 3 && nums.length !== 6)) throw corrupt(path);
  return [key, ...nums] as BlockRef;
}

/** A key as a block line holds it, read back (see keyText); a JSON-quoted one that does not parse is a corrupt object. */
function unquoteKey(k: string, path: string): string {
  if (k.charCodeAt(0) !== 34) return k;
  try { return JSON.parse(k) as string; } catch { throw corrupt(path); }
}

/** Parses a block's lines into [key, raw value] pairs (values left as JSON text). */
function lines(text: string, path: string): [string, string][] {
  const out: [string, string][] = [];
  let at = 0;
  while (at < text.length) {
    const nl = text.indexOf("\n", at);
    const tab = text.indexOf("\t", at);
    if (nl < 0 || tab < 0 || tab > nl) throw corrupt(path);
    out.push([unquoteKey(text.slice(at, tab), path), text.slice(tab + 1, nl)]);
    at = nl + 1;
  }
  return out;
}

/**
 * An index block's lines, found by where they start (one native search per line) and split only
 * when a lookup probes them: splitting every line of every index block a query passes (two strings
 * a line, 128 lines a block, a block per term and shard) was most of a lookup's time. A prefix
 * search reads a data block's keys the same way (keysWithPrefix; `ref` is for index blocks only).
 */
class IndexBlock {
  /** Where each line starts, and one past the last line's end. */
  private readonly starts: number[] = [];
  private readonly keys: (string | undefined)[] = [];
  private readonly refs: (BlockRef | undefined)[] = [];
  constructor(private readonly text: string, private readonly path: string) {
    for (let at = 0; at < text.length;) {
      this.starts.push(at);
      const nl = text.indexOf("\n", at);
      if (nl < 0) throw corrupt(path);
      at = nl + 1;
    }
    this.starts.push(text.length);
  }
  get count(): number { return this.starts.length - 1; }
  /** Where line j's tab is (its key ends there). */
  private tab(j: number): number {
    const tab = this.text.indexOf("\t", this.starts[j]!);
    if (tab < 0 || tab >= this.starts[j + 1]!) throw corrupt(this.path);
    return tab;
  }
  key(j: number): string {
    let k = this.keys[j];
    if (k === undefined) {
      k = unquoteKey(this.text.slice(this.starts[j]!, this.tab(j)), this.path);
      this.keys[j] = k;
    }
    return k;
  }
  ref(j: number): BlockRef {
    return (this.refs[j] ??= parseRef(this.key(j), this.text.slice(this.tab(j) + 1, this.starts[j + 1]! - 1), this.path));
  }
  /** The last line whose key is <= key; -1 when none. */
  lastAtOrBefore(key: string): number { return lastAtOrBefore(this.count, (j) => this.key(j), key); }
}

/**
 * What the open segments' block caches may hold together, roughly (a string counts two bytes a
 * character): past it every open segment's caches are dropped and refilled as blocks are read
 * again. A query or a walk reads a few MB; a query with `--limit 20000` read every block of a
 * workspace's records and texts and kept them all (1.2 GB peak on corpus-2000, 55 KB a hit).
 */
export const SEGMENT_CACHE_BYTES = 64 * 1024 * 1024;
const openSegments = new Set<Segment>();
let cachedBytes = 0;
function charge(bytes: number): void {
  cachedBytes += bytes;
  if (cachedBytes <= SEGMENT_CACHE_BYTES) return;
  for (const s of openSegments) s.dropCaches();
  cachedBytes = 0;
}

/** A read handle on one segment file. Close it when done. */
export class Segment {
  readonly header: SegmentHeader;
  private readonly fd: number;
  private readonly base: number;
  private readonly size: number;
  private readonly cache = new Map<number, string>();
  private readonly binCache = new Map<number, Uint8Array>();
  private readonly indexCache = new Map<number, IndexBlock>();
  /** Data blocks split into entries, for ranges (a prefix search walks the same dictionary blocks again). */
  private readonly linesCache = new Map<number, [string, string][]>();

  constructor(readonly path: string) {
    let fd: number, size: number;
    try { ({ fd, size } = openRegular(path)); } catch (e) { throw unreadable(path, e); }
    this.fd = fd;
    this.size = size;
    try {
      const first = new Uint8Array(Math.min(this.size, 8 * 1024));
      readSync(fd, first, 0, first.length, 0);
      if (!isSegment(first)) throw new Error("no segment magic");
      const view = new DataView(first.buffer);
      const hlen = view.getUint32(MAGIC.length, true);
      this.base = HEAD + hlen;
      if (this.base > this.size) throw new Error("truncated header");
      let hb = first.subarray(HEAD, this.base);
      if (this.base > first.length) { hb = new Uint8Array(hlen); readSync(fd, hb, 0, hlen, HEAD); }
      if (Bun.hash.crc32(hb) !== view.getUint32(MAGIC.length + 4, true)) throw new Error("header checksum");
      this.header = JSON.parse(dec.decode(hb)) as SegmentHeader;
      if (typeof this.header !== "object" || !this.header.tables) throw new Error("bad header");
    } catch (e) {
      closeSync(fd);
      // A read that fails (a directory in its place, an I/O error) is not a corrupt object.
      throw (e as NodeJS.ErrnoException).code ? unreadable(path, e) : corrupt(path);
    }
    openSegments.add(this);
  }

  close(): void {
    openSegments.delete(this);
    try { closeSync(this.fd); } catch {}
  }

  /** Empties the block caches (see SEGMENT_CACHE_BYTES). */
  dropCaches(): void {
    this.cache.clear();
    this.binCache.clear();
    this.indexCache.clear();
    this.linesCache.clear();
  }

  /** A block as stored (compressed), its checksum checked. */
  private stored(offset: number, length: number, crc: number): Uint8Array {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length <= 0 || this.base + offset + length > this.size) throw corrupt(this.path);
    const buf = new Uint8Array(length);
    try {
      if (readSync(this.fd, buf, 0, length, this.base + offset) !== length) throw new Error("short read");
      if (Bun.hash.crc32(buf) !== crc) throw new Error("checksum");
      return buf;
    } catch { throw corrupt(this.path); }
  }

  private read(offset: number, length: number, crc: number): Uint8Array {
    const buf = this.stored(offset, length, crc);
    try { return Bun.zstdDecompressSync(buf); } catch { throw corrupt(this.path); }
  }

  private block(offset: number, length: number, crc: number, keep = true): string {
    let text = this.cache.get(offset);
    if (text === undefined) {
      text = blockText.decode(this.read(offset, length, crc));
      if (keep) { charge(text.length * 2); this.cache.set(offset, text); }
    }
    return text;
  }

  private rawBlock(offset: number, length: number, crc: number, keep = true): Uint8Array {
    let b = this.binCache.get(offset);
    if (!b) { b = this.read(offset, length, crc); if (keep) { charge(b.byteLength); this.binCache.set(offset, b); } }
    return b;
  }

  /** The data block that would hold `key` and its ref (undefined when the key sorts before all). */
  private dataBlockFor(t: TableRoot, key: string): { text: string; ref: BlockRef } | undefined {
    const i = lastRefAtOrBefore(t.root, key);
    if (i < 0) return undefined;
    let ref = t.root[i]!;
    for (let level = t.levels; level > 0; level--) {
      // A lookup reads only the lines its binary search probes and parses only the ref it follows,
      // not the whole index block (every query looks a term up in every shard).
      const ix = this.indexEntries(ref);
      const j = ix.lastAtOrBefore(key);
      if (j < 0) return undefined;
      ref = ix.ref(j);
    }
    return { text: this.block(ref[1], ref[2], ref[3]), ref };
  }

  /** An index block, or a data block whose keys are searched (read once per handle; its lines are split as they are probed). */
  private indexEntries(ref: BlockRef): IndexBlock {
    let ix = this.indexCache.get(ref[1]);
    if (!ix) {
      const text = this.block(ref[1], ref[2], ref[3], false);
      ix = new IndexBlock(text, this.path);
      charge(text.length * 2);
      this.indexCache.set(ref[1], ix);
    }
    return ix;
  }

  /** The refs of an index block, all parsed (whole-table walks). */
  private indexBlock(ref: BlockRef): BlockRef[] {
    const ix = this.indexEntries(ref);
    return Array.from({ length: ix.count }, (_, j) => ix.ref(j));
  }

  /** The raw value text of `key` in its block, and the line's start. */
  private find(table: string, key: string): { raw: string; at: number; text: string; ref: BlockRef } | undefined {
    const t = this.header.tables[table];
    if (!t || t.count === 0) return undefined;
    const b = this.dataBlockFor(t, key);
    if (!b) return undefined;
    const needle = `${keyText(key)}\t`;
    const at = b.text.startsWith(needle) ? 0 : b.text.indexOf(`\n${needle}`) + 1;
    if (at === 0 && !b.text.startsWith(needle)) return undefined;
    const start = at + needle.length;
    const nl = b.text.indexOf("\n", start);
    if (nl < 0) throw corrupt(this.path);
    return { raw: b.text.slice(start, nl), at, text: b.text, ref: b.ref };
  }

  /** Whether a table holds `key` (its value is not parsed). */
  has(table: string, key: string): boolean { return this.find(table, key) !== undefined; }

  /** The value stored under `key` in a text table, or undefined. */
  get<T>(table: string, key: string): T | undefined {
    const f = this.find(table, key);
    if (!f) return undefined;
    try { return JSON.parse(f.raw) as T; } catch { throw corrupt(this.path); }
  }

  /**
   * The bytes stored under `key` in a binary table, or undefined. `keep: false` does not cache the
   * block the value is read from (the caller keeps what it decodes from it).
   */
  bytes(table: string, key: string, keep = true): Uint8Array | undefined {
    const f = this.find(table, key);
    if (!f) return undefined;
    if (f.raw.startsWith("[")) {
      const [o, l, c] = JSON.parse(f.raw) as Addr;
      return this.rawBlock(o, l, c, keep);
    }
    // Inline: the start is the sum of the inline lengths before this line in the block.
    let start = 0;
    for (let at = 0; at < f.at;) {
      const tab = f.text.indexOf("\t", at);
      const nl = f.text.indexOf("\n", tab);
      const v = f.text.slice(tab + 1, nl);
      if (!v.startsWith("[")) start += Number(v);
      at = nl + 1;
    }
    return this.companion(f.ref, start, Number(f.raw), keep);
  }

  private companion(ref: BlockRef, start: number, length: number, keep = true): Uint8Array {
    if (length === 0) return new Uint8Array(0);
    if (ref.length !== 7 || ref[4] < 0) throw corrupt(this.path);
    const block = this.rawBlock(ref[4], ref[5], ref[6], keep);
    if (!Number.isInteger(start) || !Number.isInteger(length) || start + length > block.length) throw corrupt(this.path);
    return block.subarray(start, start + length);
  }

  /** Entries of a text table with from <= key < to, in key order (all entries without bounds). */
  *range<T>(table: string, from = "", to?: string): Generator<[string, T]> {
    for (const [k, raw] of this.rawRange(table, from, to)) {
      let v: T;
      try { v = JSON.parse(raw.value) as T; } catch { throw corrupt(this.path); }
      yield [k, v];
    }
  }

  /**
   * Every line of every data block of a table, in key order, passed to `fn` with the block's text
   * and ref and where the line's tab and newline are: a whole-table walk without a generator step
   * per entry, without keeping the blocks, and checked against the header's count (allKeys and
   * eachBytes are built on it).
   */
  private eachLine(table: string, fn: (key: string, text: string, tab: number, nl: number, ref: BlockRef) => void): void {
    const t = this.header.tables[table];
    if (!t || t.count === 0) return;
    let n = 0;
    this.eachDataRef(t, (ref) => {
      const text = this.block(ref[1], ref[2], ref[3], false);
      for (let at = 0; at < text.length;) {
        const tab = text.indexOf("\t", at);
        const nl = text.indexOf("\n", at);
        if (tab < 0 || nl < 0 || tab > nl) throw corrupt(this.path);
        fn(unquoteKey(text.slice(at, tab), this.path), text, tab, nl, ref);
        n++;
        at = nl + 1;
      }
    });
    if (n !== t.count) throw corrupt(this.path);
  }

  /**
   * Every data block of a table, decompressed, in key order (not cached): for a caller that reads
   * a whole dictionary once (query/words.ts). Each block is lines `<key>\t<value>\n`, see above.
   */
  eachDataBlock(table: string, fn: (raw: Uint8Array) => void): void {
    const t = this.header.tables[table];
    if (!t || t.count === 0) return;
    this.eachDataRef(t, (ref) => fn(this.read(ref[1], ref[2], ref[3])));
  }

  /** The refs of a table's data blocks, in key order, through its index levels. */
  private eachDataRef(t: TableRoot, fn: (ref: BlockRef) => void): void {
    const visit = (refs: BlockRef[], level: number): void => {
      for (const ref of refs) if (level > 0) visit(this.indexBlock(ref), level - 1); else fn(ref);
    };
    visit(t.root, t.levels);
  }

  /**
   * Every key of a table in order (an incremental run reads clean shards' keys this way, once).
   */
  allKeys(table: string): string[] {
    const out: string[] = [];
    this.eachLine(table, (k) => { out.push(k); });
    return out;
  }

  /**
   * Every entry of a binary table in key order, passed to `fn` (the value is a view of its
   * decompressed block, which is not cached; a value stored alone comes with its block as stored,
   * see StoredValue). An incremental run walks a rebuilt shard's previous postings and texts this way.
   */
  eachBytes(table: string, fn: (key: string, value: Uint8Array, stored?: { data: Uint8Array; crc: number }) => void): void {
    const t = this.header.tables[table];
    if (t && t.count > 0 && !t.binary) throw corrupt(this.path);
    // The companion block of the data block being walked, and where the next inline value starts in it.
    let block: BlockRef | undefined;
    let companion: Uint8Array | undefined;
    let start = 0;
    this.eachLine(table, (k, text, tab, nl, ref) => {
      if (ref !== block) { block = ref; companion = undefined; start = 0; }
      if (text.charCodeAt(tab + 1) === 91) { // "[": a value stored alone
        let addr: Addr;
        try { addr = JSON.parse(text.slice(tab + 1, nl)) as Addr; } catch { throw corrupt(this.path); }
        const data = this.stored(addr[0], addr[1], addr[2]);
        let value: Uint8Array;
        try { value = Bun.zstdDecompressSync(data); } catch { throw corrupt(this.path); }
        fn(k, value, { data, crc: addr[2] });
        return;
      }
      const length = Number(text.slice(tab + 1, nl));
      if (!Number.isInteger(length) || length < 0) throw corrupt(this.path);
      if (length === 0) { fn(k, new Uint8Array(0)); return; }
      if (ref.length !== 7 || ref[4] < 0) throw corrupt(this.path);
      companion ??= this.rawBlock(ref[4], ref[5], ref[6], false);
      if (start + length > companion.length) throw corrupt(this.path);
      fn(k, companion.subarray(start, start + length));
      start += length;
    });
  }

  /**
   * Up to `max` keys of a table that start with `prefix`, from `from` on (a key >= prefix), in
   * order: a binary search in the data block that would hold `from`, over its line starts, then
   * the following lines (a prefix search asks every shard's dictionary, and splitting each block it
   * touches into entries, through three generators, was most of its time). A range that runs past
   * that block goes on through `keys`.
   */
  keysWithPrefix(table: string, prefix: string, max: number, from = prefix): string[] {
    const t = this.header.tables[table];
    const out: string[] = [];
    if (!t || t.count === 0 || max <= 0) return out;
    const end = prefix + "\uffff"; // the range's end, as `keys` is asked for it
    const b = this.dataBlockFor(t, from);
    let next = from;
    if (b) {
      const lines = this.indexEntries(b.ref); // a data block's lines, as an index block's are read
      let j = lines.lastAtOrBefore(from);
      if (j < 0 || lines.key(j) < from) j++;
      for (; j < lines.count; j++) {
        const k = lines.key(j);
        if (!k.startsWith(prefix) || k >= end) return out;
        out.push(k);
        if (out.length >= max) return out; // no block past the last key wanted is read
      }
      // The block ends inside the range (or before it): the rest is in the blocks after it.
      const last = lines.count > 0 ? lines.key(lines.count - 1) + "\u0000" : from;
      next = last > from ? last : from;
    }
    for (const k of this.keys(table, next, end)) {
      out.push(k);
      if (out.length >= max) break;
    }
    return out;
  }

  /** Keys of any table with from <= key < to. */
  *keys(table: string, from = "", to?: string): Generator<string> {
    for (const [k] of this.rawRange(table, from, to)) yield k;
  }

  /** Entries of a binary table with from <= key < to, as bytes. */
  *rangeBytes(table: string, from = "", to?: string): Generator<[string, Uint8Array]> {
    for (const [k, raw] of this.rawRange(table, from, to)) {
      if (raw.value.startsWith("[")) { const [o, l, c] = JSON.parse(raw.value) as Addr; yield [k, this.rawBlock(o, l, c)]; }
      else yield [k, this.companion(raw.ref, raw.start, Number(raw.value))];
    }
  }

  private *rawRange(table: string, from: string, to?: string): Generator<[string, { value: string; ref: BlockRef; start: number }]> {
    const t = this.header.tables[table];
    if (!t || t.count === 0) return;
    for (const { text, ref } of this.dataBlocksFrom(t, from)) {
      let entries = this.linesCache.get(ref[1]);
      if (!entries) {
        entries = lines(text, this.path);
        charge(text.length * 2 + entries.length * 64);
        this.linesCache.set(ref[1], entries);
      }
      let start = 0;
      for (const [k, value] of entries) {
        const here = start;
        if (t.binary && !value.startsWith("[")) start += Number(value);
        if (k < from) continue;
        if (to !== undefined && k >= to) return;
        yield [k, { value, ref, start: here }];
      }
    }
  }

  /** Data blocks in key order, starting with the one that would hold `from`. */
  private *dataBlocksFrom(t: TableRoot, from: string): Generator<{ text: string; ref: BlockRef }> {
    const walk = function* (this: Segment, refs: BlockRef[], level: number, first: boolean): Generator<{ text: string; ref: BlockRef }> {
      const start = first ? Math.max(0, lastRefAtOrBefore(refs, from)) : 0;
      for (let i = start; i < refs.length; i++) {
        if (level === 0) yield { text: this.block(refs[i]![1], refs[i]![2], refs[i]![3]), ref: refs[i]! };
        else yield* walk.call(this, this.indexBlock(refs[i]!), level - 1, first && i === start);
      }
    };
    yield* walk.call(this, t.root, t.levels, true);
  }
}

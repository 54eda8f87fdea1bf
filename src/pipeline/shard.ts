/**
 * Building one shard: read its files, record each (sha256, bytes, status, reason), and for the
 * readable ones normalize → redact → extract, reusing the previous run's entry and text for a file
 * whose content did not change. Produces the shard's two segments (see store/segment.ts):
 *
 *   index/NN  tables  docs   "000012" → the file's entry (path, title, sections, chunks, …), by ordinal (path order)
 *                     ids    doc key (20 hex) → ordinal
 *                     terms  term → chunk postings (the inverted index), binary
 *                     ents   term → entity postings (names of documents, sections, decisions, claims, …), binary
 *                     entities "000012" → [type code, ordinal, line, node id] of a shared entity
 *                     entdocs "all" → per document, its entities beyond itself (sections, decision, claims)
 *                     keys   "all" → the documents' keys (20 hex each) in ordinal order, binary
 *                     paths  "all" → the documents' paths in ordinal order, NUL-separated, binary
 *                     chunks "all" → per document: ordinal, chunk count, core length of each chunk (varints)
 *                     chunklens "all" → the same lengths as u32 LE: docs, each ordinal's first chunk (docs + 1), each length
 *                     spans  "000012" → the document's chunk spans: per chunk Δstart, length, Δline, line count (varints)
 *                     meta   "000012" → path, title, kind, front matter, tags, code spans (no chunks)
 *                     tags   front-matter tag → [ordinal…] of the documents that have it
 *                     global tech_/ref_/mod_ id → {type, name, in: [[ordinal, line]…]} (mentions and imports from this shard)
 *                     links  target path → [[ordinal, line]…] (relative links from this shard)
 *                     symbols symbol name (and Container.name of a member) → [[path, index, line, exported, member]…]
 *                     symrefs name → [[ordinal, line]…] (markdown code spans naming a symbol, resolved when read)
 *             stats   docs, chunks, chunk_terms, ents, ent_terms, nodes/edges by type
 *   text/NN   table   text   path NUL page → normalized, redacted text in pages of 32,768 UTF-16 units (UTF-8, binary)
 *
 * `terms` and `ents` are binary tables of varint postings (formats: PostingsBuilder.encode and
 * EntityBuilder below); positions are base-term ordinals in the document. `entities` holds
 * entity ordinal → [node id, document ordinal, line(, mentioning document key)].
 *
 * Runs in a worker for full runs and inline for small incremental ones; the bytes are the same.
 */
import { closeSync, readFileSync } from "node:fs";
import { openRegular } from "../shared/fs.ts";
import { posix } from "node:path";
import type { Detector } from "../config/schema.ts";
import { ARTIFACT_SCHEMA_VERSION } from "../schema/version.ts";
import { sha256Hex } from "../shared/hash.ts";
import { group } from "../shared/maps.ts";
import type { FileRecord } from "../store/manifest.ts";
import { objectPath } from "../store/layout.ts";
import { corrupt, type EncodedObject } from "../store/objects.ts";
import { bloomOf, FILTER_TABLES } from "../store/bloom.ts";
import { encodeSegment, Segment, type StoredValue } from "../store/segment.ts";
import { documentText, isDocumentPath, type DocumentText } from "./documents/index.ts";
import type { FileSymbols } from "./symbols/index.ts";
import { docId, extractFile, modId, refId, symId, techId, type FileEntry } from "./extract.ts";
import type { SkipReason } from "./scan.ts";
import { makeRedactor, normalizeText } from "./text.ts";
import { VarintReader, VarintWriter } from "../store/varint.ts";
import { FIELD_CODE, FIELD_HEADING, indexTerms, MAX_TERM, nameTerms, type DocTerms } from "./tokens.ts";

/**
 * How many shards a run has: one per ~64 files, a power of two from 4 to 64 (a pure function of
 * the number of files, so that the same inputs give the same run). Fewer shards for a small
 * workspace make a query read fewer segments; at most 64 keep a one-file change rewriting at most
 * a 64th of the index. Crossing a power of two re-shards once (nothing reused that run).
 */
export const MAX_SHARDS = 64;
export function shardCount(files: number): number {
  let n = 4;
  while (n < MAX_SHARDS && files > n * 64) n *= 2;
  return n;
}
export const shardOfKey = (key: string, shards: number) => parseInt(key.slice(0, 2), 16) % shards;
export const shardOf = (path: string, shards: number) => shardOfKey(docId(path).slice(4), shards);
export const shardName = (kind: "index" | "text", n: number) => `${kind}/${String(n).padStart(2, "0")}`;
export const ordKey = (ord: number) => String(ord).padStart(6, "0");
/** Texts are stored in pages of this many UTF-16 code units, so a hit reads only the pages it shows. */
export const TEXT_PAGE = 32768;
/**
 * Every query looks each of its terms up in every shard, so the `terms` table's companion blocks
 * (postings of rare terms, back to back) are cut at 4 KiB and postings over 512 bytes stand alone:
 * a lookup decompresses about a third of what 16 KiB / 1 KiB cost (corpus-2000, "event loop": 309 kB
 * instead of 933 kB), for about 450 kB more store; the text pages, read only for the hits shown, are
 * compressed at zstd level 6 instead of 3, which gives about 400 kB back (corpus-2000). Pages up to
 * 8 KiB (small files) are compressed together, up to 32 KiB at a time, instead of one by one: a
 * kilobyte-sized page alone shrinks to about half, together to about a third (100,000 generated
 * small files: text 58 MB -> 41 MB), for a hit that decompresses up to 32 KiB to show one.
 */
const TERMS_LAYOUT = { companion: 4096, alone: 512 };
const TEXT_LAYOUT = { companion: 32 * 1024, alone: 8 * 1024 };
const TEXT_LEVEL = 6;
/** A text page's key: the path, a NUL (sorts first: a path's pages stay together), the page number. */
export const pageKey = (path: string, page: number) => `${path}\0${String(page).padStart(6, "0")}`;

/** A chunk as stored: [start offset, end offset, first line, last line, length in terms, first term position]. */
export type StoredChunk = [number, number, number, number, number, number];
/** A document as the index stores it. */
export type DocRecord = Omit<FileEntry, "chunks"> & { path: string; chunks: StoredChunk[] };
/** A mention or link from a document of the shard: [ordinal, line] (the document's key: table `keys`). */
export type Mention = [number, number];
export type GlobalRecord = { type: "technology" | "reference" | "module"; name: string; in: Mention[] };
/** A symbol definition as the `symbols` table holds it under its name: [path, index in the document's symbols, line, exported 1/0, member 1/0]. */
export type SymbolEntry = [string, number, number, number, number];
/** What lists, filters and node summaries need of a document, without its chunks and sections. */
export type DocMeta = Pick<FileEntry, "kind" | "title" | "frontmatter" | "code_spans" | "pages"> & { path: string; tags?: string[] };
export type ShardStats = {
  docs: number; chunks: number; chunk_terms: number; ents: number; ent_terms: number;
  /** Nodes of this shard's documents by type (technology and reference nodes are shared: see `globals`). */
  types: Record<string, number>;
  /** Edges from this shard's documents by type (links_to not included: resolved across shards). */
  edges: Record<string, number>;
};

export type ShardTask = {
  shard: number;
  /** How many shards the run has. */
  shards: number;
  profileDir: string;
  /**
   * Sorted by path. `prevSha`: the file's sha256 in the previous run, if its entry may be reused.
   * `same`: the plan found the file as the previous run ingested it (the stat cache vouched for it,
   * or it was hashed to `prevSha`): its entry is taken from the previous objects without reading it.
   */
  files: { path: string; abs: string; bytes: number; prevSha?: string; same?: boolean }[];
  /** The previous run's objects for this shard, if entries may be reused. */
  prev?: { index: string; text: string };
  settings: { maxBytes: number; maxDocBytes: number; symbols: boolean; chunkTokens: number; overlapTokens: number; redaction: { enabled: boolean; detectors: Detector[] } };
};

/**
 * What the run needs to count the whole graph: the shared node ids the shard mentions and the
 * target path of each of its links (one per linking document and target, never the document itself).
 */
export type ShardSummary = {
  globals: string[]; links: string[];
  /**
   * Each name the shard's symbols are found by (table `symbols`) with the shard's best definition
   * of it (symbolOrder), and [document ordinal, name] of each markdown code span naming a symbol:
   * a document's `mentions` edges are its names' distinct resolved symbols.
   */
  symbols: [string, SymbolEntry][]; symrefs: [number, string][];
};

/**
 * Which definition a symbol name resolves to when several files define it: exported before not,
 * top-level before members, then by path and line. Negative when `a` comes first. A total order, so
 * the best over the shards is the best of each shard's best.
 */
export function symbolOrder(a: SymbolEntry, b: SymbolEntry): number {
  return b[3] - a[3] || a[4] - b[4] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0) || a[2] - b[2];
}

/** The id of the symbol a definition entry names. */
export const symbolIdOf = (e: SymbolEntry) => `sym_${docId(e[0]).slice(4)}_${e[1]}`;

/** Each symbol name's best definition over the given shard summaries (a name's resolution, see symbolOrder). */
export function bestSymbols(summaries: Iterable<Pick<ShardSummary, "symbols">>): Map<string, SymbolEntry> {
  const best = new Map<string, SymbolEntry>();
  for (const s of summaries) for (const [name, e] of s.symbols) { const b = best.get(name); if (!b || symbolOrder(e, b) < 0) best.set(name, e); }
  return best;
}

/** The `mentions` edges the given shards' markdown code spans make, names resolved with `best`: a document's distinct resolved symbols. */
export function symbolMentionsOf(summaries: Iterable<Pick<ShardSummary, "symrefs">>, best: Map<string, SymbolEntry>): number {
  let n = 0;
  for (const s of summaries) {
    const byDoc = new Map<number, Set<string>>();
    for (const [ord, name] of s.symrefs) {
      const e = best.get(name);
      if (!e) continue;
      let set = byDoc.get(ord);
      if (!set) { set = new Set(); byDoc.set(ord, set); }
      set.add(symbolIdOf(e));
    }
    for (const set of byDoc.values()) n += set.size;
  }
  return n;
}

/** The number of `mentions` edges from markdown code spans to symbols, over the run's shard summaries (what the graph holds). */
export function countSymbolMentions(summaries: Pick<ShardSummary, "symbols" | "symrefs">[]): number {
  return symbolMentionsOf(summaries, bestSymbols(summaries));
}

export type ShardResult = {
  shard: number;
  records: FileRecord[];
  objects?: { index: EncodedObject; text: EncodedObject; counts: Record<string, number> };
  summary?: ShardSummary;
  processed: number;
  reused: number;
};

const utf8 = new TextDecoder("utf-8", { fatal: true });

export type ReadResult = { sha256?: string; bytes: number; skip?: SkipReason; text?: string; raw?: Uint8Array };

/**
 * Reads one source file and classifies it; never throws. A PDF or Word document (`document`) is
 * returned as bytes (`raw`): its text is extracted later (documents/), so no binary check here.
 */
export function readSource(abs: string, statBytes: number, maxBytes: number, document = false): ReadResult {
  let buf: Buffer;
  // Opened as the scan saw it: not through a link (a file swapped for a link to something outside
  // the root since the scan is not read) and never waiting (one swapped for a named pipe would
  // block the run, the lock held): openRegular with noFollow.
  let fd: number;
  try { ({ fd } = openRegular(abs, { noFollow: true })); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { bytes: statBytes, skip: code === "ENOENT" || code === "ELOOP" ? "vanished" : code === undefined ? "not_regular_file" : "unreadable" };
  }
  try { buf = readFileSync(fd); } catch { return { bytes: statBytes, skip: "unreadable" }; } finally { closeSync(fd); }
  const sha = sha256Hex(buf);
  if (buf.length > maxBytes) return { sha256: sha, bytes: buf.length, skip: "too_large" };
  if (buf.length === 0) return { sha256: sha, bytes: 0, skip: "empty" };
  if (document) return { sha256: sha, bytes: buf.length, raw: buf };
  if (buf.indexOf(0) >= 0) return { sha256: sha, bytes: buf.length, skip: "binary" };
  try { return { sha256: sha, bytes: buf.length, text: utf8.decode(buf) }; } catch {
    return { sha256: sha, bytes: buf.length, skip: "invalid_utf8" };
  }
}

/** A file's manifest record (built without spreads: it runs once per file, 100,000 times in a large workspace). */
export function toRecord(path: string, r: Pick<ReadResult, "bytes" | "sha256" | "skip">, warnings?: [number, string][]): FileRecord {
  const rec: FileRecord = { path, bytes: r.bytes, status: r.skip ? "skipped" : "ok" };
  if (r.sha256) rec.sha256 = r.sha256;
  if (r.skip) rec.reason = r.skip;
  if (warnings?.length) rec.warnings = warnings.map(([line, msg]) => `${line}: ${msg}`);
  return rec;
}

type Previous = {
  docs: Map<string, DocRecord>; texts: Map<string, string>;
  /** The text pages stored alone, as stored (the rebuilt text segment writes an unchanged page's block as it was). */
  stored: Map<string, StoredValue>;
  /** Each document's ordinal in the previous shard, and its chunks' core lengths (table `chunks`) by ordinal. */
  ords: Map<string, number>; lens: Map<number, number[]>;
};

/** The previous run's records of one shard, read back for reuse. */
function readPrevious(profileDir: string, prev: { index: string; text: string }): Previous {
  const docs = new Map<string, DocRecord>();
  const texts = new Map<string, string>();
  const ords = new Map<string, number>();
  const lens = new Map<number, number[]>();
  const idx = new Segment(objectPath(profileDir, prev.index));
  try {
    for (const [k, d] of idx.range<DocRecord>("docs")) { docs.set(d.path, d); ords.set(d.path, Number(k)); }
    // Chunk lengths, for copying reused documents' postings: if they cannot be read, none is copied
    // (every document is tokenized from its text, as before postings were copied).
    try {
      const all = idx.bytes("chunks", "all");
      const r = new VarintReader(all ?? new Uint8Array(0));
      while (!r.done) {
        const ord = r.next();
        const n = r.next();
        const l: number[] = new Array(n);
        for (let i = 0; i < n; i++) l[i] = r.next();
        lens.set(ord, l);
      }
    } catch { lens.clear(); }
  } finally { idx.close(); }
  const stored = new Map<string, StoredValue>();
  const txt = new Segment(objectPath(profileDir, prev.text));
  try {
    txt.eachBytes("text", (k, bytes, st) => {
      const p = k.slice(0, k.lastIndexOf("\0"));
      texts.set(p, (texts.get(p) ?? "") + utf8.decode(bytes));
      if (st) stored.set(k, { raw: bytes, data: st.data, crc: st.crc });
    });
  } finally { txt.close(); }
  return { docs, texts, ords, lens, stored };
}

/**
 * The chunk postings of a previous shard, still encoded: per term, its value (`v`) and, once cut
 * (runsOf: only the terms that need it are), for each document in it [previous ordinal, start,
 * end] of the document's entries after their leading Δord. A document's entries do not depend on
 * any other document once that first Δord is written again (chunk index and positions start afresh
 * with each document), so a reused document's are copied as they are (PostingsBuilder.encode), and
 * the shard's bytes are those a build from the texts gives. Reading throws when a block is damaged
 * (its crc32); cutting throws when a value does not decode.
 */
type EncodedRuns = {
  /** The term's value, and where its chunk postings are in it. */
  v: Uint8Array; from: number; to: number;
  /** The runs, once cut (runsOf). */
  runs?: number[];
  /** Every document of the previous list is reused at its previous ordinal (setReused): the list is v[from, to) as it was. */
  whole?: boolean;
};
type PreviousPostings = Map<string, EncodedRuns>;
function readPreviousPostings(profileDir: string, indexSha: string): PreviousPostings {
  const path = objectPath(profileDir, indexSha);
  const out: PreviousPostings = new Map();
  const seg = new Segment(path);
  try {
    seg.eachBytes("terms", (term, v) => {
      const r = new VarintReader(v); // a truncated varint throws
      const len = r.next();
      const end = r.at + len;
      if (end > v.length) throw corrupt(path);
      if (len === 0) return; // entity postings only
      // Cut into documents when needed (runsOf): most terms of an edited shard are copied whole.
      out.set(term, { v, from: r.at, to: end });
    });
  } finally { seg.close(); }
  return out;
}

/** A previous term's runs ([ordinal, start, end] per document, see EncodedRuns), cut from its value on first use. */
function runsOf(e: EncodedRuns, path: string): number[] {
  if (e.runs) return e.runs;
  const runs: number[] = [];
  const r = new VarintReader(e.v);
  r.at = e.from;
  const end = e.to;
  let ord = -1;
  try {
    while (r.at < end) {
      const entry = r.at;
      const d = r.next();
      if (ord < 0 || d > 0) {
        if (ord >= 0) runs.push(entry);
        ord = ord < 0 ? d : ord + d;
        runs.push(ord, r.at);
      }
      r.next(); // chunk index
      const m = r.next();
      if ((m & 3) === 3) { r.next(); r.next(); r.next(); }
      const xs = m & 4 ? r.next() : 0;
      for (let p = Math.floor(m / 8) - xs; p > 0; p--) r.next();
    }
  } catch { throw corrupt(path); }
  if (r.at !== end) throw corrupt(path);
  runs.push(end);
  return (e.runs = runs);
}

/** A document's stored form: each chunk carries its length in terms and the position of its first term. */
function toDocRecord(path: string, e: FileEntry, t: DocTerms): DocRecord {
  const chunks = e.chunks.map(([s0, end, line, endLine], i): StoredChunk => [s0, end, line, endLine, t.chunkLen[i]!, t.chunkFirst[i]!]);
  const { chunks: _, ...rest } = e;
  return { path, ...rest, chunks };
}


const termsOf = (rec: DocRecord, text: string) => indexTerms(text, rec.kind, rec.chunks.map((c) => [c[0], c[1]]));

/**
 * Type codes of entity postings (4 bits: `name length << 4 | code`). Codes below SHARED_TYPE are a
 * document's own entities (0-7: five used), codes from SHARED_TYPE up are nodes shared between
 * shards, whose postings carry the id's hash (8-15: three used).
 */
export const ENT_TYPES: readonly (string | undefined)[] = ["document", "section", "decision", "claim", "symbol", , , , "technology", "reference", "module"];
export const ENT_TYPE_BITS = 4;
export const SHARED_TYPE = 8;
const ENT = { document: 0, section: 1, decision: 2, claim: 3, symbol: 4, technology: 8, reference: 9, module: 10 } as const;

/**
 * Document-local node types whose counts an index artifact's manifest counts carry (beside `files`,
 * one document each, and `chunks`), by count key; a key is there when the shard's header counts
 * the type (`symbols` only when it has any). The run's counts carry their sums (ingest.ts), so a
 * count by type reads no shard (RunIndex.typeCounts).
 */
export const TYPE_COUNT_KEYS = { section: "sections", decision: "decisions", claim: "claims", symbol: "symbols" } as const;

/** A 32-bit hash of a shared node's id: entity postings carry it so that hits from several shards are merged without a lookup. */
export function idHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) { h ^= id.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h;
}

/** Values of sorted keys packed in one buffer: key i's value is data[ends[i - 1] (0 for the first), ends[i]). */
type Packed = { keys: string[]; ends: Int32Array; data: Uint8Array };

/** A map's keys in UTF-16 order (the segment's key order), with the native sort. */
const sortedKeys = (m: Map<string, unknown>): string[] => [...m.keys()].sort();

/**
 * A growable Int32Array. The builders' arrays are taken from a pool and given back, so a worker
 * that builds shard after shard reuses the same memory instead of making the GC chase new buffers.
 */
class Ints {
  a = new Int32Array(1024);
  n = 0;
  private static readonly pool: Ints[] = [];
  static take(): Ints { const x = Ints.pool.pop() ?? new Ints(); x.n = 0; return x; }
  static give(...xs: Ints[]): void { Ints.pool.push(...xs); }
  push(v: number): void {
    if (this.n === this.a.length) { const b = new Int32Array(this.a.length * 2); b.set(this.a); this.a = b; }
    this.a[this.n++] = v;
  }
}

/**
 * Chunk postings. Each term occurrence is counted in one chunk, the chunk whose core holds it
 * (chunk i's core runs from its first term to the first term of chunk i + 1, so overlapping
 * windows do not count a term twice); a chunk's length is its core's. Parts and compounds count
 * towards tf but keep no position (phrases are matched on base terms). Occurrences are collected
 * as (term id, chunk, position, field) in typed arrays and grouped by term with a counting sort.
 */
class PostingsBuilder {
  /**
   * Term → id. A prototype-less object, not a Map: this lookup runs once per token of the shard
   * (millions in a large one) and a property lookup is about twice as fast here.
   */
  private ids: Record<string, number> = Object.create(null);
  private readonly names: string[] = [];
  private readonly tTerm = Ints.take();
  private readonly tChunk = Ints.take(); // index into chunkOrd/chunkIdx/chunkLen
  private readonly tPos = Ints.take(); // -1 - field for parts and compounds, else position * 4 + field
  private readonly chunkOrd = Ints.take();
  private readonly chunkIdx = Ints.take();
  private readonly chunkLen = Ints.take();

  /**
   * Postings of documents reused from the previous shard, still encoded: per term, its previous
   * value and [ordinal now, start, end] of each reused document's entries in it, in ordinal order
   * (see readPreviousPostings and setReused).
   */
  private reused?: PreviousPostings;
  /** The previous index object the reused postings come from (for runsOf's errors). */
  private reusedPath = "";

  /** Gives the builder's arrays back to the pool (call when its output is encoded). */
  release(): void { Ints.give(this.tTerm, this.tChunk, this.tPos, this.chunkOrd, this.chunkIdx, this.chunkLen); }
  /** Drops the term dictionary (see the end of buildShard). */
  clear(): void { this.ids = Object.create(null); this.names.length = 0; this.reused = undefined; }
  chunkCount = 0;
  chunkTerms = 0;

  private id(term: string): number {
    let id = this.ids[term];
    if (id === undefined) { id = this.names.length; this.ids[term] = id; this.names.push(term); }
    return id;
  }

  add(ord: number, t: DocTerms): void {
    const { runs, chunkFirst, extra } = t;
    const chunkBase = this.chunkOrd.n;
    for (let ci = 0; ci < chunkFirst.length; ci++) {
      const len = (ci + 1 < chunkFirst.length ? chunkFirst[ci + 1]! : t.count) - chunkFirst[ci]!;
      this.chunkOrd.push(ord);
      this.chunkIdx.push(ci);
      this.chunkLen.push(len);
      this.chunkCount++;
      this.chunkTerms += len;
    }
    // Chunk by chunk (a term's occurrences must come grouped by chunk): its runs, then its parts and compounds.
    let pos = 0;
    let x = 0;
    const extras = (upTo: number) => {
      for (; x < extra.length && extra[x]![0] <= upTo; x++) {
        const [ci, term, f] = extra[x]!;
        this.tTerm.push(this.id(term));
        this.tChunk.push(chunkBase + ci);
        this.tPos.push(-1 - f);
      }
    };
    for (let r = 0; r < runs.length; r++) {
      const run = runs[r]!;
      const chunk = chunkBase + run.ci;
      for (const term of run.terms) {
        if (term.length <= MAX_TERM) {
          this.tTerm.push(this.id(term));
          this.tChunk.push(chunk);
          this.tPos.push(pos * 4 + run.field);
        }
        pos++;
      }
      if (r + 1 === runs.length || runs[r + 1]!.ci !== run.ci) extras(run.ci);
    }
    extras(Infinity);
  }

  /**
   * A document whose postings are those it had in the previous shard (same path and content): its
   * chunks' core lengths are taken now, in ordinal order with the others; its entries come with
   * setReused before encode.
   */
  addReused(ord: number, lens: number[]): void {
    for (let ci = 0; ci < lens.length; ci++) {
      this.chunkOrd.push(ord);
      this.chunkIdx.push(ci);
      this.chunkLen.push(lens[ci]!);
      this.chunkCount++;
      this.chunkTerms += lens[ci]!;
    }
  }
  /** The previous postings of the documents added with addReused (`ords`: previous ordinal → ordinal now). */
  setReused(previous: PreviousPostings, ords: Map<number, number>, path: string, touched?: Set<string>): void {
    const out: PreviousPostings = new Map();
    this.reusedPath = path;
    // Documents kept at their ordinals (one file edited in place): a term none of whose documents
    // changed keeps its list as it was, copied whole by encode. `touched` holds every term of the
    // previous documents that are not reused: a term outside it has only reused documents, and is
    // not even cut into documents unless a document built now has it too (encode).
    let same = true;
    for (const [was, now] of ords) if (was !== now) { same = false; break; }
    for (const [term, e] of previous) {
      if (same && touched && !touched.has(term)) { out.set(term, { v: e.v, from: e.from, to: e.to, whole: true }); continue; }
      const runs = runsOf(e, path);
      let mine: number[] | undefined;
      let all = same;
      for (let i = 0; i < runs.length; i += 3) {
        const now = ords.get(runs[i]!);
        if (now !== undefined) (mine ??= []).push(now, runs[i + 1]!, runs[i + 2]!);
        else all = false;
      }
      if (mine) out.set(term, { v: e.v, from: e.from, to: e.to, runs: mine, whole: all });
    }
    this.reused = out;
  }

  /**
   * Chunk core lengths of the shard as fixed-width numbers (table `chunklens`):
   * u32 little-endian `docs`, then for each ordinal 0..docs the index of its first chunk (the last
   * is the chunk count), then every chunk's core length. A query reads them as they are; the
   * varints of `lengths` cost a 20,000-file query about a tenth of its time to decode.
   */
  lengthTable(docs: number): Uint8Array {
    const n = this.chunkOrd.n;
    const ord = this.chunkOrd.a, len = this.chunkLen.a;
    const out = new DataView(new ArrayBuffer(4 * (2 + docs + n)));
    out.setUint32(0, docs, true);
    let i = 0;
    for (let o = 0; o <= docs; o++) {
      while (i < n && ord[i]! < o) i++;
      out.setUint32(4 * (1 + o), i, true);
    }
    for (let k = 0; k < n; k++) {
      if ((k > 0 && ord[k]! < ord[k - 1]!) || ord[k]! >= docs) throw new Error("chunk lengths out of ordinal order");
      out.setUint32(4 * (2 + docs + k), len[k]!, true);
    }
    return new Uint8Array(out.buffer);
  }

  /** Chunk core lengths of the shard: for each document in ordinal order, its chunk count, then the lengths. */
  lengths(): Uint8Array {
    const w = new VarintWriter(4096);
    for (let i = 0; i < this.chunkOrd.n;) {
      let j = i;
      while (j < this.chunkOrd.n && this.chunkOrd.a[j] === this.chunkOrd.a[i]) j++;
      w.push(this.chunkOrd.a[i]!);
      w.push(j - i);
      for (let k = i; k < j; k++) w.push(this.chunkLen.a[k]!);
      i = j;
    }
    return w.bytes();
  }

  encode(): Packed {
    const nTerms = this.names.length;
    const n = this.tTerm.n;
    const term = this.tTerm.a, chunkOf = this.tChunk.a, posOf = this.tPos.a;
    // Counting sort of occurrences by term id (stable: chunk and position order is kept).
    const start = new Int32Array(nTerms + 1);
    for (let i = 0; i < n; i++) start[term[i]! + 1]!++;
    for (let t = 0; t < nTerms; t++) start[t + 1]! += start[t]!;
    const order = new Int32Array(n);
    const fill = start.slice(0, nTerms);
    for (let i = 0; i < n; i++) order[fill[term[i]!]!++] = i;
    // Native string sort: UTF-16 order, the segment's key order. Terms of reused documents only are added.
    const reused = this.reused;
    const names = [...this.names];
    if (reused) for (const t of reused.keys()) if (this.ids[t] === undefined) names.push(t);
    const sorted = names.sort();
    const w = new VarintWriter(1 << 20);
    const ends = new Int32Array(sorted.length);
    const positions: number[] = [];
    const none: EncodedRuns = { v: new Uint8Array(0), from: 0, to: 0, runs: [] };
    for (let t = 0; t < sorted.length; t++) {
      const name = sorted[t]!;
      const id = this.ids[name];
      let prevOrd = -1;
      let prevCi = 0;
      let prevPos = 0;
      // The entries built here and the reused documents' entries, merged in ordinal order.
      const prev = reused?.get(name) ?? none;
      if (id === undefined && prev.whole) {
        // Only reused documents, each at its previous ordinal: the previous list as it was.
        w.append(prev.v, prev.from, prev.to);
        ends[t] = w.length;
        continue;
      }
      const v = prev.v;
      const runs = runsOf(prev, this.reusedPath);
      let g = 0;
      const end = id === undefined ? 0 : start[id + 1]!;
      for (let k = id === undefined ? 0 : start[id]!; k < end || g < runs.length;) {
        if (g < runs.length && (k >= end || runs[g]! < this.chunkOrd.a[chunkOf[order[k]!]!]!)) {
          const ord = runs[g]!;
          w.push(prevOrd < 0 ? ord : ord - prevOrd);
          w.append(v, runs[g + 1]!, runs[g + 2]!);
          g += 3;
          prevOrd = ord;
          continue;
        }
        const chunk = chunkOf[order[k]!]!;
        let h = 0, c = 0, b = 0, xs = 0;
        positions.length = 0;
        for (; k < end && chunkOf[order[k]!] === chunk; k++) {
          const p = posOf[order[k]!]!;
          const f = p < 0 ? -1 - p : p % 4;
          if (f === FIELD_HEADING) h++; else if (f === FIELD_CODE) c++; else b++;
          if (p < 0) xs++; else positions.push((p - f) / 4);
        }
        const ord = this.chunkOrd.a[chunk]!, ci = this.chunkIdx.a[chunk]!;
        const tf = h + c + b;
        const same = ord === prevOrd;
        w.push(prevOrd < 0 ? ord : ord - prevOrd);
        w.push(same ? ci - prevCi : ci);
        if (!same) prevPos = 0;
        const mode = h === tf ? 1 : c === tf ? 2 : b === tf ? 0 : 3;
        w.push(tf * 8 + (xs ? 4 : 0) + mode);
        if (mode === 3) { w.push(h); w.push(c); w.push(b); }
        if (xs) w.push(xs);
        for (const p of positions) { w.push(p - prevPos); prevPos = p; }
        prevOrd = ord;
        prevCi = ci;
      }
      ends[t] = w.length;
    }
    return { keys: sorted, ends, data: w.bytes() };
  }
}

/**
 * A shared entity (technology, reference) as the index stores it: [type code, document ordinal,
 * line, node id], located at the mention from the smallest document key of the shard. A document's
 * own entities are not stored: entity i < documents is document i, then each document's sections,
 * decision and claims follow in order (their counts per document: table `entdocs`).
 */
export type EntityRecord = [number, number, number, string];

/**
 * The names a document is found by as an entity: its title, each tag, and its file name without
 * the extension (the entity index's, and query's phrase check on them).
 */
export const documentNames = (rec: { title: string; tags?: string[]; path: string }): string[] =>
  [rec.title, ...(rec.tags ?? []), posix.basename(rec.path).replace(/\.[^.]*$/, "")];

/** Names of at most this many terms are counted in place (EntityBuilder.add); longer ones with a Map. */
const IN_PLACE_TERMS = 32;

/**
 * Entity postings: names of documents (title, tags, file name), sections, decisions, claims and
 * the shared technology and reference nodes the shard mentions. Per term, for each entity:
 * Δentity, (name length << 3 | type code), tf, and for shared nodes the id's hash.
 */
class EntityBuilder {
  private readonly acc = new Map<string, number[]>();
  readonly shared: [string, EntityRecord][] = [];
  /** Drops what the builder holds (see the end of buildShard). */
  clear(): void { this.acc.clear(); this.shared.length = 0; this.perDoc.length = 0; }
  /** Entities per document beyond the document itself, by ordinal. */
  readonly perDoc: number[] = [];
  private n = 0;
  termCount = 0;

  add(id: string, type: number, name: string, ord: number, line: number, extra = ""): void {
    const ts = nameTerms(extra ? `${name} ${extra}` : name);
    const ent = this.n++;
    if (type >= SHARED_TYPE) this.shared.push([ordKey(ent), [type, ord, line, id]]);
    else if (type > 0) this.perDoc[ord] = (this.perDoc[ord] ?? 0) + 1;
    this.termCount += ts.length;
    const code = ts.length * (1 << ENT_TYPE_BITS) + type;
    const hash = type >= SHARED_TYPE ? idHash(id) : -1;
    // Each distinct term once, in the order of its first occurrence, with its count. Most names have
    // a handful of terms, compared in place (a Map per entity was most of this function); a long
    // one (a heading of thousands of words) is counted with a Map, in time linear in its length.
    if (ts.length > IN_PLACE_TERMS) {
      const tf = new Map<string, number>();
      for (const t of ts) tf.set(t, (tf.get(t) ?? 0) + 1);
      for (const [t, n] of tf) this.post(t, ent, code, n, hash);
      return;
    }
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i]!;
      let seen = false;
      for (let j = 0; j < i && !seen; j++) seen = ts[j] === t;
      if (seen) continue;
      let n = 1;
      for (let j = i + 1; j < ts.length; j++) if (ts[j] === t) n++;
      this.post(t, ent, code, n, hash);
    }
  }

  /** One entity's entry in a term's list: entity, name length and type, tf, id hash (-1: none). */
  private post(term: string, ent: number, code: number, tf: number, hash: number): void {
    let list = this.acc.get(term);
    if (!list) { list = []; this.acc.set(term, list); }
    list.push(ent, code, tf, hash);
  }

  /** For each document (ordinal order), how many entities it has beyond itself. */
  docCounts(docs: number): Uint8Array {
    const w = new VarintWriter(1024);
    for (let i = 0; i < docs; i++) w.push(this.perDoc[i] ?? 0);
    return w.bytes();
  }

  get count(): number { return this.n; }

  encode(): Packed {
    const w = new VarintWriter(1 << 16);
    const keys = sortedKeys(this.acc);
    const ends = new Int32Array(keys.length);
    for (let k = 0; k < keys.length; k++) {
      const list = this.acc.get(keys[k]!)!;
      let prev = 0;
      for (let i = 0; i < list.length; i += 4) {
        w.push(list[i]! - prev);
        prev = list[i]!;
        w.push(list[i + 1]!);
        w.push(list[i + 2]!);
        if (list[i + 3]! >= 0) w.push(list[i + 3]!);
      }
      ends[k] = w.length;
    }
    return { keys, ends, data: w.bytes() };
  }
}

/**
 * One dictionary for both kinds of postings, so a query looks each term up once per shard: a
 * term's value is varint(length of its chunk postings), the chunk postings, then its entity
 * postings (either part may be empty). Both inputs are sorted by term.
 */
function mergeTerms(chunks: Packed, ents: Packed): [string, Uint8Array][] {
  const a = chunks.keys, b = ents.keys, aEnd = chunks.ends, bEnd = ents.ends;
  // Every value in one buffer (sized for the worst case: no growing), then a view per term into it.
  const w = new VarintWriter(chunks.data.length + ents.data.length + 8 * (a.length + b.length) + 8);
  const keys: string[] = [];
  const ends: number[] = [];
  let i = 0, j = 0;
  while (i < a.length || j < b.length) {
    const ka = a[i], kb = b[j];
    const takeA = kb === undefined || (ka !== undefined && ka <= kb);
    const takeB = ka === undefined || (kb !== undefined && kb <= ka);
    const c0 = i ? aEnd[i - 1]! : 0;
    w.push(takeA ? aEnd[i]! - c0 : 0);
    if (takeA) { w.append(chunks.data, c0, aEnd[i]!); i++; }
    if (takeB) { w.append(ents.data, j ? bEnd[j - 1]! : 0, bEnd[j]!); j++; }
    keys.push(takeA ? ka! : kb!);
    ends.push(w.length);
  }
  const all = w.bytes();
  return keys.map((k, n) => [k, all.subarray(n ? ends[n - 1]! : 0, ends[n]!)]);
}

const byKey = <V>(m: Map<string, V>): [string, V][] => [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

/**
 * The extractors that need a parser loaded first (pdf.js, tree-sitter): inline, the local ones; in a
 * shard worker, requests to the main thread (see shard-worker.ts), so that the parsers are loaded
 * and warmed up once per run rather than once per worker.
 */
export type Extractors = {
  documentText: (path: string, buf: Uint8Array) => Promise<DocumentText>;
  symbols: (path: string, text: string) => Promise<FileSymbols | undefined>;
};
export const localExtractors: Extractors = {
  documentText,
  // Loaded on the first code file only (it loads the tree-sitter runtime and grammars lazily too).
  symbols: async (path, text) => (await import("./symbols/index.ts")).extractSymbols(path, text),
};

/**
 * Reading, extracting and tokenizing a document leaves many times its size in garbage, which the
 * collector lets pile up over a large shard (a shard holds 1/64 of a big workspace). So after every
 * GC_SOURCE_BYTES of a shard's source, and after each shard (shard-worker.ts), a full collection
 * runs, but only while the process is over GC_RSS_BYTES: a full collection is not cheap (run
 * always, they took a third of corpus-2000's fresh ingest: 10.1-11.0 s and 383-390 MB peak, against
 * 8.1-8.5 s and 463-467 MB with this limit), and a small workspace stays under the limit anyway. On
 * the corpus copied 10 times (shards of about 5 MB) the process is over it most of the run, and the
 * collections keep the peak near 750 MB instead of 945.
 */
const GC_SOURCE_BYTES = 1 << 20;
const GC_RSS_BYTES = 448 * 1024 * 1024;
/** A full collection if the process has grown past GC_RSS_BYTES (see above). */
export function collectIfLarge(): void {
  if (process.memoryUsage.rss() > GC_RSS_BYTES) Bun.gc(true);
}

export async function buildShard(task: ShardTask, ex: Extractors = localExtractors): Promise<ShardResult> {
  const { settings: st } = task;
  let sinceGc = 0;
  const redact = makeRedactor(st.redaction);
  let prev: Previous | undefined;
  const none = (): Previous => ({ docs: new Map(), texts: new Map(), ords: new Map(), lens: new Map(), stored: new Map() });
  // A previous shard whose objects cannot be read (damaged, missing, not a file) reuses nothing:
  // its files are read from the sources, and the objects this build writes replace the damaged ones.
  const old = () => {
    if (prev) return prev;
    try { prev = task.prev ? readPrevious(task.profileDir, task.prev) : none(); } catch { prev = none(); }
    return prev;
  };
  // Reused documents: previous ordinal → ordinal now (their postings are copied, see
  // readPreviousPostings; read once, and if the previous segment's postings cannot be read, the
  // reused documents are tokenized from their texts as the others).
  const reusedOrds = new Map<number, number>();
  let previousPostings: PreviousPostings | null | undefined;
  const oldPostings = () => {
    if (previousPostings === undefined) { try { previousPostings = readPreviousPostings(task.profileDir, task.prev!.index); } catch { previousPostings = null; } }
    return previousPostings;
  };
  const records: FileRecord[] = [];
  const docs: { rec: DocRecord; text: string }[] = [];
  // Postings are built as each document is read, so that its terms are dropped right away.
  const postings = new PostingsBuilder();
  let processed = 0;
  let reused = 0;
  const symbolsPending: Promise<void>[] = [];
  let symbolsFailed: { err: unknown } | undefined;
  for (const f of task.files) {
    const isDoc = isDocumentPath(f.path);
    // A file the plan found unchanged is not read again (a one-file change read and hashed every
    // file of its shard) when the previous objects hold its entry and text: it is as if read and
    // hashed to its previous sha256.
    let r: ReadResult = { sha256: f.prevSha, bytes: f.bytes };
    let rec: DocRecord | undefined;
    let body: string | undefined;
    if (f.same) { rec = old().docs.get(f.path); body = old().texts.get(f.path); }
    if (!rec || body === undefined) {
      r = readSource(f.abs, f.bytes, isDoc ? st.maxDocBytes : st.maxBytes, isDoc);
      if (r.text === undefined && r.raw === undefined) { records.push(toRecord(f.path, r)); continue; }
      const unchanged = f.prevSha !== undefined && f.prevSha === r.sha256;
      rec = unchanged ? old().docs.get(f.path) : undefined;
      body = unchanged ? old().texts.get(f.path) : undefined;
    }
    let terms: DocTerms | undefined;
    if (!rec || body === undefined) {
      let text = r.text;
      let docTitle: { title?: string } | undefined;
      let docWarning: string | undefined;
      if (r.raw) {
        const d = await ex.documentText(f.path, r.raw);
        // A document skipped keeps why in its record (the only place a manifest has for it): what
        // the reason alone does not say (which stream, which part, which limit).
        const skipped = (skip: SkipReason, detail: string) => records.push(toRecord(f.path, { sha256: r.sha256!, bytes: r.bytes, skip }, [[1, detail.slice(0, 300)]]));
        if ("skip" in d) { skipped(d.skip, d.detail); continue; }
        // Its text is held to the limit of a text file: a small compressed document can hold tens
        // of MB of text (a 378 KB .docx, 58 MB; its ingest took 1.35 GB).
        if (d.text.length > st.maxBytes || Buffer.byteLength(d.text) > st.maxBytes) { skipped("too_large", `its text is ${Buffer.byteLength(d.text)} bytes, over max_file_size_bytes (${st.maxBytes})`); continue; }
        text = d.text;
        docTitle = d.title ? { title: normalizeText(d.title) } : {}; // redacted with the entry (extract.ts redactEntry)
        docWarning = d.warning;
      }
      body = redact(normalizeText(text!));
      const entry = extractFile(f.path, r.sha256!, body, { size: st.chunkTokens, overlap: st.overlapTokens }, { ...docTitle, redact });
      if (docWarning) entry.warnings = [...(entry.warnings ?? []), [1, docWarning]];
      terms = indexTerms(body, entry.kind, entry.chunks.map((c) => [c[0], c[1]]));
      rec = toDocRecord(f.path, entry, terms);
      if (entry.kind === "code" && st.symbols) {
        // Not awaited here: a worker goes on with the next files while the main thread parses.
        const target = rec;
        const at = records.length; // this file's record, pushed below
        symbolsPending.push(ex.symbols(f.path, body).then((syms) => {
          if (syms?.symbols.length) target.symbols = syms.symbols;
          if (syms?.imports.length) target.imports = syms.imports;
          if (syms?.warning) {
            // Symbols left out are said in the file's warnings, in line order with the others.
            target.warnings = [...(target.warnings ?? []), syms.warning].sort((a, b) => a[0] - b[0]);
            records[at] = toRecord(f.path, r, target.warnings);
          }
        }, (err) => { symbolsFailed ??= { err }; }));
      }
      processed++;
    } else reused++;
    records.push(toRecord(f.path, r, rec.warnings));
    if (terms) postings.add(docs.length, terms);
    else {
      const was = old().ords.get(f.path);
      const lens = was === undefined ? undefined : old().lens.get(was);
      if (lens && lens.length === rec.chunks.length && oldPostings()) { postings.addReused(docs.length, lens); reusedOrds.set(was!, docs.length); }
      else postings.add(docs.length, termsOf(rec, body));
    }
    docs.push({ rec, text: body });
    sinceGc += r.bytes;
    if (sinceGc >= GC_SOURCE_BYTES) { sinceGc = 0; collectIfLarge(); }
  }
  if (reusedOrds.size) {
    // The terms of the previous documents not reused (edited, removed, or tokenized again): see setReused.
    let touched: Set<string> | undefined = new Set<string>();
    for (const [p, o] of prev!.ords) {
      if (reusedOrds.has(o)) continue;
      const rec = prev!.docs.get(p), text = prev!.texts.get(p);
      if (!rec || text === undefined) { touched = undefined; break; }
      const t = termsOf(rec, text);
      for (const run of t.runs) for (const term of run.terms) touched.add(term);
      for (const x of t.extra) touched.add(x[1]);
    }
    postings.setReused(previousPostings!, reusedOrds, objectPath(task.profileDir, task.prev!.index), touched);
  }
  previousPostings = undefined;
  await Promise.all(symbolsPending);
  if (symbolsFailed) throw symbolsFailed.err;
  if (docs.length === 0) return { shard: task.shard, records, processed, reused };

  const ents = new EntityBuilder();
  const globals = new Map<string, GlobalRecord>();
  const links = new Map<string, Mention[]>();
  const symDefs = new Map<string, SymbolEntry[]>();
  const symRefs = new Map<string, Mention[]>();
  const ids: [string, number][] = [];
  const types: Record<string, number> = { document: 0, section: 0, chunk: 0, decision: 0, claim: 0 };
  const edges: Record<string, number> = { contains: 0, mentions: 0, references: 0 };
  // Document entities first, so that a document's entity ordinal is its ordinal.
  docs.forEach(({ rec }, ord) => { const [title, ...rest] = documentNames(rec); ents.add(docId(rec.path), ENT.document, title!, ord, 1, rest.join(" ")); });
  docs.forEach((d, ord) => {
    const { rec } = d;
    const id = docId(rec.path);
    const key = id.slice(4);
    ids.push([key, ord]);
    rec.sections.forEach(([name, , line], i) => ents.add(`sec_${key}_${i}`, ENT.section, name, ord, line));
    if (rec.decision) ents.add(`dec_${key}`, ENT.decision, rec.title, ord, 1);
    for (const [line, t] of rec.claims) ents.add(`clm_${key}_${line}`, ENT.claim, t, ord, line);
    const syms = rec.symbols ?? [];
    syms.forEach(([name, , line, exported, container], i) => {
      ents.add(symId(id, i), ENT.symbol, name, ord, line, container ?? "");
      // A symbol is found by its name, and by Container.name for a member.
      for (const k of container ? [name, `${container}.${name}`] : [name]) group(symDefs, k, [rec.path, i, line, exported, container ? 1 : 0]);
    });
    for (const [name, line] of rec.symrefs ?? []) group(symRefs, name, [ord, line]);
    const own = rec.sections.length + rec.chunks.length + rec.claims.length + (rec.decision ? 1 : 0);
    types.document!++; types.section! += rec.sections.length; types.chunk! += rec.chunks.length;
    types.claim! += rec.claims.length; if (rec.decision) types.decision!++;
    edges.contains! += own; edges.mentions! += rec.techs.length; edges.references! += rec.refs.length;
    if (syms.length) { types.symbol = (types.symbol ?? 0) + syms.length; edges.defines = (edges.defines ?? 0) + syms.length; }
    if (rec.imports?.length) edges.imports = (edges.imports ?? 0) + rec.imports.length;
    const global = (gid: string, type: GlobalRecord["type"], name: string, line: number) => {
      let g = globals.get(gid);
      if (!g) { g = { type, name, in: [] }; globals.set(gid, g); }
      g.in.push([ord, line]);
    };
    for (const [name, line] of rec.techs) global(techId(name), "technology", name, line);
    for (const [url, line] of rec.refs) global(refId(url), "reference", url, line);
    for (const [mod, line] of rec.imports ?? []) global(modId(mod), "module", mod, line);
    const linked = new Set<string>();
    for (const [target, line] of rec.links) {
      if (target === rec.path || linked.has(target)) continue;
      linked.add(target);
      group(links, target, [ord, line]);
    }
  });
  // A shared node is found by name once per shard, located at its mention by the smallest document id.
  const keyOf = (ord: number) => ids[ord]![0];
  for (const [gid, g] of byKey(globals)) {
    const first = g.in.reduce((a, b) => (keyOf(b[0]) < keyOf(a[0]) ? b : a));
    // A reference is found by its host and last path segment (its full URL is in the text anyway).
    const name = g.type === "reference" ? urlWords(g.name) : g.name;
    ents.add(gid, ENT[g.type], name, first[0], first[1]);
  }
  const stats: ShardStats = {
    docs: docs.length, chunks: postings.chunkCount, chunk_terms: postings.chunkTerms, ents: ents.count, ent_terms: ents.termCount, types, edges,
  };
  // Front-matter tag → the ordinals of the documents that have it (a `tag:` filter reads these, not every candidate's meta).
  const tagged = new Map<string, number[]>();
  docs.forEach(({ rec }, ord) => { for (const t of rec.tags ?? []) group(tagged, t, ord); });
  const head = { schema_version: ARTIFACT_SCHEMA_VERSION, shard: task.shard, shards: task.shards };
  const index = encodeSegment({ ...head, kind: "index", stats: stats as unknown as Record<string, unknown> }, {
    docs: docs.map(({ rec }, ord) => [ordKey(ord), rec]),
    meta: docs.map(({ rec }, ord) => [ordKey(ord), metaOf(rec)]),
    tags: byKey(tagged),
    ids: ids.slice().sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    entities: ents.shared,
    global: byKey(globals),
    links: byKey(links),
    symbols: byKey(symDefs),
    symrefs: byKey(symRefs),
  }, {
    terms: mergeTerms(postings.encode(), ents.encode()), entdocs: [["all", ents.docCounts(docs.length)]],
    keys: [["all", new TextEncoder().encode(ids.map(([k]) => k).join(""))]], chunks: [["all", postings.lengths()]],
    paths: [["all", new TextEncoder().encode(docs.map(({ rec }) => rec.path).join("\0"))]],
    chunklens: [["all", postings.lengthTable(docs.length)]],
    spans: docs.map(({ rec }, ord) => [ordKey(ord), spansOf(rec.chunks)]),
    // Bloom filters of the tables a reader asks every shard about (the mentions of a shared node, the
    // links into a document, a symbol's definitions and mentions): it reads only the shards that may hold a key.
    filters: FILTER_TABLES.map((name) => [name, { global: globals, links, symbols: symDefs, symrefs: symRefs }[name]] as const)
      .filter(([, m]) => m.size > 0).map(([name, m]): [string, Uint8Array] => [name, bloomOf(m.keys())]),
  }, { layout: { terms: TERMS_LAYOUT } });
  postings.release();
  const encoder = new TextEncoder();
  const pages: [string, Uint8Array][] = [];
  for (const { rec, text } of docs) for (let i = 0; i * TEXT_PAGE < text.length || i === 0; i++) pages.push([pageKey(rec.path, i), encoder.encode(text.slice(i * TEXT_PAGE, (i + 1) * TEXT_PAGE))]);
  const text = encodeSegment({ ...head, kind: "text", stats: { docs: docs.length, page: TEXT_PAGE } }, {}, { text: pages }, { level: TEXT_LEVEL, layout: { text: TEXT_LAYOUT }, ...(prev ? { stored: { text: prev.stored } } : {}) });
  const localNodes = Object.values(types).reduce((s, n) => s + n, 0);
  const localEdges = Object.values(edges).reduce((s, n) => s + n, 0);
  const result: ShardResult = {
    shard: task.shard, records, processed, reused,
    objects: {
      index, text,
      counts: {
        files: docs.length, chunks: stats.chunks, nodes: localNodes, edges: localEdges, shards: task.shards,
        ...Object.fromEntries(Object.entries(TYPE_COUNT_KEYS).filter(([t]) => types[t] !== undefined).map(([t, k]) => [k, types[t]!])),
      },
    },
    summary: summaryOf(globals.keys(), links, symDefs, symRefs),
  };
  // Emptied, not just dropped: the collector scans stacks conservatively, and a stale pointer to one
  // of these containers kept the whole shard's documents alive while the next shard was built (in
  // one process, built one after the other: 367,000 strings and 181 MB of heap left after the first
  // shard of the 10x corpus, 113 MB with this; the second shard's peak RSS 425 -> 254 MB).
  docs.length = 0; pages.length = 0; ids.length = 0;
  globals.clear(); links.clear(); symDefs.clear(); symRefs.clear();
  postings.clear(); ents.clear();
  prev?.texts.clear(); prev?.stored.clear(); prev?.docs.clear();
  return result;
}

/** A document's chunk spans as varints: per chunk Δstart, length, Δline, line count (a hit reads these, not the whole record). */
function spansOf(chunks: StoredChunk[]): Uint8Array {
  const w = new VarintWriter(64);
  let s0 = 0;
  let l0 = 0;
  for (const [s, e, line, end] of chunks) { w.push(s - s0); w.push(e - s); w.push(line - l0); w.push(end - line); s0 = s; l0 = line; }
  return w.bytes();
}

/** A URL's host and last path segment (what a reference is found by). */
function urlWords(url: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#@]*@)?([^/?#:]*)[^/?#]*([^?#]*)/i.exec(url);
  if (!m) return url.slice(0, 80);
  const segs = m[2]!.split("/").filter(Boolean);
  return `${m[1]} ${segs[segs.length - 1] ?? ""}`;
}

export function metaOf(rec: DocRecord): DocMeta {
  return {
    path: rec.path, kind: rec.kind, title: rec.title, ...(rec.pages ? { pages: rec.pages } : {}),
    ...(rec.frontmatter ? { frontmatter: rec.frontmatter } : {}), ...(rec.code_spans ? { code_spans: rec.code_spans } : {}), ...(rec.tags ? { tags: rec.tags } : {}),
  };
}

function summaryOf(globals: Iterable<string>, links: Iterable<[string, Mention[]]>, defs: Iterable<[string, SymbolEntry[]]>, refs: Iterable<[string, Mention[]]>): ShardSummary {
  const out: ShardSummary = { globals: [...globals], links: [], symbols: [], symrefs: [] };
  for (const [target, from] of links) for (let i = 0; i < from.length; i++) out.links.push(target);
  for (const [name, entries] of defs) if (entries.length) out.symbols.push([name, entries.reduce((b, e) => (symbolOrder(e, b) < 0 ? e : b))]);
  for (const [name, from] of refs) for (const [ord] of from) out.symrefs.push([ord, name]);
  return out;
}

/**
 * The summary of a shard already in the store (a clean shard of an incremental run). Without
 * `globals` its shared node ids are left out (`globals: []`): the largest table to walk, and an
 * incremental run counts shared nodes from what changed instead (see sharedUpdate in ingest.ts).
 */
export function readSummary(profileDir: string, indexSha: string, opts: { globals?: boolean } = {}): ShardSummary {
  const s = new Segment(objectPath(profileDir, indexSha));
  try { return summaryOf(opts.globals === false ? [] : s.allKeys("global"), s.range<Mention[]>("links"), s.range<SymbolEntry[]>("symbols"), s.range<Mention[]>("symrefs")); } finally { s.close(); }
}

/** The symbol names of a stored shard's index segment, each with the shard's best definition of it (the `symbols` part of its summary). */
export const symbolsOf = (s: Segment): Pick<ShardSummary, "symbols"> => summaryOf([], [], s.range<SymbolEntry[]>("symbols"), []);


/**
 * Read access to one run's index segments: documents by key or ordinal, nodes and their edges,
 * shared nodes' mentions, links into a document, texts, postings. Each shard's segment is opened
 * on first use and only the blocks a question needs are read (see store/segment.ts); nothing
 * decodes the whole index. Close the index when done.
 */
import { docId, entryGraph, sharedPrefix, type FileEntry, type GraphEdge, type GraphNode } from "../pipeline/extract.ts";
import {
  MAX_SHARDS, ordKey, pageKey, shardName, shardOf, shardOfKey, TEXT_PAGE,
  ENT_TYPES, ENT_TYPE_BITS, SHARED_TYPE, TYPE_COUNT_KEYS, symbolIdOf, symbolOrder, type SymbolEntry, type DocMeta, type DocRecord, type EntityRecord, type GlobalRecord, type Mention, type ShardStats,
} from "../pipeline/shard.ts";
import { VarintReader } from "../store/varint.ts";
import { objectPath } from "../store/layout.ts";
import { corrupt, misplaced } from "../store/objects.ts";
import type { OpenStore } from "../store/open.ts";
import { artifactMismatch, Segment } from "../store/segment.ts";
import { bloomHas, bloomKey, type FilterTable } from "../store/bloom.ts";
import { DAMAGED, EMPTY, loadFilters, segmentFilters, type ShardFilters } from "./filters.ts";
import { readObjectText } from "../store/objects.ts";
import { GIT_ARTIFACT, GitGraph } from "../git/graph.ts";
import { loadWords, segmentBlocks, type Words } from "./words.ts";
import { countAtOrBelow } from "../shared/sorted.ts";
import { remember } from "../shared/maps.ts";

export type DocRef = { shard: number; ord: number };
/** One entity posting: entity ordinal in its shard, node type, name length, tf, and the id hash of a shared node. */
export type EntPosting = { ent: number; type: string; len: number; tf: number; hash?: number };
export type Stats = { docs: number; chunks: number; chunkTerms: number; ents: number; entTerms: number; types: Record<string, number>; edges: Record<string, number> };

const utf8 = new TextDecoder();
/** The end of a text key naming a document's first page (see pageKey). */
const FIRST_PAGE = pageKey("", 0);
const PAGE_CACHE = 96;
/** Without bloom filters, symbolFor looks this many names up shard by shard, then reads every shard's symbol names once. */
const SYMBOL_NAMES_AFTER = 16;
/**
 * `starts[ord]`: the index in `lens` of the document's first chunk (-1: none listed), `ends[ord]` one
 * past its last. From table `chunklens` both are views of the stored u32s (nothing built per document);
 * a document whose end is before its start is damage, found where it is read (termChunks).
 */
export type ChunkLengths = { starts: Int32Array | Uint32Array; ends: Int32Array | Uint32Array; lens: Int32Array | Uint32Array };
/** Whether this machine's typed arrays are little-endian, as table `chunklens` is stored (every release target is). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const LOCAL = /^(doc|sec|chk|dec|clm|sym)_([0-9a-f]{20})(?:_(\d+))?$/;
/** Shared nodes kept in the shards' `global` tables, by id prefix, with the type of their in-edges. */
const SHARED_EDGE = { tech_: "mentions", ref_: "references", mod_: "imports" } as const;
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
export const edgeOrder = (a: GraphEdge, b: GraphEdge) => cmp(a.source, b.source) || cmp(a.target, b.target) || cmp(a.type, b.type);

/** Document records a RunIndex keeps decoded (a record holds every chunk, section and link of its document). */
const DOC_CACHE = 2048;

/** How many documents' chunk spans a RunIndex keeps decoded (see spans). */
const SPANS_CACHE = 64;
/** How many line boundaries a RunIndex keeps (see lineBoundary). */
const BOUNDARIES = 4096;

export class RunIndex {
  private readonly index = new Map<number, Segment | null>();
  private readonly text = new Map<number, Segment | null>();
  private readonly byName: Map<string, string>;
  private readonly docCache = new Map<string, DocRecord>();
  private nShards?: number;
  private readonly entCache = new Map<number, number[]>();
  private readonly entCacheByTerm = new Map<string, [number, EntPosting[]][]>();
  private readonly termCache = new Map<string, [number, Uint8Array, Uint8Array][]>();
  private readonly graphCache = new Map<string, { nodes: GraphNode[]; edges: GraphEdge[] }>();
  private readonly keyCache = new Map<number, string>();
  private readonly lenCache = new Map<number, ChunkLengths>();
  private readonly pageCache = new Map<string, string>();
  readonly shards: number[];
  /** The run's git provenance graph (src/git/graph.ts), read on first use; null when the run has none. */
  private gitGraph?: GitGraph | null;

  /** `writeCaches`: the words and filters caches this index makes are written to the store's cache (the CLI; the servers are read-only). */
  constructor(readonly store: OpenStore, private readonly opts: { writeCaches?: boolean } = {}) {
    this.byName = new Map(store.manifest.artifacts.map((a) => [a.name, a.sha256]));
    this.shards = [];
    for (let n = 0; n < MAX_SHARDS; n++) if (this.byName.has(shardName("index", n))) this.shards.push(n);
  }

  /** The run's shard count (recorded in every index segment). */
  get shardCount(): number {
    if (this.nShards === undefined) {
      const first = this.shards[0];
      const n = first === undefined ? MAX_SHARDS : this.seg(first)!.header.shards;
      if (typeof n !== "number" || n < 1) throw this.corrupt(first!);
      this.nShards = n;
    }
    return this.nShards;
  }

  close(): void {
    for (const s of [...this.index.values(), ...this.text.values()]) s?.close();
    this.index.clear();
    this.text.clear();
  }

  /**
   * A shard's segment of one kind, opened on first use. Its header must say the kind and shard the
   * manifest lists it as: an object under another artifact's name is a damaged store (exit 5), not
   * a shard to answer from.
   */
  private open(cache: Map<number, Segment | null>, kind: "index" | "text", n: number): Segment | null {
    let s = cache.get(n);
    if (s === undefined) {
      const name = shardName(kind, n);
      const sha = this.byName.get(name);
      s = null;
      if (sha) {
        const path = objectPath(this.store.profileDir, sha);
        const seg = new Segment(path);
        const wrong = artifactMismatch(seg.header, name);
        if (wrong) { seg.close(); throw misplaced(path, `${wrong} (run ${this.store.runId})`); }
        s = seg;
      }
      cache.set(n, s);
    }
    return s;
  }

  seg(n: number): Segment | null { return this.open(this.index, "index", n); }

  /** Every shard's bloom filters (query/filters.ts), read on first use. */
  private filterSets?: Map<number, ShardFilters>;
  private filters(): Map<number, ShardFilters> {
    if (!this.filterSets) {
      this.filterSets = loadFilters(this.store.profileDir, this.indexObjects(), (n) => segmentFilters(this.seg(n)!), this.opts.writeCaches ?? false);
    }
    return this.filterSets;
  }

  /**
   * The shards whose table `table` may hold `key`, by their bloom filters (index table `filters`,
   * see store/bloom.ts): a question about every shard reads only these. A shard written before the
   * filters is always among them. The filters come from the filters cache when it names the run's
   * index objects (query/filters.ts): then no shard is opened to find out.
   */
  private shardsHolding(table: FilterTable, key: string): number[] {
    const all = this.filters();
    const bk = bloomKey(key);
    const out: number[] = [];
    for (const n of this.shards) {
      const f = all.get(n)!.tables[table];
      if (f === DAMAGED) throw this.corrupt(n);
      if (f === null || (f !== EMPTY && bloomHas(f, bk))) out.push(n);
    }
    return out;
  }

  /** Whether every shard has bloom filters (then a name is looked up shard by shard, see symbolFor). */
  private get filtered(): boolean {
    if (this.allFiltered === undefined) { const all = this.filters(); this.allFiltered = this.shards.every((n) => all.get(n)!.filtered); }
    return this.allFiltered;
  }
  private allFiltered?: boolean;

  /** Collection statistics: the sum over the shards' headers. */
  stats(): Stats {
    const out: Stats = { docs: 0, chunks: 0, chunkTerms: 0, ents: 0, entTerms: 0, types: {}, edges: {} };
    for (const n of this.shards) {
      const st = this.seg(n)!.header.stats as unknown as ShardStats;
      out.docs += st.docs; out.chunks += st.chunks; out.chunkTerms += st.chunk_terms; out.ents += st.ents; out.entTerms += st.ent_terms;
      for (const [k, v] of Object.entries(st.types)) out.types[k] = (out.types[k] ?? 0) + v;
      for (const [k, v] of Object.entries(st.edges)) out.edges[k] = (out.edges[k] ?? 0) + v;
    }
    return out;
  }

  /**
   * Local nodes by type (document, section, chunk, decision, claim, and symbol when there are any),
   * as the shards' headers count them (stats().types): from the manifest's counts when it has them,
   * without opening a shard.
   */
  typeCounts(): Record<string, number> {
    const c = this.store.manifest.counts;
    if (c.ok === undefined || c.chunks === undefined || c[TYPE_COUNT_KEYS.section] === undefined) return { ...this.stats().types };
    const out: Record<string, number> = { document: c.ok, chunk: c.chunks };
    for (const [type, key] of Object.entries(TYPE_COUNT_KEYS)) if (c[key] !== undefined) out[type] = c[key];
    return out;
  }

  /** A document by its key (the 20 hex digits of its id). */
  docByKey(key: string): (DocRef & { rec: DocRecord }) | undefined {
    const r = this.refOf(key);
    return r && { ...r, rec: this.doc(r.shard, r.ord) };
  }

  private readonly refCache = new Map<string, DocRef | null>();
  /** Where the document with this key is (its `ids` entry, looked up once: a walk names the same documents many times). */
  private refOf(key: string): DocRef | undefined {
    let r = this.refCache.get(key);
    if (r === undefined) {
      const shard = shardOfKey(key, this.shardCount);
      const ord = this.seg(shard)?.get<number>("ids", key);
      r = ord === undefined ? null : { shard, ord };
      this.refCache.set(key, r);
    }
    return r ?? undefined;
  }

  docByPath(path: string): (DocRef & { rec: DocRecord }) | undefined {
    const d = this.docByKey(docId(path).slice(4));
    return d && d.rec.path === path ? d : undefined;
  }

  hasDoc(path: string): boolean { return this.refOf(docId(path).slice(4)) !== undefined; }

  doc(shard: number, ord: number): DocRecord {
    const k = `${shard}:${ord}`;
    let d = this.docCache.get(k);
    if (!d) {
      d = this.seg(shard)?.get<DocRecord>("docs", ordKey(ord));
      if (!d) throw new Error(`document ${ord} of shard ${shard} is not in the index`);
      // At most DOC_CACHE records, the oldest going first (a query with a large --limit reads them all).
      remember(this.docCache, k, d, DOC_CACHE);
    }
    return d;
  }

  meta(shard: number, ord: number): DocMeta | undefined { return this.seg(shard)?.get<DocMeta>("meta", ordKey(ord)); }

  /**
   * The ordinals of a shard's documents with front-matter tag `tag` (lower-cased, as stored), in
   * order; undefined when the shard has no `tags` table (written before it: the metas tell).
   */
  tagged(shard: number, tag: string): number[] | undefined {
    const seg = this.seg(shard);
    if (!seg?.header.tables.tags) return undefined;
    const v = seg.get<unknown>("tags", tag);
    if (v === undefined) return [];
    const docs = this.docCount(shard);
    if (!Array.isArray(v) || !v.every((o, i) => Number.isInteger(o) && o >= 0 && o < docs && (i === 0 || o > v[i - 1]))) throw this.corrupt(shard);
    return v as number[];
  }

  /** Every document's meta of one shard, by ordinal. */
  *metas(shard: number): Generator<[number, DocMeta]> {
    const s = this.seg(shard);
    if (s) for (const [k, m] of s.range<DocMeta>("meta")) yield [Number(k), m];
  }

  *docs(shard: number): Generator<[number, DocRecord]> {
    const s = this.seg(shard);
    if (s) for (const [k, d] of s.range<DocRecord>("docs")) yield [Number(k), d];
  }

  /** A document's text (normalized, redacted), reading only the blocks that hold it. */
  textOf(path: string): string | undefined {
    let out: string | undefined;
    for (let i = 0; ; i++) {
      const page = this.page(path, i);
      if (page === undefined) return out;
      out = (out ?? "") + page;
    }
  }

  /** Part of a document's text, [start, end) in UTF-16 units, reading only the pages that hold it. */
  textRange(path: string, start: number, end: number): string | undefined {
    const first = Math.floor(start / TEXT_PAGE);
    const last = Math.floor(Math.max(start, end - 1) / TEXT_PAGE);
    let out: string | undefined;
    for (let i = first; i <= last; i++) {
      const page = this.page(path, i);
      if (page === undefined) break;
      out = (out ?? "") + page;
    }
    return out?.slice(start - first * TEXT_PAGE, end - first * TEXT_PAGE);
  }

  /**
   * One page of a document's text, decoded once: hits of one query, and the searches of a long-lived
   * reader (`auditgraph ui`), come back to the same pages. The cache holds at most PAGE_CACHE pages
   * (least recently used go first), about 6 MB of strings.
   */
  private page(path: string, i: number): string | undefined {
    const key = pageKey(path, i);
    let text = this.pageCache.get(key);
    if (text !== undefined) {
      this.pageCache.delete(key);
      this.pageCache.set(key, text);
      return text;
    }
    const bytes = this.open(this.text, "text", shardOf(path, this.shardCount))?.bytes("text", key, false);
    if (bytes === undefined) return undefined;
    text = utf8.decode(bytes);
    remember(this.pageCache, key, text, PAGE_CACHE);
    return text;
  }

  /** Line boundaries found by scanning more than a page (see lineBoundary). */
  private readonly boundaries = new Map<string, number>();

  /**
   * The start of the line holding `offset` of a document's text (`dir` -1), or its end (`dir` 1:
   * the offset of its newline, or the text's length), looking through the text a page at a time.
   * `line` is that line's number: every chunk cut from one long line (a minified file, a one-line
   * text) asks for the same boundaries, and one found past a page is kept (at most BOUNDARIES).
   */
  lineBoundary(path: string, offset: number, line: number, dir: -1 | 1): number {
    const key = `${path}\0${line}\0${dir}`;
    const known = this.boundaries.get(key);
    if (known !== undefined) return known;
    const first = Math.floor((dir < 0 ? offset - 1 : offset) / TEXT_PAGE);
    let found = dir < 0 ? 0 : undefined;
    let i = first;
    for (; i >= 0; i += dir) {
      const page = this.page(path, i);
      if (page === undefined) { found ??= i * TEXT_PAGE; break; } // past the last page: the text ends there
      const at = i * TEXT_PAGE;
      const nl = dir < 0 ? page.lastIndexOf("\n", i === first ? offset - at - 1 : page.length) : page.indexOf("\n", i === first ? offset - at : 0);
      if (nl >= 0) { found = at + nl + (dir < 0 ? 1 : 0); break; }
      if (dir > 0 && page.length < TEXT_PAGE) { found = at + page.length; break; }
    }
    if (i !== first) remember(this.boundaries, key, found!, BOUNDARIES);
    return found!;
  }

  private readonly pathCache = new Map<number, string[] | null>();
  /**
   * A document's path by shard and ordinal, without reading its meta: from the index's `paths`
   * table (every path in ordinal order, NUL-separated), or in a shard written before it from the
   * text segment's dictionary (its keys are path NUL page, in ordinal order: the first page of each
   * document). Undefined when the text segment does not list the shard's documents one for one.
   */
  pathOf(shard: number, ord: number): string | undefined {
    let paths = this.pathCache.get(shard);
    if (paths === undefined) {
      const docs = this.docCount(shard);
      const index = this.seg(shard);
      if (index?.header.tables.paths) {
        const b = index.bytes("paths", "all");
        paths = b && b.length ? utf8.decode(b).split("\0") : [];
        if (paths.length !== docs) throw this.corrupt(shard);
      } else {
        const seg = this.open(this.text, "text", shard);
        paths = seg ? seg.allKeys("text").filter((k) => k.endsWith(FIRST_PAGE)).map((k) => k.slice(0, -FIRST_PAGE.length)) : null;
        if (paths && paths.length !== docs) paths = null;
      }
      this.pathCache.set(shard, paths);
    }
    return paths?.[ord];
  }

  /** How many documents a shard holds (its header's stats). */
  docCount(shard: number): number {
    const st = this.seg(shard)?.header.stats as unknown as ShardStats | undefined;
    return st?.docs ?? 0;
  }

  /** The key (20 hex digits of its id) of a document by shard and ordinal. */
  keyOf(shard: number, ord: number): string {
    let all = this.keyCache.get(shard);
    if (all === undefined) {
      const b = this.seg(shard)?.bytes("keys", "all");
      all = b ? utf8.decode(b) : "";
      this.keyCache.set(shard, all);
    }
    const k = all.slice(ord * 20, ord * 20 + 20);
    if (k.length !== 20) throw this.corrupt(shard);
    return k;
  }

  /** A shard's chunk lengths by ordinal (see chunkLens), read once; termChunks (search.ts) reads them per posting. */
  chunkLengths(shard: number): ChunkLengths {
    return this.lenCache.get(shard) ?? this.chunkLens(shard);
  }

  /**
   * A shard's chunk lengths, read once (a query touches most shards' chunks; see ChunkLengths). From
   * table `chunklens` (u32 as stored: nothing to decode, nothing built per document: a loop over
   * every document of every shard was 3 ms of a query over 100,000 files) when the shard has it, else
   * from the varints of table `chunks` (shards written before it).
   */
  private chunkLens(shard: number): ChunkLengths {
    const seg = this.seg(shard);
    const st = seg?.header.stats as unknown as ShardStats | undefined;
    if (seg?.header.tables.chunklens && LITTLE_ENDIAN) {
      let b = seg.bytes("chunklens", "all") ?? new Uint8Array(0);
      if (b.byteOffset % 4 !== 0) b = new Uint8Array(b); // a copy: a value from a companion block may start anywhere
      const u = new Uint32Array(b.buffer, b.byteOffset, Math.floor(b.length / 4));
      const docs = u[0] ?? -1;
      const chunks = u.length - 2 - docs;
      // Adds up, and agrees with the header's counts: a table that does not is damage, not lengths to
      // score with. That the starts never go back is checked for each document read (see ChunkLengths).
      if (b.length % 4 !== 0 || docs < 0 || chunks < 0 || u[1] !== 0 || u[1 + docs] !== chunks ||
        (st?.docs !== undefined && st.docs !== docs) || (st?.chunks !== undefined && st.chunks !== chunks)) throw this.corrupt(shard);
      const t = { starts: u.subarray(1, 1 + docs), ends: u.subarray(2, 2 + docs), lens: u.subarray(2 + docs) };
      this.lenCache.set(shard, t);
      return t;
    }
    const b = seg?.bytes("chunks", "all");
    // Sized from the header's counts; grown if a (damaged) table holds more.
    let starts = new Int32Array(Math.max(1, st?.docs ?? 0)).fill(-1);
    let ends = new Int32Array(starts.length).fill(-1);
    let lens = new Int32Array(Math.max(1, st?.chunks ?? 0));
    let n = 0;
    if (b) {
      const r = new VarintReader(b);
      try {
        while (!r.done) {
          const o = r.next();
          const count = r.next();
          if (o >= starts.length) {
            const g = new Int32Array(o + 1).fill(-1); g.set(starts); starts = g;
            const e = new Int32Array(o + 1).fill(-1); e.set(ends); ends = e;
          }
          if (n + count > lens.length) { const g = new Int32Array(n + count); g.set(lens); lens = g; }
          starts[o] = n;
          ends[o] = n + count;
          for (let i = 0; i < count; i++) lens[n++] = r.next();
        }
      } catch { throw this.corrupt(shard); }
    }
    const t = { starts, ends, lens: lens.subarray(0, n) };
    this.lenCache.set(shard, t);
    return t;
  }

  /** A shared node (technology, reference) with its mentions from every shard. */
  global(id: string): { type: GlobalRecord["type"]; name: string; in: [number, string][] } | undefined {
    let out: { type: GlobalRecord["type"]; name: string; in: [number, string][] } | undefined;
    for (const n of this.shardsHolding("global", id)) {
      const g = this.seg(n)!.get<GlobalRecord>("global", id);
      if (!g) continue;
      out ??= { type: g.type, name: g.name, in: [] };
      for (const [ord, line] of g.in) out.in.push([line, this.keyOf(n, ord)]);
    }
    this.globalNames.set(id, out?.name ?? null);
    return out;
  }

  /** Shared nodes' names already known (a neighbourhood names each node it reached through global() or a document's graph). */
  private readonly globalNames = new Map<string, string | null>();

  /**
   * The names of the references and modules among a document's nodes (docGraph): such an id is a
   * hash of its name, so the name this document gives it is the one every shard has, and globalName
   * need not read a shard for it. Not a technology's (its id is its name folded).
   */
  private noteSharedNames(nodes: GraphNode[]): void {
    for (const n of nodes) if ((n.id.startsWith("ref_") || n.id.startsWith("mod_")) && !this.globalNames.has(n.id)) this.globalNames.set(n.id, n.name);
  }

  /** The spans of the documents read last (see spans): a query's hits come back to the same documents. */
  private readonly spansCache = new Map<string, [number, number, number, number][]>();

  /**
   * A document's chunk spans [start, end, line, end line] (from the small `spans` table, not the
   * record). Kept for the last SPANS_CACHE documents: every chunk hit of a document reads them, and
   * a long one-line file has thousands of chunks (decoding them again for each was quadratic).
   * The arrays are shared: do not change them.
   */
  spans(shard: number, ord: number): [number, number, number, number][] {
    const key = `${shard}/${ord}`;
    const known = this.spansCache.get(key);
    if (known) return known;
    const out = this.decodeSpans(shard, ord);
    remember(this.spansCache, key, out, SPANS_CACHE);
    return out;
  }

  private decodeSpans(shard: number, ord: number): [number, number, number, number][] {
    const b = this.seg(shard)?.bytes("spans", ordKey(ord));
    if (!b) throw this.corrupt(shard);
    const r = new VarintReader(b);
    const out: [number, number, number, number][] = [];
    let s = 0;
    let l = 0;
    try { while (!r.done) { s += r.next(); const len = r.next(); l += r.next(); out.push([s, s + len, l, l + r.next()]); } } catch { throw this.corrupt(shard); }
    return out;
  }

  /**
   * A shared node's name, from the first shard that mentions it. `hint`: a shard that probably does
   * (the shard of a document it was reached from). A reference's or module's id is a hash of its
   * name, so any shard's entry will do: the hint's is taken. A technology's id is its name folded
   * (two spellings could share it), so the shards before the hint are read first.
   */
  globalName(id: string, hint?: number): string | undefined {
    let name = this.globalNames.get(id);
    if (name === undefined) {
      name = null;
      const holding = this.shardsHolding("global", id);
      const hinted = hint !== undefined && holding.includes(hint) ? this.seg(hint)!.get<GlobalRecord>("global", id) : undefined;
      if (hinted && !id.startsWith("tech_")) name = hinted.name;
      else for (const n of holding) {
        const g = n === hint ? hinted : this.seg(n)!.get<GlobalRecord>("global", id);
        if (g) { name = g.name; break; }
      }
      this.globalNames.set(id, name);
    }
    return name ?? undefined;
  }

  /** The shard of a document's own node (doc_, sec_, chk_, dec_, clm_, sym_), else undefined. */
  shardOfNode(id: string): number | undefined {
    const m = LOCAL.exec(id);
    return m ? shardOfKey(m[2]!, this.shardCount) : undefined;
  }

  /** Links into a document from every shard: [line, source key]. */
  linksTo(path: string): [number, string][] {
    const out: [number, string][] = [];
    for (const n of this.shardsHolding("links", path)) for (const [ord, line] of this.seg(n)!.get<Mention[]>("links", path) ?? []) out.push([line, this.keyOf(n, ord)]);
    return out;
  }

  /** A term's chunk and entity postings in every shard that has either: one dictionary lookup per shard (see mergeTerms in pipeline/shard.ts). */
  private termEntries(term: string): [number, Uint8Array, Uint8Array][] {
    let out = this.termCache.get(term);
    if (out) return out;
    out = [];
    for (const n of this.shards) {
      const v = this.seg(n)!.bytes("terms", term);
      if (v) out.push(this.splitEntry(n, v));
    }
    this.termCache.set(term, out);
    return out;
  }

  /** A `terms` value: varint(length of the chunk postings), the chunk postings, the entity postings. */
  private splitEntry(n: number, v: Uint8Array): [number, Uint8Array, Uint8Array] {
    const r = new VarintReader(v);
    let len: number;
    try { len = r.next(); } catch { throw this.corrupt(n); }
    if (r.at + len > v.length) throw this.corrupt(n);
    return [n, v.subarray(r.at, r.at + len), v.subarray(r.at + len)];
  }

  /**
   * Reads the entries of `terms` (sorted) with one walk of each shard's dictionary over their range,
   * instead of one lookup per term and shard (a prefix expands to up to 32 terms: 1,024 lookups on
   * 32 shards).
   */
  private prefetch(terms: string[]): void {
    const want = terms.filter((t) => !this.termCache.has(t));
    if (want.length < 2) return;
    const found = new Map<string, [number, Uint8Array, Uint8Array][]>(want.map((t) => [t, []]));
    const to = want[want.length - 1]! + "\u0000";
    for (const n of this.shards) {
      for (const [k, v] of this.seg(n)!.rangeBytes("terms", want[0]!, to)) found.get(k)?.push(this.splitEntry(n, v));
    }
    for (const [t, e] of found) this.termCache.set(t, e);
  }

  /** Term postings of every shard (varints, see pipeline/shard.ts): the shards whose entry has chunk postings. */
  postings(term: string): [number, Uint8Array][] {
    return this.termEntries(term).filter(([, c]) => c.length > 0).map(([n, c]) => [n, c]);
  }

  /** Terms of the dictionary that start with `prefix`, over every shard, sorted. */
  termsWithPrefix(prefix: string, max: number): string[] {
    // The first `max` of the union are among each shard's own first `max` (each shard's keys are
    // in order): every shard gives that many. (A budget shared by the shards let the first one fill
    // it, and a later shard's words that sort before its keys were never seen.)
    const set = new Set<string>();
    for (const n of this.shards) for (const t of this.seg(n)!.keysWithPrefix("terms", prefix, max)) set.add(t);
    const chosen = [...set].sort(cmp).slice(0, max);
    this.prefetch(chosen);
    return chosen;
  }

  /**
   * For each of `words`, every word (a term of letters, digits and `_` only: compounds are made of
   * such words) that contains it, over every shard's whole dictionary, sorted. Each shard's
   * dictionary is read through once for all the words, and each term's postings are taken from the
   * shards that hold it only.
   */
  termsContaining(words: string[]): Map<string, string[]> {
    const wanted = [...new Set(words)];
    // A cache whose checksum held but whose lines do not is made again from the dictionaries.
    const found = this.words().containing(wanted) ?? this.words(false).containing(wanted)!;
    const where = found.map((f) => new Map(f));
    const out = new Map<string, string[]>();
    wanted.forEach((word, w) => {
      for (const [t, shards] of where[w]!) {
        if (this.termCache.has(t)) continue;
        const entries: [number, Uint8Array, Uint8Array][] = [];
        for (const n of shards) { const v = this.seg(n)?.bytes("terms", t); if (v) entries.push(this.splitEntry(n, v)); }
        this.termCache.set(t, entries);
      }
      out.set(word, [...where[w]!.keys()].sort(cmp));
    });
    return out;
  }

  private wordsCache?: Words;
  /**
   * The run's words and the shards holding each (query/words.ts), read or made on first use;
   * `useCache` false: made again from the dictionaries alone (see loadWords).
   */
  words(useCache = true): Words {
    if (!this.wordsCache || !useCache) {
      this.wordsCache = loadWords(this.store.profileDir, this.indexObjects(), (n, block) => segmentBlocks(this.seg(n)!, block), this.opts.writeCaches ?? false, useCache);
    }
    return this.wordsCache;
  }

  entPostings(term: string): [number, EntPosting[]][] {
    const hit = this.entCacheByTerm.get(term);
    if (hit) return hit;
    const out: [number, EntPosting[]][] = [];
    for (const [n, , bytes] of this.termEntries(term)) {
      if (!bytes.length) continue;
      const r = new VarintReader(bytes);
      const list: EntPosting[] = [];
      let ent = 0;
      try {
        while (!r.done) {
          ent += r.next();
          const lt = r.next();
          const code = lt % (1 << ENT_TYPE_BITS);
          const type = ENT_TYPES[code] ?? "document";
          const tf = r.next();
          const len = Math.floor(lt / (1 << ENT_TYPE_BITS));
          list.push(code >= SHARED_TYPE ? { ent, type, len, tf, hash: r.next() } : { ent, type, len, tf });
        }
      } catch { throw this.corrupt(n); }
      out.push([n, list]);
    }
    this.entCacheByTerm.set(term, out);
    return out;
  }

  /** An entity of the entity index, with its node id rebuilt (see EntityRecord in pipeline/shard.ts). */
  entity(shard: number, ent: number): { id: string; ord: number; line: number; key?: string } | undefined {
    const at = this.locateEntity(shard, ent);
    if (!at) return undefined;
    const { ord, i, shared } = at;
    if (shared) return { id: shared[3], ord, line: shared[2], key: this.keyOf(shard, ord) };
    if (i === undefined) return { id: `doc_${this.keyOf(shard, ord)}`, ord, line: 1 };
    const rec = this.doc(shard, ord);
    const key = this.keyOf(shard, ord);
    if (i < rec.sections.length) return { id: `sec_${key}_${i}`, ord, line: rec.sections[i]![2] };
    const j = i - rec.sections.length - (rec.decision ? 1 : 0);
    if (j < 0) return { id: `dec_${key}`, ord, line: 1 };
    const claim = rec.claims[j];
    if (claim) return { id: `clm_${key}_${claim[0]}`, ord, line: claim[0] };
    const s = j - rec.claims.length;
    const sym = rec.symbols?.[s];
    return sym && { id: `sym_${key}_${s}`, ord, line: sym[2] };
  }

  /**
   * The ordinal of the document an entity belongs to (or is), without reading that document's
   * record: what a path or tag filter needs of every candidate entity; undefined when there is no such entity.
   */
  entityDoc(shard: number, ent: number): number | undefined { return this.locateEntity(shard, ent)?.ord; }

  /**
   * Where an entity is: a document (entity i < documents is document i), the i-th own entity
   * (section, decision, claim, symbol) of document `ord`, or a shared node's `entities` record.
   */
  private locateEntity(shard: number, ent: number): { ord: number; i?: number; shared?: EntityRecord } | undefined {
    const seg = this.seg(shard);
    if (!seg) return undefined;
    const docs = this.docCount(shard);
    if (ent < docs) return { ord: ent };
    const starts = this.entStarts(shard);
    if (ent < docs + starts[starts.length - 1]!) {
      // The document whose entities hold `ent`: the last start at or before it.
      const k = ent - docs;
      const ord = Math.max(0, countAtOrBelow(starts, k, starts.length - 1) - 1);
      return { ord, i: k - starts[ord]! };
    }
    const e = seg.get<EntityRecord>("entities", ordKey(ent));
    return e && { ord: e[1], shared: e };
  }

  /** Per document of a shard, where its own entities start (relative to the first one after the documents); one more at the end. */
  private entStarts(shard: number): number[] {
    let starts = this.entCache.get(shard);
    if (!starts) {
      starts = [0];
      const b = this.seg(shard)?.bytes("entdocs", "all");
      if (b) {
        const r = new VarintReader(b);
        try { while (!r.done) starts.push(starts[starts.length - 1]! + r.next()); } catch { throw this.corrupt(shard); }
      }
      this.entCache.set(shard, starts);
    }
    return starts;
  }

  /** A shard's index object (sha256). */
  private indexObject(n: number): string { return this.byName.get(shardName("index", n))!; }
  /** Each shard's index object: what the words and filters caches are kept by. */
  private indexObjects(): Map<number, string> { return new Map(this.shards.map((n) => [n, this.indexObject(n)])); }

  /** The error for a damaged index segment (exit 5). */
  corrupt(n: number): Error { return corrupt(objectPath(this.store.profileDir, this.indexObject(n))); }

  private readonly nodesCache = new Map<string, Map<string, GraphNode>>();
  /**
   * A document's own nodes by id (the document, its sections, chunks, decision, claims, symbols):
   * from its graph part when that is built, else without resolving its links and code spans (docGraph does).
   */
  docNodes(rec: DocRecord): Map<string, GraphNode> {
    let byId = this.nodesCache.get(rec.path);
    if (!byId) {
      const nodes = (this.graphCache.get(rec.path) ?? entryGraph(rec.path, rec as unknown as FileEntry)).nodes;
      byId = new Map(nodes.map((n) => [n.id, n]));
      this.nodesCache.set(rec.path, byId);
    }
    return byId;
  }

  private readonly edgeCache = new Map<string, Map<string, { out: GraphEdge[]; in: GraphEdge[] }>>();
  /** A document's graph part's edges by the node they leave and the node they reach (in the part's order; cached). */
  private partEdges(path: string, part: { edges: GraphEdge[] }): Map<string, { out: GraphEdge[]; in: GraphEdge[] }> {
    let byNode = this.edgeCache.get(path);
    if (!byNode) {
      byNode = new Map();
      const at = (id: string) => { let x = byNode!.get(id); if (!x) byNode!.set(id, (x = { out: [], in: [] })); return x; };
      for (const e of part.edges) { at(e.source).out.push(e); at(e.target).in.push(e); }
      this.edgeCache.set(path, byNode);
    }
    return byNode;
  }

  /** The graph part of one document: its own nodes and edges, links resolved against this run (cached). */
  docGraph(rec: DocRecord): { nodes: GraphNode[]; edges: GraphEdge[] } {
    const cached = this.graphCache.get(rec.path);
    if (cached) return cached;
    const part = entryGraph(rec.path, rec as unknown as FileEntry);
    const id = part.nodes[0]!.id;
    const seen = new Set<string>();
    for (const [target, line] of rec.links) {
      const to = docId(target);
      if (to === id || seen.has(to) || !this.hasDoc(target)) continue;
      seen.add(to);
      part.edges.push({ source: id, target: to, type: "links_to", line });
    }
    // A code span naming a symbol: a mention of its definition (one per name, see symbolFor).
    for (const [name, line] of rec.symrefs ?? []) {
      const to = this.symbolFor(name);
      if (to && !seen.has(to)) { seen.add(to); part.edges.push({ source: id, target: to, type: "mentions", line }); }
    }
    this.noteSharedNames(part.nodes);
    // Cached once complete: a lookup above that throws (a damaged shard) must not leave a long-lived
    // index (the ui's, the MCP server's) answering from a part without its links.
    this.graphCache.set(rec.path, part);
    return part;
  }

  private readonly symCache = new Map<string, string | null>();
  private anySymbols?: boolean;
  /** Every symbol name of the run (read once, see symbolFor), and how many names were looked up before. */
  private symNames?: Set<string>;
  private symLookups = 0;
  /**
   * The symbol a name resolves to, over every shard: exported before not, top-level before members,
   * then by path and line (a deterministic choice when several files define the name). Only for
   * code-span `mentions` edges: undefined for every name in a run whose manifest counts none.
   */
  symbolFor(name: string): string | undefined {
    // A run without symbols (no code files, or ingestion.symbols false) has nothing to look up.
    // Its callers only make code-span `mentions` edges, which the manifest counts: when it counts
    // none, no name resolves, and no shard is opened to find that out.
    this.anySymbols ??= this.store.manifest.counts.symbol_mentions !== 0 && (this.typeCounts().symbol ?? 0) > 0;
    if (!this.anySymbols) return undefined;
    let hit = this.symCache.get(name);
    if (hit === undefined) {
      // A name is looked up in the shards whose filter may hold it. Shards written before the filters
      // would each be read, and most code spans name no symbol: past a few names (a walk over many
      // documents), every shard's symbol names are then read once instead.
      if (!this.symNames && ++this.symLookups > SYMBOL_NAMES_AFTER && !this.filtered) {
        // Kept only once complete: a damaged shard throws (exit 5), and an index that lives on
        // (the MCP server's) must not go on answering from part of the names.
        const names = new Set<string>();
        for (const n of this.shards) for (const k of this.seg(n)!.allKeys("symbols")) names.add(k);
        this.symNames = names;
      }
      let best: SymbolEntry | undefined;
      if (!this.symNames || this.symNames.has(name)) {
        for (const n of this.shardsHolding("symbols", name)) {
          for (const e of this.seg(n)!.get<SymbolEntry[]>("symbols", name) ?? []) if (!best || symbolOrder(e, best) < 0) best = e;
        }
      }
      hit = best ? symbolIdOf(best) : null;
      this.symCache.set(name, hit);
    }
    return hit ?? undefined;
  }

  /**
   * Markdown mentions of a symbol (code spans naming it by name or Container.name) that resolve to
   * it: one edge per document, at its first such span (as the document's own edges, docGraph).
   */
  private symbolMentions(id: string, name: string, container?: string): GraphEdge[] {
    const bySource = new Map<string, GraphEdge>();
    for (const k of container ? [name, `${container}.${name}`] : [name]) {
      if (this.symbolFor(k) !== id) continue;
      for (const n of this.shardsHolding("symrefs", k)) {
        for (const [ord, line] of this.seg(n)!.get<Mention[]>("symrefs", k) ?? []) {
          const source = `doc_${this.keyOf(n, ord)}`;
          const e = bySource.get(source);
          if (!e || line < e.line!) bySource.set(source, { source, target: id, type: "mentions", line });
        }
      }
    }
    return [...bySource.values()];
  }

  /** The run's commits and authors (git provenance), or null when it has none (a damaged artifact: exit 5). */
  git(): GitGraph | null {
    if (this.gitGraph === undefined) {
      const sha = this.byName.get(GIT_ARTIFACT);
      if (!sha) return (this.gitGraph = null);
      const text = readObjectText(this.store.profileDir, sha);
      try { this.gitGraph = GitGraph.parse(text); } catch { throw corrupt(objectPath(this.store.profileDir, sha)); }
    }
    return this.gitGraph;
  }

  /** The document id of a workspace path ingested in this run (git `modified` edges resolve through it). */
  docIdOf = (path: string): string | undefined => (this.hasDoc(path) ? docId(path) : undefined);

  /** One node by id, with its edges in both directions (sorted), or undefined. */
  node(id: string): { node: GraphNode; out: GraphEdge[]; in: GraphEdge[] } | undefined {
    if (id.startsWith("commit_") || id.startsWith("author_")) {
      const r = this.git()?.node(id, this.docIdOf);
      return r && { node: r.node, out: r.out.sort(edgeOrder), in: r.in.sort(edgeOrder) };
    }
    const m = LOCAL.exec(id);
    if (m) {
      const d = this.docByKey(m[2]!);
      if (!d) return undefined;
      const part = this.docGraph(d.rec);
      const node = this.docNodes(d.rec).get(id);
      if (!node) return undefined;
      const own = this.partEdges(d.rec.path, part).get(id);
      const out = [...(own?.out ?? [])].sort(edgeOrder);
      const inn = m[1] === "doc"
        ? [...this.linksTo(d.rec.path).map(([line, key]): GraphEdge => ({ source: `doc_${key}`, target: id, type: "links_to", line })), ...(this.git()?.modifiedInto(d.rec.path, id) ?? [])]
        : m[1] === "sym"
          ? [...(own?.in ?? []), ...this.symbolMentions(id, node.name, node.attrs?.container as string | undefined)]
          : [...(own?.in ?? [])];
      return { node, out, in: [...new Map(inn.map((e) => [`${e.source}\0${e.type}`, e])).values()].sort(edgeOrder) };
    }
    const prefix = sharedPrefix(id);
    if (prefix) {
      const g = this.global(id);
      if (!g) return undefined;
      const type = SHARED_EDGE[prefix];
      const inn = g.in.map(([line, key]): GraphEdge => ({ source: `doc_${key}`, target: id, type, line })).sort(edgeOrder);
      return { node: { id, type: g.type, name: g.name }, out: [], in: inn };
    }
    return undefined;
  }

  /**
   * A node without its edges: a document from its meta (cheaper than its whole record), a node of a
   * document from the document's own nodes (its links and code spans are not resolved), a shared
   * node by name (`hint`: see globalName).
   */
  nodeOnly(id: string, hint?: number): GraphNode | undefined {
    const m = LOCAL.exec(id);
    if (m && m[1] !== "doc") {
      const d = this.docByKey(m[2]!);
      return d && this.docNodes(d.rec).get(id);
    }
    if (m && m[1] === "doc") {
      if (m[3] !== undefined) return undefined;   // a document's id has no `_n` (LOCAL allows it for the others)
      const r = this.refOf(m[2]!);
      const meta = r && this.meta(r.shard, r.ord);
      if (!meta) return undefined;
      return {
        id, type: "document", name: meta.title, path: meta.path, line: 1,
        attrs: { kind: meta.kind, ...(meta.frontmatter ? { frontmatter: meta.frontmatter } : {}), ...(meta.code_spans ? { code_spans: meta.code_spans } : {}), ...(meta.pages ? { pages: meta.pages.length } : {}) },
      };
    }
    const prefix = sharedPrefix(id);
    if (prefix) {
      const name = this.globalName(id, hint);
      return name === undefined ? undefined : { id, type: prefix === "tech_" ? "technology" : prefix === "ref_" ? "reference" : "module", name };
    }
    if (id.startsWith("commit_") || id.startsWith("author_")) return this.git()?.nodeOnly(id);
    return this.node(id)?.node;
  }

  /** Where a node comes from: its own path, or (shared nodes) the mention from the smallest document id. */
  locate(n: GraphNode, inEdges?: GraphEdge[]): { path: string; line: number } {
    if (n.path) return { path: n.path, line: n.line ?? 1 };
    const e = (inEdges ?? this.node(n.id)?.in ?? [])[0];
    if (!e) return { path: "", line: 1 };
    return { path: this.nodeOnly(e.source)?.path ?? "", line: e.line ?? 1 };
  }
}


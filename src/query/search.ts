/**
 * Ranked search over the index. Chunks are scored with BM25F (k1 1.2, b 0.75; a term in a
 * heading counts 2.5, in code 1.5, in body text 1, and a chunk whose document's title or tags
 * hold the term gets 2 more) and entities (documents by title, tags and file name; sections,
 * decisions, claims, technologies, references by name) with BM25 over their names. Each list's
 * scores are divided by the best score the query could reach in that list (the sum over its
 * clauses of idf × (k1 + 1)), so both lie in 0..1 and can be merged; a hit matching m of n clauses
 * scores (m - 1 + that share) / n, so a hit with more of the words ranks above any with fewer, and
 * any word counts.
 * Phrases are required. Every hit reports the line of its best match, a snippet and the matches.
 */
import { docId } from "../pipeline/extract.ts";
import { documentNames, TEXT_PAGE, type DocMeta } from "../pipeline/shard.ts";
import { eachOutsideWords, holdsPhrase, holdsSequence, identParts, isWordTerm, MAX_TERM, nameTerms, wordRuns } from "../pipeline/tokens.ts";
import { VarintReader } from "../store/varint.ts";
import { wholeAt } from "../shared/errors.ts";
import { globMatcher, type Clause, type ParsedQuery } from "./parse.ts";
import type { EntPosting, RunIndex } from "./run-index.ts";

const K1 = 1.2;
const B = 0.75;
const W_HEADING = 2.5;
const W_CODE = 1.5;
const W_BODY = 1;
const W_TITLE = 2;
/**
 * The words a prefix (`con*`) is searched as, at most (in alphabetical order; a warning says when
 * there are more). Every expansion's postings are read: corpus-2000's `con*` (1,027 words) takes
 * about 0.2 s, against 0.1 s for its first 32.
 */
export const MAX_PREFIX_TERMS = 4096;
const MAX_MATCHES = 50;
/** A shared node's mentions read, at most, for a line that holds a match (see materialize). */
const MENTIONS_TRIED = 16;
const SNIPPET = 160;

export type Match = { term: string; line: number; column: number };
export type Explain = { clause: string; idf: number; tf: Record<string, number>; length: number; score: number }[];
export type Hit = {
  id: string; type: string; score: number; path: string; line: number; name: string;
  /** PDF hits: the page (1-based) and the line within it (`line` counts in the whole extracted text). */
  page?: number; page_line?: number;
  snippet: string; matches: Match[]; explain?: { clauses: Explain; matched: number; of: number; normalizer: number; scaled?: number };
};

type ChunkKey = number; // (shard × 2^20 + ordinal) × 2^16 + chunk
/** A document as one number: shard × 2^20 + ordinal. */
const dkey = (shard: number, ord: number) => shard * 1048576 + ord;
const shardOfDk = (k: number) => Math.floor(k / 1048576);
const ordOfDk = (k: number) => k % 1048576;
const ckey = (shard: number, ord: number, ci: number) => dkey(shard, ord) * 65536 + ci;

const idf = (n: number, df: number) => Math.log(1 + (n - df + 0.5) / (df + 0.5));
/** One clause's BM25 contribution, for a (field-weighted) tf in a unit of `len` terms. */
const termScore = (w: number, tf: number, len: number, avg: number) => (w * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * len) / avg));
/**
 * A hit's score: its sum over the list's ideal (r, above 0 and below 1: each clause's BM25 stays
 * under idf × (k1 + 1)) placed in the band of the clauses it matched, (m - 1 + r) / n. The bands do
 * not overlap: every hit holding m words scores above every hit holding fewer, whatever the lengths.
 */
const finalScore = (raw: number, normalizer: number, matched: number, clauses: number) => (matched - 1 + Math.min(1, raw / normalizer)) / clauses;
const round = (x: number) => Math.round(x * 1e6) / 1e6;
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A term's (or a phrase's) chunks as parallel typed arrays (the first `n` entries), in ascending
 * chunk key order (shards in order, then ordinal, then chunk: the order postings are stored in).
 * Columns instead of an object per chunk: a common word is in most chunks of a large workspace
 * (100,000 files: 100,000 chunks).
 */
class Plist {
  n = 0;
  keys: Float64Array;
  lens: Int32Array;
  h: Int32Array;
  c: Int32Array;
  b: Int32Array;
  /**
   * Where each entry's positions are (a phrase decodes only the entries every term has): the
   * postings bytes (`bufs[buf[i]]`), the offset of the first position's varint, how many there
   * are, and the position they are deltas from (positions run on across a document's chunks).
   */
  readonly pos?: { bufs: Uint8Array[]; buf: Int32Array; off: Int32Array; count: Int32Array; base: Float64Array };
  constructor(capacity: number, withPositions: boolean) {
    const cap = Math.max(4, capacity);
    this.keys = new Float64Array(cap); this.lens = new Int32Array(cap); this.h = new Int32Array(cap); this.c = new Int32Array(cap); this.b = new Int32Array(cap);
    if (withPositions) this.pos = { bufs: [], buf: new Int32Array(cap), off: new Int32Array(cap), count: new Int32Array(cap), base: new Float64Array(cap) };
  }
  push(key: number, len: number, h: number, c: number, b: number): number {
    if (this.n === this.keys.length) {
      const grow = <T extends Float64Array | Int32Array>(a: T): T => { const g = new (a.constructor as { new(n: number): T })(a.length * 2); g.set(a); return g; };
      this.keys = grow(this.keys); this.lens = grow(this.lens); this.h = grow(this.h); this.c = grow(this.c); this.b = grow(this.b);
      const p = this.pos;
      if (p) { p.buf = grow(p.buf); p.off = grow(p.off); p.count = grow(p.count); p.base = grow(p.base); }
    }
    const i = this.n++;
    this.keys[i] = key; this.lens[i] = len; this.h[i] = h; this.c[i] = c; this.b[i] = b;
    return i;
  }
  /** Entry i's positions, ascending (a list built with positions). */
  positions(i: number): number[] {
    const p = this.pos!;
    const r = new VarintReader(p.bufs[p.buf[i]!]!);
    r.at = p.off[i]!;
    const out: number[] = [];
    let at = p.base[i]!;
    for (let k = p.count[i]!; k > 0; k--) { at += r.next(); out.push(at); }
    return out;
  }
}
/** A chunk key's document key (shard × 2^20 + ordinal). */
const dkeyOfCk = (k: ChunkKey) => Math.floor(k / 65536);

/**
 * A term's chunks (with where their positions are when a phrase needs them), from its varints
 * (format: PostingsBuilder.encode in pipeline/shard.ts). The varints are decoded here, not through
 * VarintReader, and a chunk's length is read from its shard's table directly: a read command runs
 * this loop in the interpreter (src/shared/jit.ts), where a call per varint and per chunk was most
 * of its time (corpus-2000, `event loop`: 2,400 chunks).
 */
function termChunks(ix: RunIndex, term: string, withPositions = false): Plist {
  const lists = ix.postings(term);
  // At least 3 bytes an entry (a document, a chunk and a head varint): room for all of them without growing.
  const out = new Plist(lists.reduce((s, [, b]) => s + Math.ceil(b.length / 3), 0), withPositions);
  const pos = out.pos;
  const { keys, lens, h: hs, c: cs, b: bs } = out;
  let i = 0;
  let last = -1;
  for (const [shard, buf] of lists) {
    const { starts, ends, lens: chunkLens } = ix.chunkLengths(shard);
    const bi = pos ? pos.bufs.push(buf) - 1 : 0;
    const end = buf.length;
    let at = 0;
    let ord = -1;
    let ci = 0;
    let p = 0;
    let x = 0;
    // A varint of more than one byte (or none: past the end, `buf[at]` is undefined) is read by
    // VarintReader from its first byte, which checks its length, range and end.
    const r = new VarintReader(buf);
    const long = (): number => { r.at = at - 1; const v = r.next(); at = r.at; return v; };
    try {
      while (at < end) {
        const dOrd = (x = buf[at++]!) < 0x80 ? x : long();
        const c0 = (x = buf[at++]!) < 0x80 ? x : long();
        if (ord < 0 || dOrd > 0) { ord = ord < 0 ? dOrd : ord + dOrd; ci = c0; p = 0; } else ci += c0;
        const head = (x = buf[at++]!) < 0x80 ? x : long();
        const n = Math.floor(head / 8);
        const mode = head % 4;
        let h = 0, c = 0, b = 0;
        if (mode === 3) {
          h = (x = buf[at++]!) < 0x80 ? x : long();
          c = (x = buf[at++]!) < 0x80 ? x : long();
          b = (x = buf[at++]!) < 0x80 ? x : long();
        } else if (mode === 1) h = n; else if (mode === 2) c = n; else b = n;
        let xs = 0;
        if (head & 4) {
          xs = (x = buf[at++]!) < 0x80 ? x : long();
        }
        const key = ckey(shard, ord, ci);
        if (key <= last || ord >= 1048576 || ci >= 65536) throw new Error("postings out of order");
        last = key;
        const first = ord < starts.length ? starts[ord]! : -1;
        const past = first < 0 ? -1 : ends[ord]!;
        if (past < first) throw new Error("chunk lengths out of order");
        keys[i] = key; lens[i] = first < 0 || ci >= past - first ? 1 : chunkLens[first + ci] ?? 1; hs[i] = h; cs[i] = c; bs[i] = b;
        if (pos) {
          pos.buf[i] = bi; pos.off[i] = at; pos.count[i] = Math.max(0, n - xs); pos.base[i] = p;
          for (let k = n - xs; k > 0; k--) p += (x = buf[at++]!) < 0x80 ? x : long();
        } else {
          // Positions are not needed: each varint's last byte is below 0x80.
          for (let k = n - xs; k > 0; at++) {
            if (at >= end) throw new RangeError("truncated varint");
            if (buf[at]! < 0x80) k--;
          }
        }
        i++;
      }
    } catch { throw ix.corrupt(shard); }
  }
  // The capacity holds: every entry reads at least 3 bytes. A format change that broke that would
  // have lost entries above (a typed array drops writes past its end): a bug, not damage.
  if (i > keys.length) throw new Error(`termChunks: ${i} entries for a capacity of ${keys.length}`);
  out.n = i;
  return out;
}

/** Two lists as one: a chunk in both sums its field counts. */
function mergeTwo(x: Plist, y: Plist): Plist {
  const out = new Plist(x.n + y.n, false);
  let i = 0, j = 0;
  const take = (l: Plist, k: number) => out.push(l.keys[k]!, l.lens[k]!, l.h[k]!, l.c[k]!, l.b[k]!);
  while (i < x.n || j < y.n) {
    const a = i < x.n ? x.keys[i]! : Infinity;
    const b = j < y.n ? y.keys[j]! : Infinity;
    if (a < b) take(x, i++);
    else if (b < a) take(y, j++);
    else {
      const at = take(x, i);
      out.h[at]! += y.h[j]!; out.c[at]! += y.c[j]!; out.b[at]! += y.b[j]!;
      i++; j++;
    }
  }
  return out;
}

/** The union of several terms' lists (a prefix's expansions), merged pairwise. */
function unionChunks(parts: Plist[]): Plist {
  if (parts.length === 0) return new Plist(0, false);
  let level = parts;
  while (level.length > 1) {
    const next: Plist[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? mergeTwo(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0]!;
}

/**
 * Chunks holding the terms at consecutive positions; the phrase's occurrences count as its tf.
 * The lists are intersected by key first; positions are decoded only for chunks that hold every term.
 */
function phraseChunks(ix: RunIndex, terms: string[]): Plist {
  const lists = terms.map((t) => termChunks(ix, t, true));
  const [first, ...rest] = lists;
  const out = new Plist(first!.n, false);
  const at = rest.map(() => 0);
  for (let i = 0; i < first!.n; i++) {
    const k = first!.keys[i]!;
    // Every other term's entries for this chunk and the next chunk of its document: a phrase that
    // starts in this chunk's core may end in the next one (positions run on across a document's
    // chunks). Each list is in key order: pointers only move forward.
    const last = k % 65536 < 65535 ? k + 1 : k;
    let all = true;
    for (let r = 0; r < rest.length && all; r++) {
      const l = rest[r]!;
      while (at[r]! < l.n && l.keys[at[r]!]! < k) at[r]!++;
      all = at[r]! < l.n && l.keys[at[r]!]! <= last;
    }
    if (!all) continue;
    // Starts: positions p of the first term (in this chunk) with term r + 1 at p + r + 1 (sorted lists, walked once each).
    let starts = first!.positions(i);
    let heading = first!.h[i]! > 0;
    let code = first!.c[i]! > 0;
    for (let r = 0; r < rest.length && starts.length; r++) {
      const l = rest[r]!;
      let next: number[] = [];
      let h = false, c = false;
      for (let j = at[r]!; j < l.n && l.keys[j]! <= last; j++) { next = next.concat(l.positions(j)); h ||= l.h[j]! > 0; c ||= l.c[j]! > 0; }
      heading &&= h;
      code &&= c;
      const keep: number[] = [];
      let q = 0;
      for (const p of starts) {
        const want = p + r + 1;
        while (q < next.length && next[q]! < want) q++;
        if (q < next.length && next[q] === want) keep.push(p);
      }
      starts = keep;
    }
    if (starts.length === 0) continue;
    out.push(k, first!.lens[i]!, heading ? starts.length : 0, !heading && code ? starts.length : 0, !heading && !code ? starts.length : 0);
  }
  return out;
}

/** The terms a clause looks for in a line when reporting matches. */
type Want = { words: string[]; compounds: string[]; prefix?: string; infix?: string; phrase?: string[] };
function wanted(c: Clause, usedFallback: boolean): Want {
  if (c.kind === "prefix") return { words: [], compounds: [], prefix: c.prefix };
  if (c.kind === "infix") return { words: [], compounds: [], infix: c.word };
  // A phrase's words are matched one by one (a phrase broken across two lines still shows), but a
  // line counts it as matched only when they stand there in order (see matchLine).
  if (c.kind === "phrase") return { words: c.terms, compounds: [], phrase: c.terms };
  const isCompound = !isWordTerm(c.term);
  const words = usedFallback ? c.fallback ?? [] : isCompound ? [] : [c.term];
  // An identifier's words searched as a phrase (its compound is not indexed) are a phrase here too.
  return { words, compounds: isCompound && !usedFallback ? [c.term] : [], ...(usedFallback && words.length > 1 ? { phrase: words } : {}) };
}

const LINE_TERM = wordRuns();
// From the start of a run only, as the indexer's COMPOUND (pipeline/tokens.ts): without the
// lookbehind a long run of letters on a shown line was tried again from each of them (quadratic).
const LINE_COMPOUND = /(?<![A-Za-z0-9_-])(?:--?)?[A-Za-z0-9_]+(?:(?:\.|::|->|-|\/)[A-Za-z0-9_]+)+/g;

/** A line's matches; `loose` as above, and then `toks`, the line's words (lower-cased) to see if a loose phrase goes on over the next lines. */
type LineMatches = [number, string, number][] & { loose?: Set<number>; toks?: string[] };

/**
 * Matches of the clauses in one line: [clause index, term, column]. `loose`: the phrase clauses
 * whose words the line has, but not in order (the line does not match them).
 */
function matchLine(line: string, want: Want[]): LineMatches {
  const out: LineMatches = [];
  const toks: string[] | undefined = want.some((w) => w.phrase) ? [] : undefined;
  LINE_TERM.lastIndex = 0;
  for (let m = LINE_TERM.exec(line); m; m = LINE_TERM.exec(line)) {
    const t = m[0].toLowerCase();
    toks?.push(t);
    // A part is a piece of the word: split it only when the word holds a wanted term at all.
    let parts: string[] | undefined;
    let partAt: number[] | undefined;
    for (let i = 0; i < want.length; i++) {
      const w = want[i]!;
      if (w.infix !== undefined && t.includes(w.infix)) { out.push([i, t, m.index + 1]); continue; }
      if (w.words.includes(t) || (w.prefix && t.startsWith(w.prefix))) { out.push([i, t, m.index + 1]); continue; }
      if (!w.words.some((x) => t.includes(x)) && !(w.prefix && t.includes(w.prefix))) continue;
      if (!parts) {
        parts = identParts(m[0]);
        // Where each part is in the word: parts come in the word's order, so each is looked for
        // after the one before (`pool` in `spool_pool` is the second word, not inside the first).
        // Looked for in the word lower-cased letter by letter, a letter whose lower case is longer
        // (`İ`) kept as it is, so that offsets are the word's own.
        const same = t.length === m[0].length ? t : Array.from(m[0], (ch) => { const l = ch.toLowerCase(); return l.length === ch.length ? l : ch; }).join("");
        partAt = [];
        for (let j = 0, from = 0; j < parts.length; j++) {
          const k = same.indexOf(parts[j]!, from);
          partAt.push(k < 0 ? 0 : k);
          if (k >= 0) from = k + parts[j]!.length;
        }
      }
      // The first matching part at its own column; for a phrase, each of its words that stands
      // in the identifier (`file` and `sync` in `readFileSync`). Only a phrase's: a line's matches
      // rank it among the chunk's lines, and `con*` twice in `myConfigConnection` put that line
      // above one holding the word `con`.
      let found = false;
      for (let j = 0; j < parts.length && (!found || w.phrase); j++) {
        const p = parts[j]!;
        if (w.words.includes(p) || (w.prefix && p.startsWith(w.prefix))) { out.push([i, p, m.index + 1 + partAt![j]!]); found = true; }
      }
      // A term the index took from inside a word over 40 characters (its windows, tokens.ts) is no
      // part identParts gives: the word holds it, at its own column.
      if (!found && t.length > MAX_TERM && t.length === m[0].length) {
        const x = w.words.find((x) => t.includes(x)) ?? (w.prefix && t.includes(w.prefix) ? w.prefix : undefined);
        if (x !== undefined) out.push([i, x, m.index + 1 + t.indexOf(x)]);
      }
    }
  }
  if (want.some((w) => w.compounds.length)) {
    const lower = line.toLowerCase();
    eachOutsideWords(LINE_COMPOUND, lower, Infinity, (m) => want.forEach((w, i) => { if (w.compounds.includes(m[0])) out.push([i, m[0], m.index + 1]); }));
  }
  if (toks && out.length) {
    want.forEach((w, i) => {
      const p = w.phrase;
      if (p && out.some((m) => m[0] === i) && !holdsSequence(toks, p)) (out.loose ??= new Set()).add(i);
    });
    if (out.loose) out.toks = toks;
  }
  return out.sort((a, b) => a[2] - b[2]);
}

/** Lines a broken phrase is followed over (blank ones count): a phrase is a few words, not a page. */
const PHRASE_LINES = 8;

/**
 * The first `n` words after offset `at` of `text` (the start of a line), lower-cased as matchLine
 * reads them, over at most PHRASE_LINES lines: each with its line (1 for the line at `at`) and column.
 */
function wordsAfter(text: string, at: number, n: number): { word: string; dl: number; column: number }[] {
  const out: { word: string; dl: number; column: number }[] = [];
  for (let dl = 1; dl <= PHRASE_LINES && at >= 0 && out.length < n; dl++) {
    const nl = text.indexOf("\n", at);
    const line = text.slice(at, nl < 0 ? undefined : nl);
    LINE_TERM.lastIndex = 0;
    for (let m = LINE_TERM.exec(line); m && out.length < n; m = LINE_TERM.exec(line)) out.push({ word: m[0].toLowerCase(), dl, column: m.index + 1 });
    at = nl < 0 ? -1 : nl + 1;
  }
  return out;
}

/**
 * How many of a phrase's words end a line (its words `toks`) when the rest follow as the next
 * words (`next`, over line breaks); 0 when the phrase does not start on this line and go on.
 */
function phraseGoesOn(toks: string[], next: string[], phrase: string[]): number {
  for (let k = Math.min(phrase.length - 1, toks.length); k >= 1; k--) {
    if (next.length < phrase.length - k) continue;
    let ok = true;
    for (let j = 0; j < phrase.length && ok; j++) ok = j < k ? toks[toks.length - k + j] === phrase[j] : next[j - k] === phrase[j];
    if (ok) return k;
  }
  return 0;
}

/**
 * Best line among [from, to] (1-based, inclusive): most clauses matched (a phrase only where its
 * words stand in order), then most matches, then first. `core`: on line `from`, only matches from
 * column `startCol` on count, and on line `endLine` only those before `endCol` (a chunk's first and
 * last lines are shared with the chunks before and after it). `all`: the matches of the lines
 * scanned (within the core), and every match of the best line (the line a hit shows).
 */
function bestLine(text: string, from: number, to: number, want: Want[], base = 1, core?: { startCol: number; endLine?: number; endCol?: number }): { line: number; text: string; matches: [number, string, number][]; all: Match[] } | undefined {
  let best: { line: number; text: string; matches: LineMatches; full: LineMatches; score: number; goesOn?: Match[] } | undefined;
  const found: [number, LineMatches][] = [];
  let start = 0;
  for (let l = base; l < from && start >= 0; l++) { const nl = text.indexOf("\n", start); start = nl < 0 ? -1 : nl + 1; }
  // Where the wanted strings occur (in the lower-cased text): only lines holding one are matched.
  // When lower-casing changes the length (a few non-ASCII letters do), every line is a candidate.
  let at: number[] | undefined;
  const lower = start >= 0 ? text.toLowerCase() : "";
  if (lower.length === text.length) {
    at = [];
    for (const w of want) {
      for (const needle of [...w.words, ...w.compounds, ...(w.prefix !== undefined ? [w.prefix] : []), ...(w.infix !== undefined ? [w.infix] : [])]) {
        if (needle) for (let i = lower.indexOf(needle, start); i >= 0; i = lower.indexOf(needle, i + 1)) at.push(i);
      }
    }
    at.sort((a, b) => a - b);
  }
  let k = 0;
  for (let l = from; l <= to && start >= 0; l++) {
    const nl = text.indexOf("\n", start);
    if (at) {
      while (k < at.length && at[k]! < start) k++;
      if (k >= at.length) break;
      if (nl >= 0 && at[k]! >= nl) { start = nl + 1; continue; }
    }
    const line = text.slice(start, nl < 0 ? undefined : nl);
    const full = matchLine(line, want);
    // A phrase broken by line breaks matches, below a line that holds it whole, on the line where it
    // starts (a line with its words out of order does not); the words that follow are its matches too.
    let broken: Set<number> | undefined;
    let goesOn: Match[] | undefined;
    if (full.loose && nl >= 0) {
      const loose = [...full.loose];
      const next = wordsAfter(text, nl + 1, Math.max(...loose.map((i) => want[i]!.phrase!.length)) - 1);
      const words = next.map((w) => w.word);
      for (const i of loose) {
        const p = want[i]!.phrase!;
        const k = phraseGoesOn(full.toks!, words, p);
        if (k === 0) continue;
        full.loose.delete(i);
        (broken ??= new Set()).add(i);
        for (const w of next.slice(0, p.length - k)) (goesOn ??= []).push({ term: w.word, line: l + w.dl, column: w.column });
      }
      if (full.loose.size === 0) full.loose = undefined;
    }
    let ms = full;
    if (core && (l === from || l === core.endLine)) {
      ms = full.filter((m) => !(l === from && m[2] < core.startCol) && !(l === core.endLine && m[2] >= core.endCol!));
      ms.loose = full.loose;
    }
    if (ms.length) {
      found.push([l, ms]);
      const clauses = new Set(ms.map((m) => m[0]));
      const cut = [...(broken ?? [])].filter((i) => clauses.has(i)).length; // a broken phrase whose start is this chunk's
      const score = (clauses.size - (ms.loose?.size ?? 0) - cut) * 1000 + cut * 500 + ms.length;
      if (!best || score > best.score) best = { line: l, text: line, matches: ms, full, score, goesOn: cut ? goesOn : undefined };
    }
    start = nl < 0 ? -1 : nl + 1;
  }
  if (!best) return undefined;
  const all: Match[] = [];
  // Every match of the line shown (up to MAX_MATCHES, kept first: the cap must not leave the line
  // shown without its matches); elsewhere, a phrase's words only where they stand in order (a stray
  // `event` is no match of "event loop"), in line order, as many as the cap leaves room for.
  const shown = best.full.slice(0, MAX_MATCHES);
  const goesOn = (best.goesOn ?? []).slice(0, MAX_MATCHES - shown.length);
  let room = MAX_MATCHES - shown.length - goesOn.length;
  const listed = new Set(goesOn.map((m) => `${m.line}:${m.column}:${m.term}`));
  for (const [l, ms] of found) {
    if (l === best.line) { for (const [, term, column] of shown) all.push({ term, line: l, column }); all.push(...goesOn); continue; }
    for (const [clause, term, column] of ms) {
      if (ms.loose?.has(clause) || room <= 0 || listed.has(`${l}:${column}:${term}`)) continue;
      all.push({ term, line: l, column });
      room--;
    }
  }
  return { line: best.line, text: best.text, matches: best.matches, all };
}

/**
 * A string of its own: a slice of a text page (a snippet, a matched word) keeps the whole page
 * alive in the engine, 64 KB behind a 100-character snippet; 20,000 hits kept 1.2 GB of pages.
 */
const own = (s: string): string => (s.length ? (JSON.parse(JSON.stringify(s)) as string) : s);

/** One line, trimmed, cut to SNIPPET characters around its first match. */
function snippetOf(line: string, firstColumn: number): string {
  const t = line.trim();
  if (t.length <= SNIPPET) return t;
  const lead = line.length - line.trimStart().length;
  // Neither cut splits a surrogate pair (an emoji): half of one is no text, and strict JSON readers refuse it.
  const at = wholeAt(t, Math.max(0, firstColumn - 1 - lead - 40));
  const end = wholeAt(t, at + SNIPPET);
  return (at > 0 ? "…" : "") + t.slice(at, end).trim() + (end < t.length ? "…" : "");
}


const ENTITY_TYPES = ["document", "section", "decision", "claim", "symbol", "technology", "reference", "module"];

type Scored = {
  id: string; type: string; score: number; shard: number; ord: number; ci?: number; ent?: number; line: number;
  key?: string; matched: number; explain?: Explain; normalizer: number;
  /** An entity's clauses that its names matched (indices into the query's): its line shows one of them. */
  clauses?: number[];
};

/**
 * `total`: the hits there are (the ones shown are the first). It counts candidates, so it can be
 * above what any page shows where two chunks' best lines are one line (only one shows); when every
 * candidate was made a hit (a page that is not full), it is exact (`exact`).
 */
export type SearchResult = { total: number; hits: Hit[]; exact?: boolean; warnings?: string[] };

/** A plain word of at least this many characters that the index does not hold is searched as a prefix (postgres → postgresql). */
const PREFIX_FALLBACK = 4;

/** A plain word of at least this many characters is also found inside longer words when its own hits do not fill the page. */
const INFIX_MIN = 3;
/**
 * Scripts written without spaces between words (Chinese, Japanese; Korean words are short): a run of
 * their letters is one term (東京都庁舎の建物), and two of their characters are already a word (東京,
 * 建物), so such a word is found inside longer ones from two characters on.
 */
const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const infixMin = (term: string) => (UNSPACED.test(term) ? 2 : INFIX_MIN);

/**
 * Ranked hits for a parsed query. When a plain word's own hits do not fill the page (fewer than
 * `limit`), the page is filled with the hits of the words that contain it (connect → connection,
 * reconnect), and a compound's with its words in order (README.md in docs/README.md), so that every
 * file holding the word as text is reachable, as `grep -F -i -l` finds it: those come after every
 * hit of the query as typed, their scores scaled below the last of them.
 */
export function search(ix: RunIndex, query: ParsedQuery, opts: { limit: number; explain?: boolean }): SearchResult {
  const r = searchAll(ix, query, opts);
  if (r.hits.length > 0 || !query.filters.paths?.length) return r;
  // Nothing found with a path filter: say which of its globs names no file of the run at all (a
  // typo, a case, a syntax it does not read), rather than only "no hits".
  const none = globsMatchingNothing(ix, query.filters.paths);
  if (none.length === 0) return r;
  const said = none.map((g) => `path:${g} matches no file of this run (globs are relative to the workspace root and case-sensitive; they take **, *, ? and {a,b})`);
  return { ...r, warnings: [...(r.warnings ?? []), ...said] };
}

/** The globs that match no path of the run (every shard's path list, read until each glob has matched one). */
function globsMatchingNothing(ix: RunIndex, globs: string[]): string[] {
  const left = new Map(globs.map((g) => [g, globMatcher(g)] as const));
  for (const n of ix.shards) {
    for (let ord = 0, docs = ix.docCount(n); ord < docs && left.size; ord++) {
      const p = ix.pathOf(n, ord);
      if (p !== undefined) for (const [g, m] of left) if (m(p)) left.delete(g);
    }
    if (left.size === 0) break;
  }
  return [...left.keys()];
}

function searchAll(ix: RunIndex, query: ParsedQuery, opts: { limit: number; explain?: boolean }): SearchResult {
  const shown: Shown = { keys: new Set(), places: new Set() };
  const first = rank(ix, query, opts, shown);
  if (first.hits.length >= opts.limit) return first;
  const plain = (c: Clause): c is Extract<Clause, { kind: "term" }> =>
    c.kind === "term" && !c.text.startsWith('"') && c.term.length >= infixMin(c.term) && isWordTerm(c.term);
  // An identifier joined by `.`, `/`, `-`, `::` (README.md, utf-8, v1.2.3) is a compound term where
  // it stands alone; inside a longer one (docs/README.md, non-UTF-8, v1.2.3-rc1) it is a different
  // term, but its words stand in order there: the wider pass looks for them as a phrase.
  const partsOfCompound = (c: Clause): string[] | undefined =>
    c.kind === "term" && !c.text.startsWith('"') && (c.fallback?.length ?? 0) > 1 && /[^\p{L}\p{M}\p{N}_]/u.test(c.term) ? c.fallback : undefined;
  const words = query.clauses.filter(plain).map((c) => c.term);
  if (words.length === 0 && !query.clauses.some(partsOfCompound)) return first;
  const holding = words.length ? ix.termsContaining(words) : new Map<string, string[]>(); // every shard's dictionary read once, for all the words
  let wider = false;
  const warnings: string[] = [];
  const clauses = query.clauses.map((c): Clause => {
    const parts = partsOfCompound(c);
    if (parts) { wider = true; return { kind: "phrase", text: c.text, terms: parts }; }
    if (!plain(c)) return c;
    const all = holding.get(c.term) ?? [];
    let terms = all;
    if (terms.length === 0 || (terms.length === 1 && terms[0] === c.term)) return c;
    // At most MAX_PREFIX_TERMS words for each, the shortest first (nearest the word), as a prefix is
    // bounded: a three-letter fragment inside 47,000 words took seconds and a GB per query.
    if (terms.length > MAX_PREFIX_TERMS) {
      terms = [...all].sort((a, b) => a.length - b.length || cmp(a, b)).slice(0, MAX_PREFIX_TERMS);
      warnings.push(`'${c.text}' is inside ${all.length} words: only the ${MAX_PREFIX_TERMS} shortest are searched for more hits (type more of the word)`);
    }
    wider = true;
    return { kind: "infix", text: c.text, word: c.term, terms };
  });
  if (!wider) return first;
  // Only the hits the page still lacks, none of them one the first pass showed (see Shown).
  const second = rank(ix, { ...query, clauses }, { ...opts, limit: opts.limit - first.hits.length }, shown);
  const extra = second.hits;
  const allWarnings = [...(first.warnings ?? []), ...warnings];
  if (extra.length === 0) return allWarnings.length ? { ...first, warnings: allWarnings } : first;
  // Below the last hit of the words as typed: scaled so that the best of them scores just under it.
  const last = first.hits.length ? first.hits[first.hits.length - 1]!.score : undefined;
  const best = extra[0]!.score;
  const scale = last === undefined || best < last ? 1 : Math.max(0, last - 1e-6) / best;
  // `scaled` marks every hit of the wider pass in --explain (1 when its score stands as it is).
  for (const h of extra) { if (scale !== 1) h.score = round(h.score * scale); if (h.explain) h.explain.scaled = round(scale); }
  if (scale !== 1) extra.sort((a, b) => b.score - a.score || cmp(a.id, b.id));
  const total = first.exact && second.exact ? first.total + second.total : Math.max(first.total, second.total);
  return { total, hits: [...first.hits, ...extra].slice(0, opts.limit), exact: first.exact && second.exact, ...(allWarnings.length ? { warnings: allWarnings } : {}) };
}

/** A candidate before it is made a hit: a chunk by its shard, ordinal and index, an entity by its shard and ordinal. */
const scoredKey = (s: Scored) => (s.type === "chunk" ? `c${s.shard}/${s.ord}/${s.ci}` : `e${s.shard}/${s.ent}`);
/** Where a hit shows: a chunk by its line (two chunks' windows overlap, so both can put their best match on one line), anything else by its id. */
const placeOf = (h: Hit) => (h.id.startsWith("chk_") ? chunkPlace(h.path, h.line) : `${h.type}\0${h.id}`);
const chunkPlace = (path: string | undefined, line: number) => `chunk\0${path}:${line}`;
/**
 * The hits a page already shows, for a pass that adds to it: their candidates (passed over before
 * they are made again) and their places (a new hit on one of them is not shown).
 */
type Shown = { keys: Set<string>; places: Set<string> };

/** Ranked hits for the clauses as they are; with `shown`, none already shown, and the ones shown are added to it. */
function rank(ix: RunIndex, query: ParsedQuery, opts: { limit: number; explain?: boolean }, shown?: Shown): SearchResult {
  const q: ParsedQuery = {
    ...query,
    clauses: query.clauses.map((c) =>
      c.kind === "term" && c.term.length >= PREFIX_FALLBACK && isWordTerm(c.term) &&
      ix.postings(c.term).length === 0 && ix.entPostings(c.term).length === 0 &&
      // A camelCase or snake_case word being typed (readFileS) is the start of an identifier: its
      // parts as a phrase (read file s) only when no indexed term starts with it.
      (!c.fallback || ix.termsWithPrefix(c.term, 1).length > 0)
        ? { kind: "prefix", text: c.text, prefix: c.term }
        : c),
  };
  const stats = ix.stats();
  const types = q.filters.types;
  const allowed = docFilter(ix, q);
  const ok = (shard: number, ord: number) => !allowed || allowed(shard, ord);
  if (q.clauses.length === 0) return listOnly(ix, q, allowed, opts.limit);

  const clauses = q.clauses;
  const nClauses = clauses.length;
  const usedFallback: boolean[] = clauses.map(() => false);
  const warnings: string[] = [];
  const expand = (c: Extract<Clause, { kind: "prefix" }>) => {
    const terms = ix.termsWithPrefix(c.prefix, MAX_PREFIX_TERMS);
    const w = `'${c.text}' matches ${MAX_PREFIX_TERMS} words or more: only the first ${MAX_PREFIX_TERMS} in alphabetical order are searched (type more of the word)`;
    if (terms.length >= MAX_PREFIX_TERMS && !warnings.includes(w)) warnings.push(w);
    return terms;
  };
  const explain = opts.explain ?? false;

  // Chunks: each clause's list is in chunk key order, so they are merged by walking them side by
  // side (no map of candidates); only scores are kept per candidate, hits are made for the best.
  let chunkScore = new Float64Array(0);
  let chunkKey = new Float64Array(0);
  let chunkMatched = new Int32Array(0);
  let nChunks = 0;
  const chunkExplain: Explain[] = [];
  let chunkNormalizer = 0;
  if (!types || types.includes("chunk")) {
    const lists = clauses.map((c, i) => {
      if (c.kind === "phrase") return phraseChunks(ix, c.terms);
      if (c.kind === "prefix") return unionChunks(expand(c).map((t) => termChunks(ix, t)));
      if (c.kind === "infix") return unionChunks(c.terms.map((t) => termChunks(ix, t)));
      const hits = termChunks(ix, c.term);
      if (hits.n === 0 && c.fallback) { usedFallback[i] = true; return c.fallback.length > 1 ? phraseChunks(ix, c.fallback) : termChunks(ix, c.fallback[0]!); }
      return hits;
    });
    const titles = clauses.map((c, i) => c.kind === "term" ? titleDocs(ix, usedFallback[i] ? c.fallback ?? [] : [c.term]) : c.kind === "infix" ? titleDocs(ix, c.terms) : new Set<number>());
    const idfs = lists.map((l) => idf(stats.chunks, l.n));
    chunkNormalizer = idfs.reduce((s, x) => s + x * (K1 + 1), 0);
    const avg = stats.chunkTerms / Math.max(1, stats.chunks) || 1;
    const required = clauses.map((c) => c.kind === "phrase");
    const cap = lists.reduce((s, l) => s + l.n, 0);
    chunkScore = new Float64Array(cap); chunkKey = new Float64Array(cap); chunkMatched = new Int32Array(cap);
    const at = new Array<number>(nClauses).fill(0);
    for (;;) {
      let k = Infinity;
      for (let i = 0; i < nClauses; i++) { const l = lists[i]!; if (at[i]! < l.n && l.keys[at[i]!]! < k) k = l.keys[at[i]!]!; }
      if (k === Infinity) break;
      let raw = 0;
      let matched = 0;
      let missing = false;
      const ex: Explain | undefined = explain ? [] : undefined;
      const d = dkeyOfCk(k);
      for (let i = 0; i < nClauses; i++) {
        const l = lists[i]!;
        const j = at[i]!;
        if (j >= l.n || l.keys[j] !== k) { if (required[i]) missing = true; continue; }
        at[i] = j + 1;
        if (missing) continue;
        matched++;
        const title = titles[i]!.size > 0 && titles[i]!.has(d);
        const tf = W_HEADING * l.h[j]! + W_CODE * l.c[j]! + W_BODY * l.b[j]! + (title ? W_TITLE : 0);
        const sc = termScore(idfs[i]!, tf, l.lens[j]!, avg);
        raw += sc;
        if (ex) ex.push({ clause: clauses[i]!.text, idf: round(idfs[i]!), tf: { heading: l.h[j]!, code: l.c[j]!, body: l.b[j]!, title: title ? 1 : 0 }, length: l.lens[j]!, score: round(sc) });
      }
      if (missing || matched === 0) continue;
      if (allowed && !ok(shardOfDk(d), ordOfDk(d))) continue;
      chunkScore[nChunks] = finalScore(raw, chunkNormalizer, matched, nClauses);
      chunkKey[nChunks] = k;
      chunkMatched[nChunks++] = matched;
      if (ex) chunkExplain.push(ex);
    }
  }

  // Entities.
  const entTypes = types ? ENTITY_TYPES.filter((t) => types.includes(t)) : ENTITY_TYPES;
  let ents = entTypes.length ? scoreEntities(ix, q, stats, entTypes, usedFallback, explain, expand) : [];
  const resolve = (s: Scored): boolean => {
    if (s.type === "chunk") return true;
    const e = ix.entity(s.shard, s.ent!);
    if (!e) return false;
    s.id = e.id; s.ord = e.ord; s.line = e.line;
    if (e.key) s.key = e.key;
    return ok(s.shard, s.ord);
  };
  // With a path or tag filter an entity's document decides whether it counts (found without
  // reading the document's record: entities are resolved only for the hits shown).
  if (allowed) ents = ents.filter((e) => { const o = ix.entityDoc(e.shard, e.ent!); return o !== undefined && ok(e.shard, o); });
  const total = nChunks + ents.length;

  const chunkHit = (i: number): Scored => {
    const k = chunkKey[i]!, d = dkeyOfCk(k);
    const hit: Scored = { id: "", type: "chunk", score: chunkScore[i]!, shard: shardOfDk(d), ord: ordOfDk(d), ci: k % 65536, line: 0, matched: chunkMatched[i]!, normalizer: chunkNormalizer };
    if (explain) hit.explain = chunkExplain[i];
    return hit;
  };
  const want = clauses.map((c, i) => wanted(c, usedFallback[i]!));
  const phrases = clauses.flatMap((c) => (c.kind === "phrase" ? [c.terms] : []));
  const phraseChecked = new Map<string, boolean>();
  const phraseInNames = (s: Scored): boolean => {
    const k = scoredKey(s);
    let ok = phraseChecked.get(k);
    if (ok === undefined) {
      const names = entityNames(ix, s);
      ok = phrases.every((p) => names.some((n) => holdsPhrase(n, p)));
      phraseChecked.set(k, ok);
    }
    return ok;
  };
  // An entity sorts by its shard and entity ordinal (its document, resolved or not, does not count).
  const ordOf = (s: Scored) => (s.ent === undefined ? s.ord : -1);
  const order = (a: Scored, b: Scored) => b.score - a.score || a.shard - b.shard || ordOf(a) - ordOf(b) || (a.ci ?? -1) - (b.ci ?? -1) || (a.ent ?? -1) - (b.ent ?? -1);
  /**
   * The hits from the `n` best candidates (and every candidate tied with the n-th), best first
   * (ties in index order, which is deterministic); undefined when those ran out before the
   * hits were complete and there are more candidates (the caller asks for more).
   */
  let exact = false;
  const made = new Map<string, Hit>();
  const collect = (n: number): Hit[] | undefined => {
    let cands: Scored[];
    if (n >= total) { cands = []; for (let i = 0; i < nChunks; i++) cands.push(chunkHit(i)); cands.push(...ents); }
    else {
      const all = new Float64Array(total);
      all.set(chunkScore.subarray(0, nChunks));
      ents.forEach((e, i) => { all[nChunks + i] = e.score; });
      const floor = nthLargest(all, n);
      cands = [];
      for (let i = 0; i < nChunks; i++) if (chunkScore[i]! >= floor) cands.push(chunkHit(i));
      for (const e of ents) if (e.score >= floor) cands.push(e);
    }
    cands.sort(order);
    const hits: Hit[] = [];
    const places = new Set(shown?.places);
    // Past the limit, only hits that tie with the last one shown (equal printed score) are made, so
    // that equal scores can be ordered by id.
    let done = false;
    for (const s of cands) {
      if (hits.length >= opts.limit && (round(s.score) !== hits[hits.length - 1]!.score || hits.length >= opts.limit + 200)) { done = true; break; }
      if (!resolve(s) || shown?.keys.has(scoredKey(s))) continue;
      // Entity postings hold no positions: a phrase counts only where one of the entity's names
      // holds its words in order (decided once per entity, before its hit is made).
      if (s.type !== "chunk" && phrases.length && !phraseInNames(s)) continue;
      // A chunk inside one line whose next chunk starts on that line too (a long line cut into
      // many chunks) can only show that line: when a hit shows it already, nothing is made.
      if (s.type === "chunk") {
        const spans = ix.spans(s.shard, s.ord);
        const ch = spans[s.ci!], next = spans[s.ci! + 1];
        if (ch && ch[2] === ch[3] && (!next || next[2] === ch[2]) && places.has(chunkPlace(ix.meta(s.shard, s.ord)?.path, ch[2]))) continue;
      }
      // Made once: a round that takes more candidates (below) goes over the first ones again.
      const key = scoredKey(s);
      let hit = made.get(key);
      if (!hit) { hit = materialize(ix, s, want, explain); made.set(key, hit); }
      // An entity found by its name where no line of its document holds a matched term (a
      // document by its file name alone, a technology known only from file extensions) has no
      // line to show: every hit's line holds a match, so it is not a hit.
      if (s.type !== "chunk" && hit.matches.length === 0) continue;
      const place = placeOf(hit);
      if (places.has(place)) continue;
      places.add(place);
      hits.push(hit);
      keyOfHit.set(hit, scoredKey(s));
    }
    exact = !done && cands.length >= total;
    return done || cands.length >= total ? hits : undefined;
  };
  const keyOfHit = new Map<Hit, string>();
  let hits: Hit[] | undefined;
  for (let n = opts.limit + 256; !(hits = collect(n)); n *= 4);
  hits.sort((a, b) => b.score - a.score || cmp(a.id, b.id));
  const page = hits.slice(0, opts.limit);
  if (shown) for (const h of page) { shown.keys.add(keyOfHit.get(h)!); shown.places.add(placeOf(h)); }
  // Every candidate was made a hit or passed over (gone, filtered out, or on a line already shown): the count is exact.
  const notes = warnings.length ? { warnings } : {};
  return exact ? { total: hits.length, hits: page, exact, ...notes } : { total, hits: page, ...notes };
}

/**
 * The names an entity was indexed by (pipeline/shard.ts, EntityBuilder.add), each on its own: a
 * document's title, tags and file name without its extension; a symbol's name and container;
 * any other entity's name.
 */
function entityNames(ix: RunIndex, s: Scored): string[] {
  if (s.key) return [ix.globalName(s.id, s.shard) ?? ""]; // a shared node (technology, reference, module)
  const rec = ix.doc(s.shard, s.ord);
  if (s.type === "document") return documentNames(rec);
  const node = ix.docNodes(rec).get(s.id);
  const container = node?.attrs?.container;
  return [node?.name ?? "", ...(s.type === "symbol" && typeof container === "string" ? [container] : [])];
}

/** The n-th largest of xs (1-based; xs is reordered). */
function nthLargest(xs: Float64Array, n: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  const k = n - 1;
  while (lo < hi) {
    const pivot = xs[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (xs[i]! > pivot) i++;
      while (xs[j]! < pivot) j--;
      if (i <= j) { const t = xs[i]!; xs[i] = xs[j]!; xs[j] = t; i++; j--; }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return xs[k]!;
  }
  return xs[k]!;
}


/** Documents (as shard × 2^20 + ordinal) whose entity name (title, tags, file name) holds the term. */
function docsNamed(ix: RunIndex, term: string): Set<number> {
  const out = new Set<number>();
  for (const [shard, list] of ix.entPostings(term)) {
    for (const p of list) if (p.type === "document") out.add(dkey(shard, p.ent)); // a document's entity ordinal is its ordinal
  }
  return out;
}

/** Documents whose title, tags or file name hold one of the terms. */
function titleDocs(ix: RunIndex, terms: string[]): Set<number> {
  const out = new Set<number>();
  for (const t of terms) for (const k of docsNamed(ix, t)) out.add(k);
  return out;
}

function scoreEntities(
  ix: RunIndex, q: ParsedQuery, stats: ReturnType<RunIndex["stats"]>, entTypes: string[], usedFallback: boolean[], explain: boolean,
  expand: (c: Extract<Clause, { kind: "prefix" }>) => string[],
): Scored[] {
  // An entity is shard × 2^32 + ordinal, a shared node -1 - its id hash (the same node in several
  // shards): numbers, not strings, as keys (a common word names tens of thousands of sections).
  type Ent = { shard: number; ent: number; type: string; len: number; tf: number[] };
  const ents = new Map<number, Ent>();
  const clauses = q.clauses;
  const dfs = clauses.map(() => 0);
  const keyOf = (shard: number, p: EntPosting) => (p.hash !== undefined ? -1 - p.hash : shard * 4294967296 + p.ent);
  const wantType = new Set(entTypes);
  const add = (i: number, shard: number, p: EntPosting, tf: number) => {
    if (!wantType.has(p.type)) return;
    const k = keyOf(shard, p);
    let e = ents.get(k);
    if (!e) { e = { shard, ent: p.ent, type: p.type, len: p.len, tf: [] }; ents.set(k, e); }
    const was = e.tf[i];
    if (was === undefined) { dfs[i]!++; e.tf[i] = tf; } else if (tf > was) e.tf[i] = tf;
  };
  clauses.forEach((c, i) => {
    const terms = c.kind === "prefix" ? expand(c)
      : c.kind === "phrase" || c.kind === "infix" ? c.terms : usedFallback[i] ? c.fallback ?? [] : [c.term];
    if (c.kind === "phrase" || (c.kind === "term" && usedFallback[i] && terms.length > 1)) {
      // Every word of the phrase in the name (entity names are short: adjacency is not checked).
      const per = terms.map((t) => new Map(ix.entPostings(t).flatMap(([shard, l]) => l.map((p) => [keyOf(shard, p), [shard, p] as const]))));
      for (const [k, [shard, p]] of per[0]!) {
        if (per.every((m) => m.has(k))) add(i, shard, p, Math.min(...per.map((m) => m.get(k)![1].tf)));
      }
    } else {
      for (const t of terms) for (const [shard, list] of ix.entPostings(t)) for (const p of list) add(i, shard, p, p.tf);
    }
  });
  const avg = stats.entTerms / Math.max(1, stats.ents) || 1;
  const idfs = dfs.map((df) => idf(stats.ents, df));
  const normalizer = idfs.reduce((s, x) => s + x * (K1 + 1), 0);
  const out: Scored[] = [];
  const phrase = clauses.map((c) => c.kind === "phrase");
  const n = clauses.length;
  for (const e of ents.values()) {
    let raw = 0;
    let matched = 0;
    let missing = false;
    const ex: Explain | undefined = explain ? [] : undefined;
    const which: number[] = [];
    for (let i = 0; i < n; i++) {
      const tf = e.tf[i];
      if (!tf) { if (phrase[i]) { missing = true; break; } continue; }
      matched++;
      which.push(i);
      const s = termScore(idfs[i]!, tf, e.len, avg);
      raw += s;
      if (ex) ex.push({ clause: clauses[i]!.text, idf: round(idfs[i]!), tf: { name: tf }, length: e.len, score: round(s) });
    }
    if (missing) continue;
    const hit: Scored = { id: "", type: e.type, score: finalScore(raw, normalizer, matched, n), shard: e.shard, ord: -1, ent: e.ent, line: 0, matched, normalizer, clauses: which };
    if (ex) hit.explain = ex;
    out.push(hit);
  }
  return out;
}

/** Whether a document passes the path and tag filters (given its meta when the caller has it). */
type DocFilter = ((shard: number, ord: number, meta?: DocMeta) => boolean) & { candidates?: Set<number> };

/**
 * The documents that have every one of the tags, from the shards' `tags` tables; undefined when a
 * shard has none (written before them: namedCandidates and the metas decide).
 */
function taggedExactly(ix: RunIndex, tags: string[]): Set<number> | undefined {
  let acc: Set<number> | undefined;
  for (const t of new Set(tags)) {
    const docs = new Set<number>();
    for (const n of ix.shards) {
      const ords = ix.tagged(n, t);
      if (!ords) return undefined;
      for (const o of ords) if (!acc || acc.has(dkey(n, o))) docs.add(dkey(n, o));
    }
    acc = docs;
  }
  return acc ?? new Set();
}

/**
 * The documents that can hold every one of the tags: a tag's words are words of its document's
 * entity name (title, tags, file name), so the entity postings of those words narrow a tag filter
 * before any meta is read (the meta decides). Undefined when no tag has a word to look up.
 */
function namedCandidates(ix: RunIndex, tags: string[]): Set<number> | undefined {
  let acc: Set<number> | undefined;
  for (const term of new Set(tags.flatMap(nameTerms))) {
    const docs = docsNamed(ix, term);
    acc = acc ? new Set([...acc].filter((k) => docs.has(k))) : docs;
  }
  return acc;
}

/**
 * The path and tag filters as a test of one document (undefined: no such filter). A document is
 * tested when it is first met, so a query with words looks only at its candidates. A path is
 * tested on the shard's list of paths (RunIndex.pathOf), not on the document's meta. A tag filter
 * takes the tagged documents from the shards' `tags` tables (taggedExactly); in a run with a shard
 * written before them it keeps the documents whose names hold the tags' words (namedCandidates)
 * and reads their metas.
 */
function docFilter(ix: RunIndex, q: ParsedQuery): DocFilter | undefined {
  const { paths, tags } = q.filters;
  if (!paths?.length && !tags?.length) return undefined;
  const globs = (paths ?? []).map((g) => globMatcher(g));
  const want = (tags ?? []).map((t) => t.toLowerCase());
  // From the tags tables the candidates are the tagged documents themselves, with no meta to read.
  const tagged = want.length ? taggedExactly(ix, want) : undefined;
  const exact = tagged !== undefined;
  const candidates = tagged ?? (want.length ? namedCandidates(ix, want) : undefined);
  const seen = new Map<number, boolean>();
  const test: DocFilter = (shard, ord, meta) => {
    const k = dkey(shard, ord);
    let ok = seen.get(k);
    if (ok === undefined) {
      ok = !candidates || candidates.has(k);
      let m = meta;
      if (ok && globs.length) {
        const path = m?.path ?? ix.pathOf(shard, ord) ?? (m = ix.meta(shard, ord))?.path;
        ok = path !== undefined && globs.some((g) => g(path));
      }
      if (ok && want.length && !exact) {
        m ??= ix.meta(shard, ord);
        ok = m !== undefined && want.every((t) => (m!.tags ?? []).includes(t));
      }
      seen.set(k, ok);
    }
    return ok;
  };
  if (candidates) test.candidates = candidates;
  return test;
}

/** Filters without words: the matching documents (or nodes of the asked types), score 1, by id. */
function listOnly(ix: RunIndex, q: ParsedQuery, allowed: DocFilter | undefined, limit: number): SearchResult {
  const types = q.filters.types ?? ["document"];
  const hits: Hit[] = [];
  // A shared node (technology, reference, module) is in the graph of every document that mentions
  // it: it is one hit, at its mention in the document with the smallest id (as `node` locates it).
  const shared = new Map<string, { hit: Hit; doc: string; shard: number; ord: number }>();
  const add = (n: number, ord: number, m: DocMeta) => {
    if (types.length === 1 && types[0] === "document") {
      hits.push({ id: docId(m.path), type: "document", score: 1, path: m.path, line: 1, name: m.title, snippet: m.title, matches: [] });
      return;
    }
    const doc = docId(m.path);
    for (const node of ix.docNodes(ix.doc(n, ord)).values()) {
      if (!types.includes(node.type)) continue;
      const hit: Hit = { id: node.id, type: node.type, score: 1, path: node.path ?? m.path, line: node.line ?? 1, name: node.name, snippet: node.name, matches: [] };
      if (node.path !== undefined) { hits.push(hit); continue; }
      const had = shared.get(node.id);
      if (!had) { shared.set(node.id, { hit, doc, shard: n, ord }); hits.push(hit); }
      else if (doc < had.doc) { Object.assign(had.hit, hit); Object.assign(had, { doc, shard: n, ord }); }
    }
  };
  if (allowed && types.length === 1 && types[0] === "document") {
    // Documents by a filter: each is tested without its meta where it can be (a tag from the tags
    // tables, a path from the shard's list of paths) and known by its key, so only the metas of the
    // documents shown are read (a tag of 100,000 files has tens of thousands).
    const found: [string, number, number][] = [];
    const each = (n: number, ord: number) => { if (allowed(n, ord)) found.push([`doc_${ix.keyOf(n, ord)}`, n, ord]); };
    if (allowed.candidates) for (const k of allowed.candidates) each(shardOfDk(k), ordOfDk(k));
    else for (const n of ix.shards) for (let ord = 0, docs = ix.docCount(n); ord < docs; ord++) each(n, ord);
    found.sort((a, b) => cmp(a[0], b[0]));
    for (const [, n, ord] of found) {
      if (hits.length >= limit) break;
      const m = ix.meta(n, ord);
      if (m) add(n, ord, m);
    }
    return { total: found.length, hits };
  }
  if (allowed?.candidates) {
    // A tag filter: only its candidates (see docFilter) are looked at.
    for (const k of [...allowed.candidates].sort((a, b) => a - b)) {
      const n = shardOfDk(k), ord = ordOfDk(k);
      const m = ix.meta(n, ord);
      if (m && allowed(n, ord, m)) add(n, ord, m);
    }
  } else if (allowed) {
    // A path filter: paths are tested first, metas read for the documents that pass.
    for (const n of ix.shards) {
      for (let ord = 0, docs = ix.docCount(n); ord < docs; ord++) {
        if (!allowed(n, ord)) continue;
        const m = ix.meta(n, ord);
        if (m) add(n, ord, m);
      }
    }
  } else {
    for (const n of ix.shards) for (const [ord, m] of ix.metas(n)) add(n, ord, m);
  }
  hits.sort((a, b) => cmp(a.id, b.id)); // all score 1: ties by id, as everywhere
  const page = hits.slice(0, limit);
  // A shared node shown: at its first mention in the document it is shown in (one the filters
  // let through, the smallest by id: where `node` shows it when there is no filter).
  for (const h of page) {
    const s = shared.get(h.id);
    if (!s) continue;
    let line = Infinity;
    for (const e of ix.docGraph(ix.doc(s.shard, s.ord)).edges) if (e.target === h.id && e.line !== undefined && e.line < line) line = e.line;
    if (line !== Infinity) h.line = line;
  }
  return { total: hits.length, hits: page };
}

/**
 * A chunk's first line is read whole unless it starts more than LONG_LINE characters before the
 * chunk, its last line unless it goes on more than LONG_LINE past it; then only LINE_BEFORE /
 * LINE_AFTER of it (see chunkLines).
 */
const LONG_LINE = 32 * 1024;
const LINE_BEFORE = 2048;
const LINE_AFTER = 1024;
/**
 * The lines of a chunk, reading only the pages that hold them: from the start of its first line to
 * the end of its last (every match on a line shown is listed), except that a first line starting
 * more than 32 KiB before the chunk is cut 2 KiB before it, and a last line going on more than
 * 32 KiB after it is cut 1 KiB after it (at a white space, so no word is cut in two). `at`: the
 * text's offset in the document; `col0`: how far into its first line the text starts (a column on
 * that line counts from the line's real start: add it). Reading and matching a long line whole for
 * each of its chunks made a query over a one-line file of 256 KB take 23 s, and one of 1 MB minutes.
 */
function chunkLines(ix: RunIndex, path: string, ch: [number, number, number, number]): { text: string; at: number; col0: number } {
  const [start, end] = [ch[0], Math.max(ch[0], ch[1])];
  const lineStart = ix.lineBoundary(path, start, ch[2], -1);
  const lineEnd = ix.lineBoundary(path, Math.max(start, end - 1), ch[3], 1);
  let from = start - lineStart > LONG_LINE ? start - LINE_BEFORE : lineStart;
  const to = lineEnd - end > LONG_LINE ? end + LINE_AFTER : lineEnd;
  let text = ix.textRange(path, from, to) ?? "";
  if (from > lineStart) {
    const ws = text.slice(0, start - from).search(/\s/);
    if (ws >= 0) { text = text.slice(ws + 1); from += ws + 1; }
  }
  if (to < lineEnd) {
    const ws = Math.max(text.lastIndexOf(" "), text.lastIndexOf("\t"));
    if (ws >= end - from) text = text.slice(0, ws);
  }
  return { text, at: from, col0: from - lineStart };
}

type BestLine = NonNullable<ReturnType<typeof bestLine>>;

/** `found` with the columns on line `base` (the first line of a text cut `col0` into it) counted from the line's start. */
function shiftColumns(found: BestLine, base: number, col0: number): BestLine {
  if (col0 === 0) return found;
  return {
    ...found,
    matches: found.line === base ? found.matches.map(([c, t, col]) => [c, t, col + col0] as [number, string, number]) : found.matches,
    all: found.all.map((m) => (m.line === base ? { ...m, column: m.column + col0 } : m)),
  };
}

/** The page of a line of a PDF's text, and the line within that page. */
export function pageOf(pages: number[] | undefined, line: number): { page?: number; page_line?: number } {
  if (!pages?.length) return {};
  let p = 0;
  while (p + 1 < pages.length && pages[p + 1]! <= line) p++;
  return { page: p + 1, page_line: line - pages[p]! + 1 };
}

function materialize(ix: RunIndex, s: Scored, wantAll: ReturnType<typeof wanted>[], explain: boolean): Hit {
  // An entity shows a line holding what its names matched (`query src banana` must not show a
  // module named src/… at a line holding only banana).
  const want = s.clauses ? s.clauses.map((i) => wantAll[i]!) : wantAll;
  let path: string;
  let name: string;
  let found: ReturnType<typeof bestLine>;
  let line: number;
  let lineText: string | undefined;
  let pages: number[] | undefined;
  let focus: number | undefined;
  if (s.type === "chunk") {
    const meta = ix.meta(s.shard, s.ord)!;
    pages = meta.pages;
    const spans = ix.spans(s.shard, s.ord);
    const ch = spans[s.ci!]!;
    const next = spans[s.ci! + 1];
    s.id = `chk_${ix.keyOf(s.shard, s.ord)}_${s.ci}`;
    path = meta.path;
    name = meta.title;
    const { text, at, col0 } = chunkLines(ix, path, ch);
    // The chunk's core first (from its start up to where the next chunk starts: the windows
    // overlap, and a long first or last line is shared with the chunk before or after), then the
    // whole window. Columns are the text's own until shifted by col0 below.
    const endAt = next ? next[0] - at : -1;
    const core = { startCol: ch[0] - at + 1, ...(next && endAt <= text.length ? { endLine: next[2], endCol: endAt - text.lastIndexOf("\n", endAt - 1) } : {}) };
    found = bestLine(text, ch[2], next ? Math.max(ch[2], next[2]) : ch[3], want, ch[2], core) ?? bestLine(text, ch[2], ch[3], want, ch[2]);
    line = found?.line ?? ch[2];
    lineText = found?.text ?? text.split("\n", 1)[0];
    // On the chunk's first line (which may begin long before the chunk), the snippet shows the
    // chunk's own first match.
    if (found && line === ch[2]) focus = found.matches.find((m) => m[2] > ch[0] - at)?.[2];
    focus ??= found?.matches[0]?.[2];
    if (found) found = shiftColumns(found, ch[2], col0);
  } else {
    if (s.key) {
      // A shared node: located at its mention by the smallest document key of the shard.
      path = ix.meta(s.shard, s.ord)!.path;
      name = ix.globalName(s.id, s.shard) ?? s.id;
    } else {
      const rec = ix.doc(s.shard, s.ord);
      path = rec.path;
      name = ix.docNodes(rec).get(s.id)?.name ?? rec.title;
    }
    pages = ix.meta(s.shard, s.ord)?.pages;
    // The entity's own line, from the lines of the first chunk that holds it (a section of a large
    // document reads a page or two, not the whole text); else, or when that line matches nothing,
    // the best line of the whole text.
    const holder = ix.spans(s.shard, s.ord).find((c) => c[2] <= s.line && s.line <= c[3]);
    if (holder) {
      const { text, col0 } = chunkLines(ix, path, holder);
      found = bestLine(text, s.line, s.line, want, holder[2]);
      if (found) { lineText = found.text; focus = found.matches[0]?.[2]; found = shiftColumns(found, holder[2], col0); }
    }
    if (!found) {
      const text = ix.textOf(path) ?? "";
      found = bestLine(text, s.line, s.line, want) ?? bestLine(text, 1, Number.MAX_SAFE_INTEGER, want);
      lineText = found?.text ?? text.split("\n", s.line)[s.line - 1];
    }
    if (!found && s.key) {
      // A shared node found by its name, mentioned here without it (a technology named by a file's
      // extension or a fence's language): shown at the next mention, by document id, whose text
      // holds a match.
      const mentions = (ix.global(s.id)?.in ?? []).filter(([, k]) => k !== s.key).sort((a, b) => cmp(a[1], b[1]) || a[0] - b[0]);
      for (const [at, k] of mentions.slice(0, MENTIONS_TRIED)) {
        const d = ix.docByKey(k);
        const text = d && ix.textOf(d.rec.path);
        const f = text ? bestLine(text, at, at, want) ?? bestLine(text, 1, Number.MAX_SAFE_INTEGER, want) : undefined;
        if (f) { found = f; path = d!.rec.path; pages = ix.meta(d!.shard, d!.ord)?.pages; break; }
      }
    }
    line = found?.line ?? s.line;
    lineText = found?.text ?? lineText;
  }
  const hit: Hit = {
    id: s.id, type: s.type, score: round(s.score), path, line, name, ...pageOf(pages, line),
    snippet: own(snippetOf(lineText ?? "", focus ?? found?.matches[0]?.[2] ?? 1)),
    matches: (found?.all ?? []).map((m) => ({ ...m, term: own(m.term) })),
  };
  if (explain) hit.explain = { clauses: s.explain ?? [], matched: s.matched, of: wantAll.length, normalizer: round(s.normalizer) };
  return hit;
}

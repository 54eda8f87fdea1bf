/**
 * Tokens for the inverted index, shared by the index builder and the query parser so both sides
 * agree on what a term is.
 *
 * - Base terms: lower-cased runs of letters (with their combining marks: a Devanagari vowel sign
 *   or the dot of a lower-cased `İ` does not end a word), digits and `_` (`snake_case_name`,
 *   `camelcasename`). Each has a position: its ordinal among the document's base terms (phrases
 *   are consecutive positions).
 * - Parts: a base term with `_` or camelCase humps also yields its parts (`snake`, `case`,
 *   `camel`), so an identifier is found by any of its words. An identifier longer than MAX_TERM
 *   (`test_query_returns_empty_result_when_no_documents_match`) is not a term itself, but still
 *   yields its parts when it reads as words (see identParts), not as a hash or base64.
 * - Compounds: identifiers joined by `.`, `::`, `->`, `-` or `/`, with an optional leading `-`/`--`
 *   (`buffer.concat`, `order.created`, `--flag-name`, `v1.2.3`), so an identifier is found as typed.
 *   Parts and compounds count in the chunk they occur in but keep no position.
 * - Fields: every base term is in one field: heading (ATX or setext heading lines), code (fenced
 *   code, inline code spans, and every term of a code file) or body.
 */

import { frontMatterBlock } from "./markdown.ts";

export const FIELD_BODY = 0;
export const FIELD_HEADING = 1;
export const FIELD_CODE = 2;
export type Field = typeof FIELD_BODY | typeof FIELD_HEADING | typeof FIELD_CODE;

/** Terms longer than this take a position but are not indexed (hashes, base64 and the like). */
export const MAX_TERM = 40;
const MAX_COMPOUND = 64;
/** The longest identifier whose parts are indexed (see identParts). */
export const MAX_IDENT = 256;

/** The characters of a word (letters with their marks, digits, `_`): every word pattern is made of it. */
const WORD_CHARS = "\\p{L}\\p{M}\\p{N}_";
/** A new global pattern of runs of word characters (each caller its own: a global pattern keeps state). */
export const wordRuns = () => new RegExp(`[${WORD_CHARS}]+`, "gu");
const TERM = wordRuns();
const WORD_ONLY = new RegExp(`^[${WORD_CHARS}]+$`, "u");
const NOT_WORD = new RegExp(`[^${WORD_CHARS}]`, "gu");

/** The words of a text as written (not lower-cased). */
export const rawWords = (text: string): string[] => text.match(TERM) ?? [];
/** The text with everything but word characters taken out. */
export const wordCharsOf = (text: string): string => text.replace(NOT_WORD, "");
/** ASCII identifiers only: compounds of other scripts are rare, and the Unicode classes cost more than the rest of the tokenizer. */
const COMPOUND = /(?<![A-Za-z0-9_-])(?:--?)?[A-Za-z0-9_]+(?:(?:\.|::|->|-|\/)[A-Za-z0-9_]+)+/g;

/**
 * Whether text[at, end) is inside a longer word on either side: the ASCII patterns (COMPOUND,
 * HUMPED) do not see a non-ASCII letter next to them, and would take `rger/page` out of
 * `Ärger/page` or `vent` out of `éventHandler`.
 */
export function inWord(text: string, at: number, end: number): boolean {
  const before = at > 0 && text.charCodeAt(at - 1) > 127 && WORD_END.test(text.slice(Math.max(0, at - 2), at));
  return before || (end < text.length && text.charCodeAt(end) > 127 && WORD_START.test(text.slice(end, end + 2)));
}
const WORD_END = /[\p{L}\p{M}\p{N}]$/u;
const WORD_START = /^[\p{L}\p{M}\p{N}]/u;

/** Each match of a global pattern in text, at most `max` characters long and not inside a longer word (see inWord). */
export function eachOutsideWords(re: RegExp, text: string, max: number, each: (m: RegExpExecArray) => void): void {
  re.lastIndex = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) if (m[0].length <= max && !inWord(text, m.index, m.index + m[0].length)) each(m);
}

/** Parts of one raw base term (`HTTPServer_port` → http, server, port); empty when it has none. */
export function partsOf(raw: string): string[] {
  // Only `_` inside, a lower→upper hump (camelCase) or an acronym before a word (HTTPServer) makes parts.
  let interesting = false;
  for (let i = 1; i < raw.length && !interesting; i++) {
    const c = raw.charCodeAt(i);
    const p = raw.charCodeAt(i - 1);
    if (c === 95) interesting = i < raw.length - 1;
    else if (c >= 65 && c <= 90) interesting = p >= 97 && p <= 122;
    else if (c >= 97 && c <= 122 && p >= 65 && p <= 90 && i >= 2) { const q = raw.charCodeAt(i - 2); interesting = q >= 65 && q <= 90; }
  }
  if (!interesting) return [];
  const out: string[] = [];
  for (const piece of raw.split("_")) {
    for (const p of piece.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[^A-Za-z]+/g) ?? []) {
      const l = p.toLowerCase();
      if (l.length >= 2 && !out.includes(l)) out.push(l);
    }
  }
  const whole = raw.toLowerCase();
  return out.filter((p) => p !== whole);
}

/**
 * Whether a raw base term longer than MAX_TERM reads as words: its pieces (split at `_`, humps and
 * digits) average at least 4 characters. A long identifier does (`AbstractSingletonProxyFactoryBean`:
 * 6.6), and so does a long compound word or a sentence of a script written without spaces (one
 * piece); base64, hex hashes and other random runs do not (about 2), and must not fill the
 * dictionary with bits.
 */
export function readsAsWords(raw: string): boolean {
  // Mostly digits, or ASCII capitals and digits without a `_` (base32, a serial number): no words.
  const digits = raw.replace(/\D+/g, "").length;
  if (digits * 2 > raw.length) return false;
  if (digits > 0 && !/[a-z_]|[^\x00-\x7f]/.test(raw)) return false;
  const pieces = raw.split("_").flatMap((p) => p.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[^A-Za-z]+/g) ?? []);
  const letters = pieces.reduce((s, p) => s + p.length, 0);
  return pieces.length > 0 && letters / pieces.length >= 4;
}

/** Parts of a raw base term of any length up to MAX_IDENT: partsOf, but for a term longer than MAX_TERM only when it reads as words. */
export function identParts(raw: string): string[] {
  if (raw.length <= MAX_TERM) return partsOf(raw);
  if (raw.length > MAX_IDENT) return [];
  return readsAsWords(raw) ? partsOf(raw).filter((p) => p.length <= MAX_TERM) : [];
}

/** How far apart the windows of a long run start: every piece of it up to MAX_TERM − WINDOW_STEP + 1 characters lies whole in one. */
const WINDOW_STEP = 20;

/**
 * Windows of a base term longer than MAX_TERM, up to MAX_IDENT (longWindows checks): its pieces of MAX_TERM characters
 * starting every WINDOW_STEP (the last one ends with the term), never splitting a surrogate pair.
 * A sentence of a script written without spaces (東京都庁舎の建物を見学しました…, Thai), a long
 * compound word or a long identifier is one term, and a piece of it (東京, `affect_outputs` in
 * `test_warning_does_not_affect_outputs_hash`) is then a word inside an indexed word, found as any
 * such is (the query's wider pass). Taken only for a term that reads as words (longWindows).
 */
function runWindows(term: string): string[] {
  const out = new Set<string>();
  for (let at = 0; ; at += WINDOW_STEP) {
    const a = isLowSurrogate(term.charCodeAt(at)) ? at + 1 : at;
    let b = Math.min(term.length, a + MAX_TERM);
    if (b < term.length && isLowSurrogate(term.charCodeAt(b))) b--;
    out.add(term.slice(a, b));
    if (b >= term.length) break;
  }
  return [...out];
}
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;
/** The windows of a long lower-cased term (runWindows) when, as written (`raw`), it reads as words: not a hash or base64. */
const longWindows = (term: string, raw: string): string[] =>
  (term.length > MAX_TERM && term.length <= MAX_IDENT && readsAsWords(raw) ? runWindows(term) : []);

/** The compound term of an identifier as typed, or undefined when it is a plain word. */
export function compoundOf(raw: string): string | undefined {
  COMPOUND.lastIndex = 0;
  const m = COMPOUND.exec(raw);
  return m && m[0].length <= MAX_COMPOUND && !inWord(raw, m.index, m.index + m[0].length) ? m[0].toLowerCase() : undefined;
}

/** Whether a term is one word (letters, digits, `_`), not a compound. */
export const isWordTerm = (term: string): boolean => WORD_ONLY.test(term);

export function baseTerms(text: string): string[] {
  return text.toLowerCase().match(TERM) ?? [];
}

/**
 * The code spans of one line, [start, end) offsets: a run of backticks up to the next run of the
 * same length (what is between them neither starts nor ends with a backtick, the runs being whole),
 * in one pass. The regular expression it replaces, /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g, took
 * time with the square of a line of many backticks or runs of them (40,000 backticks: 3.9 s).
 */
export function codeSpansOf(line: string): [number, number][] {
  const runs: [number, number][] = []; // [start, length]
  for (let i = line.indexOf("`"); i >= 0; ) {
    let j = i + 1;
    while (line.charCodeAt(j) === 96) j++;
    runs.push([i, j - i]);
    i = line.indexOf("`", j);
  }
  // The next run of the same length after each run (from the right, one map of lengths).
  const next = new Array<number>(runs.length);
  const seen = new Map<number, number>();
  for (let k = runs.length - 1; k >= 0; k--) { next[k] = seen.get(runs[k]![1]) ?? -1; seen.set(runs[k]![1], k); }
  const out: [number, number][] = [];
  for (let k = 0; k < runs.length; ) {
    const close = next[k]!;
    if (close < 0) { k++; continue; }
    out.push([runs[k]![0], runs[close]![0] + runs[close]![1]]);
    k = close + 1;
  }
  return out;
}

/** Field ranges of a markdown text: [start, end, field], sorted and non-overlapping. */
function markdownFields(text: string): [number, number, Field][] {
  const out: [number, number, Field][] = [];
  let fence: string | undefined;
  let prevStart = -1;
  let prevBlank = true;
  let at = 0;
  const fm = frontMatterBlock(text);
  if (fm) at = fm.bodyOffset;
  while (at <= text.length) {
    let nl = text.indexOf("\n", at);
    if (nl < 0) nl = text.length;
    const line = text.slice(at, nl);
    const trimmed = line.trimStart();
    const indent = line.length - trimmed.length;
    if (fence !== undefined) {
      out.push([at, nl, FIELD_CODE]);
      if (indent <= 3 && trimmed.startsWith(fence) && trimmed.slice(fence.length).replace(new RegExp(`^\\${fence[0]}*`), "").trim() === "") fence = undefined;
      prevBlank = true;
    } else if (indent <= 3 && (trimmed.startsWith("```") || trimmed.startsWith("~~~"))) {
      fence = /^(`{3,}|~{3,})/.exec(trimmed)![1]!;
      out.push([at, nl, FIELD_CODE]);
      prevBlank = true;
    } else if (indent <= 3 && /^#{1,6}(?:[ \t]|$)/.test(trimmed)) {
      out.push([at, nl, FIELD_HEADING]);
      prevBlank = true;
    } else if (indent <= 3 && !prevBlank && prevStart >= 0 && /^(?:=+|-+)[ \t]*$/.test(trimmed)) {
      // Setext underline: the previous line was a heading (drop its code spans).
      while (out.length && out[out.length - 1]![0] >= prevStart) out.pop();
      out.push([prevStart, at - 1, FIELD_HEADING]);
      prevBlank = true;
    } else {
      const blank = trimmed.length === 0;
      if (!blank && line.includes("`")) for (const [a, b] of codeSpansOf(line)) out.push([at + a, at + b, FIELD_CODE]);
      prevBlank = blank;
    }
    prevStart = at;
    at = nl + 1;
  }
  return out;
}

export type DocTerms = {
  /** Lower-cased base terms in runs of one chunk and field; positions are consecutive across runs. */
  runs: { ci: number; field: Field; terms: string[] }[];
  /** Number of base terms (positions). */
  count: number;
  /** Per chunk: the position of its first term and its length in terms (the whole window). */
  chunkFirst: number[];
  chunkLen: number[];
  /** Parts and compounds: [chunk index, term, field] (they count in their chunk, without a position). */
  extra: [number, string, Field][];
};

/** Tokens with `_` inside or camelCase humps: the ones that have parts. */
const HUMPED = /(?<![A-Za-z0-9_])[A-Za-z0-9_]*(?:[a-z][A-Z]|[A-Z]{2}[a-z]|[A-Za-z0-9]_[A-Za-z0-9])[A-Za-z0-9_]*/g;

/**
 * Terms of a document for the index, chunk by chunk. Each term belongs to the core of one chunk
 * (from the chunk's start to the next chunk's start), so overlapping windows do not count it
 * twice. Work is done with native regular expressions over slices (one per chunk core and field),
 * not a loop per character. `spans`: the chunks' [start, end) offsets, in order.
 */
export function indexTerms(text: string, kind: string, spans: [number, number][]): DocTerms {
  const ranges: [number, number, Field][] = kind === "code" ? [[0, text.length, FIELD_CODE]] : kind === "markdown" || kind === "docx" ? markdownFields(text) : [];
  const lower = text.toLowerCase();
  const same = lower.length === text.length;
  const lowerOf = (a: number, b: number) => (same ? lower.slice(a, b) : text.slice(a, b).toLowerCase());
  const runs: DocTerms["runs"] = [];
  let count = 0;
  const chunkFirst: number[] = [];
  const chunkLen: number[] = [];
  const extra: [number, string, Field][] = [];
  let r = 0;
  const segment = (ci: number, a: number, b: number, field: Field) => {
    if (b <= a) return;
    const raw = text.slice(a, b);
    const low = lowerOf(a, b);
    const list = low.match(TERM);
    if (!list) return;
    runs.push({ ci, field, terms: list });
    count += list.length;
    let rawList: string[] | undefined;
    for (let i = 0; i < list.length; i++) {
      if (list[i]!.length <= MAX_TERM) continue;
      rawList ??= raw.match(TERM) ?? [];
      for (const w of longWindows(list[i]!, rawList.length === list.length ? rawList[i]! : list[i]!)) extra.push([ci, w, field]);
    }
    eachOutsideWords(HUMPED, raw, Infinity, (m) => { for (const p of identParts(m[0])) extra.push([ci, p, field]); });
    if (low.length > 2) eachOutsideWords(COMPOUND, low, MAX_COMPOUND, (m) => extra.push([ci, m[0], field]));
  };
  for (let ci = 0; ci < spans.length; ci++) {
    const a = spans[ci]![0];
    const b = ci + 1 < spans.length ? Math.max(a, spans[ci + 1]![0]) : spans[ci]![1];
    chunkFirst.push(count);
    // Split the core at field boundaries.
    while (r < ranges.length && ranges[r]![1] <= a) r++;
    let at = a;
    for (let k = r; k < ranges.length && ranges[k]![0] < b; k++) {
      const [rs, re, f] = ranges[k]!;
      if (rs > at) segment(ci, at, rs, FIELD_BODY);
      segment(ci, Math.max(at, rs), Math.min(b, re), f);
      at = Math.min(b, re);
    }
    segment(ci, at, b, FIELD_BODY);
  }
  for (let ci = 0; ci < spans.length; ci++) {
    const core = (ci + 1 < chunkFirst.length ? chunkFirst[ci + 1]! : count) - chunkFirst[ci]!;
    const next = spans[ci + 1];
    const tail = next && spans[ci]![1] > next[0] ? (lowerOf(next[0], spans[ci]![1]).match(TERM)?.length ?? 0) : 0;
    chunkLen.push(core + tail);
  }
  return { runs, count, chunkFirst, chunkLen, extra };
}

/** A name's words with each one over MAX_TERM replaced by its windows (longWindows), as nameTerms indexes them. */
function longTerms(name: string, words: string[]): string[] {
  const raws = name.match(TERM) ?? [];
  return words.flatMap((x, i) => (x.length <= MAX_TERM ? [x] : longWindows(x, raws.length === words.length ? raws[i]! : x)));
}

/** Terms a name is found by: its base terms, their parts and its compounds (the same terms indexTerms gives). */
export function nameTerms(name: string): string[] {
  const low = name.toLowerCase();
  const words = low.match(TERM) ?? [];
  // Usually every word is a term as it is: the list itself, with no copy (a long word becomes its windows).
  const out = words.some((x) => x.length > MAX_TERM) ? longTerms(name, words) : words;
  if (/[A-Z_]/.test(name)) eachOutsideWords(HUMPED, name, Infinity, (m) => out.push(...identParts(m[0])));
  if (/[.\-:/>]/.test(low) && low.length === name.length) eachOutsideWords(COMPOUND, low, MAX_COMPOUND, (m) => out.push(m[0]));
  return out;
}

/**
 * Whether a name holds a phrase's words next to each other, in order: as its words
 * (`Event Loop Basics` holds "event loop") or with each identifier split into its parts
 * (`fetchUserData` holds "user data", not "data user"). Entity postings keep no positions, so an
 * entity matched by every word of a phrase is checked against its name with this.
 */
export function holdsPhrase(name: string, terms: readonly string[]): boolean {
  const words = rawWords(name);
  const base = words.map((w) => w.toLowerCase());
  const split = () => words.flatMap((w, i) => { const p = identParts(w); return p.length ? p : [base[i]!]; });
  return terms.length > 0 && (holdsSequence(base, terms) || holdsSequence(split(), terms));
}

/** Whether `seq` holds `terms` next to each other, in order. */
export function holdsSequence(seq: readonly string[], terms: readonly string[]): boolean {
  for (let k = seq.indexOf(terms[0]!); k >= 0 && k + terms.length <= seq.length; k = seq.indexOf(terms[0]!, k + 1)) {
    if (terms.every((t, j) => seq[k + j] === t)) return true;
  }
  return false;
}

/** Common English words: dropped from a query that has other words (still indexed, for phrases). */
export const STOP_WORDS = new Set(
  ("a an and are as at be but by for from has have he her his i if in into is it its of on or our she so such that the their " +
    "then there these they this to was we were what when where which who will with you your not no do does did can could " +
    "would should may might must shall than too very just about also").split(" "),
);

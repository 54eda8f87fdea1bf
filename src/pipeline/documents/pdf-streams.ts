/**
 * A PDF's compressed streams measured before pdf.js sees the file. pdf.js inflates a content
 * stream whole, with no bound on its output, so a small file whose streams inflate hugely (a
 * "bomb": 0.5 MB of PDF, 1 GB of spaces in one page) would take that much memory. Each stream that
 * pdf.js may inflate for text (every stream but images) and that starts with FlateDecode is
 * inflated here with a hard bound on its output, unless MAX_DEFLATE_EXPANSION shows it cannot pass
 * a limit: a stream past MAX_PDF_STREAM_BYTES, or streams adding up to more than
 * MAX_PDF_INFLATED_BYTES (CPU time: pdf.js inflates a page at a time), and the document is refused
 * before pdf.js parses it. Memory stays within about one stream's bound (one output at a time,
 * dropped once counted).
 *
 * The stream's data is taken as pdf.js takes it: `/Length` when it is a number (direct, or an
 * indirect object holding one) that ends at `endstream`, else up to the next `endstream`. Chained
 * FlateDecode filters are followed. Not measured (pdf.js gets them unchecked): streams whose first
 * filter is another one (LZW, RunLength, an ASCII encoding), and an encrypted document's streams
 * (encrypted bytes do not inflate).
 */
import { inflateRawBounded, TOO_LARGE } from "../../shared/zlib.ts";
import { countBelow } from "../../shared/sorted.ts";

/** What one stream may inflate to, and all of a PDF's streams together, at most: more is refused (`too_large`). */
export const MAX_PDF_STREAM_BYTES = 64 * 1024 * 1024;
export const MAX_PDF_INFLATED_BYTES = 512 * 1024 * 1024;

/**
 * `streams`: the FlateDecode streams found; `inflated`: how many of them the scan inflated (the
 * others cannot pass a limit, see scanPdfStreams); `bytes`: what those inflated to, every filter of
 * a chain counted.
 */
export type StreamScan = { ok: true; bytes: number; streams: number; inflated: number } | { ok: false; detail: string };

/**
 * The most DEFLATE expands: a 258-byte match (the longest) coded in 2 bits (a 1-bit length code and
 * a 1-bit distance code, the shortest Huffman codes inflate accepts), so 1032 output bytes per input
 * byte; literals (8 bytes per byte at best), stored blocks and block headers only lower it. The same
 * for zlib-wrapped data (the wrapper adds input, no output). A chain multiplies: the i-th FlateDecode
 * filter's input is the previous one's output, so it gives at most 1032^i times the stream's bytes.
 */
export const MAX_DEFLATE_EXPANSION = 1032;

/**
 * The most `k` chained FlateDecode filters give from `n` bytes: the last filter's output (the
 * largest) and all outputs together (the scan counts each). Capped just past `cap`, which keeps the
 * sums exact (and a long chain finite).
 */
function worstOf(n: number, k: number, cap: number): { last: number; all: number } {
  let last = n;
  let all = 0;
  for (let i = 0; i < k; i++) { last = Math.min(last * MAX_DEFLATE_EXPANSION, cap + 1); all = Math.min(all + last, cap + 1); }
  return { last, all };
}

/**
 * Adds up the inflated size of the file's FlateDecode streams (not images), stopping past a limit.
 * A stream is inflated only when it could pass a limit, by MAX_DEFLATE_EXPANSION: when its filters'
 * worst output is over the per-stream limit, or when what was inflated so far plus the worst of
 * everything not inflated is over the total (once it is not, it stays so: an inflate replaces a
 * worst case with what it measured). An ordinary PDF's streams are then inflated by pdf.js alone.
 */
export function scanPdfStreams(buf: Uint8Array, limits: { stream: number; total: number } = { stream: MAX_PDF_STREAM_BYTES, total: MAX_PDF_INFLATED_BYTES }): StreamScan {
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString("latin1");
  const found: { start: number; data: Uint8Array; flates: number }[] = [];
  let held: Map<string, number> | undefined;
  let objs: number[] | undefined;
  const kw = /stream(?:\r\n|\n|\r)/g;
  for (let m = kw.exec(text); m; m = kw.exec(text)) {
    const at = m.index;
    if (text.startsWith("end", at - 3)) continue;
    // The stream's dictionary: from its object header to the keyword (only its own keys matter).
    // Only white space may stand between `>>` and the keyword, and the header is looked for at
    // most 64 KiB back (a sorted list of `obj` offsets): no search runs back to the file's start
    // for every keyword, which made a file of many keywords quadratic.
    let close = at;
    while (close > 0 && WHITE.has(text.charCodeAt(close - 1))) close--;
    close -= 2;
    if (close < 0 || text.charCodeAt(close) !== 62 || text.charCodeAt(close + 1) !== 62) continue;
    const obj = lastBefore((objs ??= offsetsOf(text, "obj")), close);
    const dict = text.slice(obj < 0 || close - obj > 65536 ? Math.max(0, close - 65536) : obj, close + 2);
    const filters = filtersOf(dict);
    if (!filters.length || !isFlate(filters[0]!) || /\/Subtype\s*\/Image\b/.test(dict)) continue;
    const start = at + m[0].length;
    const end = streamEnd(text, dict, start, () => (held ??= heldNumbers(text)));
    kw.lastIndex = end;
    const flates = filters.findIndex((f) => !isFlate(f));
    found.push({ start, data: buf.subarray(start, end), flates: flates < 0 ? filters.length : flates });
  }

  const cap = Math.max(limits.stream, limits.total);
  // The worst case of every stream not inflated (yet).
  let unmeasured = 0;
  for (const s of found) unmeasured += worstOf(s.data.length, s.flates, cap).all;
  let total = 0;
  let inflated = 0;
  for (const { start, data: raw, flates } of found) {
    let data = raw;
    unmeasured -= worstOf(data.length, flates, cap).all;
    for (let i = 0; i < flates; i++) {
      // The rest of the chain from what is known of its input: skipped when it cannot pass a limit.
      const worst = worstOf(data.length, flates - i, cap);
      if (worst.last <= limits.stream && total + worst.all + unmeasured <= limits.total) { unmeasured += worst.all; break; }
      const bound = Math.min(limits.stream, limits.total - total);
      if (i === 0) inflated++;
      let out: Uint8Array | typeof TOO_LARGE;
      try { out = inflateRawBounded(skipZlibHeader(data), bound, { partial: true }); } catch {
        break; // not deflate data (pdf.js decides what it is)
      }
      if (out === TOO_LARGE) {
        return {
          ok: false,
          detail: bound < limits.stream
            ? `its compressed streams inflate to more than ${limits.total} bytes`
            : `a compressed stream (at byte ${start}) inflates to more than ${limits.stream} bytes`,
        };
      }
      // Only the last filter's output is what pdf.js keeps; an inner one is counted too (it was inflated).
      total += out.length;
      data = out;
    }
  }
  return { ok: true, bytes: total, streams: found.length, inflated };
}

const isFlate = (f: string) => f === "FlateDecode" || f === "Fl";

/** PDF white space (NUL, tab, line feed, form feed, carriage return, space). */
const WHITE = new Set([0, 9, 10, 12, 13, 32]);

/** Every offset of `word` in the text, ascending. */
function offsetsOf(text: string, word: string): number[] {
  const out: number[] = [];
  for (let i = text.indexOf(word); i >= 0; i = text.indexOf(word, i + word.length)) out.push(i);
  return out;
}

/** The last of the sorted offsets below `limit`, or -1. */
function lastBefore(sorted: number[], limit: number): number {
  const n = countBelow(sorted, limit);
  return n > 0 ? sorted[n - 1]! : -1;
}

function filtersOf(dict: string): string[] {
  const m = /\/Filter\s*(\[[^\]]*\]|\/[^\s/<>[\]()]+)/.exec(dict);
  if (!m) return [];
  return [...m[1]!.matchAll(/\/([^\s/<>[\]()]+)/g)].map((x) => x[1]!);
}

/** Where a stream's data ends: at its /Length when `endstream` follows there, else at the next `endstream`. */
function streamEnd(text: string, dict: string, start: number, held: () => Map<string, number>): number {
  let len: number | undefined;
  const direct = /\/Length\s+(\d+)(?!\s+\d+\s+R)/.exec(dict);
  if (direct) len = Number(direct[1]);
  else {
    const ref = /\/Length\s+(\d+)\s+(\d+)\s+R/.exec(dict);
    if (ref) len = held().get(`${Number(ref[1])} ${Number(ref[2])}`);
  }
  if (len !== undefined && start + len <= text.length && /^\s*endstream/.test(text.slice(start + len, start + len + 32))) return start + len;
  const e = text.indexOf("endstream", start);
  return e < 0 ? text.length : e;
}

/** Every object that holds only a number ("12 0 obj 345 endobj"): an indirect /Length is one. Found in one pass, when first needed. */
function heldNumbers(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/(?<![0-9])(\d+)\s+(\d+)\s+obj\s*(\d+)\s*endobj/g)) out.set(`${Number(m[1])} ${Number(m[2])}`, Number(m[3]));
  return out;
}

/** A zlib stream's data without its two-byte header (a raw inflate then ignores the trailing checksum). */
function skipZlibHeader(d: Uint8Array): Uint8Array {
  return d.length >= 2 && (d[0]! & 0x0f) === 8 && ((d[0]! << 8) | d[1]!) % 31 === 0 ? d.subarray(2) : d;
}

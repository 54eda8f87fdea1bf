/**
 * A PDF's compressed streams measured before pdf.js sees the file. pdf.js inflates a content
 * stream whole, with no bound on its output, so a small file whose streams inflate hugely (a
 * "bomb": 0.5 MB of PDF, 1 GB of spaces in one page) would take that much memory. Each stream that
 * pdf.js may inflate for text (every stream but images) and that starts with FlateDecode is
 * inflated here with a hard bound on its output: a stream past MAX_PDF_STREAM_BYTES, or streams
 * adding up to more than MAX_PDF_INFLATED_BYTES (CPU time: pdf.js inflates a page at a time), and
 * the document is refused before pdf.js parses it. Memory stays within about one stream's bound
 * (one output at a time, dropped once counted).
 *
 * The stream's data is taken as pdf.js takes it: `/Length` when it is a number (direct, or an
 * indirect object holding one) that ends at `endstream`, else up to the next `endstream`. Chained
 * FlateDecode filters are followed. Not measured (pdf.js gets them unchecked): streams whose first
 * filter is another one (LZW, RunLength, an ASCII encoding), and an encrypted document's streams
 * (encrypted bytes do not inflate).
 */
import { inflateRawBounded, TOO_LARGE } from "../../shared/zlib.ts";

/** What one stream may inflate to, and all of a PDF's streams together, at most: more is refused (`too_large`). */
export const MAX_PDF_STREAM_BYTES = 64 * 1024 * 1024;
export const MAX_PDF_INFLATED_BYTES = 512 * 1024 * 1024;

export type StreamScan = { ok: true; bytes: number; streams: number } | { ok: false; detail: string };

/** Adds up the inflated size of the file's FlateDecode streams (not images), stopping past a limit. */
export function scanPdfStreams(buf: Uint8Array, limits: { stream: number; total: number } = { stream: MAX_PDF_STREAM_BYTES, total: MAX_PDF_INFLATED_BYTES }): StreamScan {
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString("latin1");
  let total = 0;
  let streams = 0;
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
    let data: Uint8Array = buf.subarray(start, end);
    streams++;
    for (const f of filters) {
      if (!isFlate(f)) break;
      const left = limits.total - total;
      const bound = Math.min(limits.stream, left);
      const over = () => ({
        ok: false as const,
        detail: bound < limits.stream
          ? `its compressed streams inflate to more than ${limits.total} bytes`
          : `a compressed stream (at byte ${start}) inflates to more than ${limits.stream} bytes`,
      });
      let out: Uint8Array | typeof TOO_LARGE;
      try { out = inflateRawBounded(skipZlibHeader(data), bound, { partial: true }); } catch {
        break; // not deflate data (pdf.js decides what it is)
      }
      if (out === TOO_LARGE) return over();
      // Only the last filter's output is what pdf.js keeps; an inner one is counted too (it was inflated).
      total += out.length;
      data = out;
    }
  }
  return { ok: true, bytes: total, streams };
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
  let lo = 0, hi = sorted.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (sorted[mid]! < limit) lo = mid + 1; else hi = mid; }
  return lo > 0 ? sorted[lo - 1]! : -1;
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

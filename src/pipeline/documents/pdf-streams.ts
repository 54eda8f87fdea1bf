/**
 * A PDF's compressed streams measured before pdf.js sees the file. pdf.js inflates a content
 * stream whole, with no bound on its output, so a small file whose streams inflate hugely (a
 * "bomb": 0.5 MB of PDF, 1 GB of spaces in one page) would take that much memory. Each stream whose
 * data is zlib data (pdf.js's FlateDecode requires the zlib header) is inflated here with a hard
 * bound on its output: a stream past MAX_PDF_STREAM_BYTES, or streams adding up to more than
 * MAX_PDF_INFLATED_BYTES (CPU time: pdf.js inflates a page at a time), and the document is refused
 * before pdf.js parses it. Memory stays within about one stream's bound (one output at a time,
 * dropped once counted). Every such stream is inflated, ordinary ones too: skipping those whose
 * length times the most DEFLATE expands (1032) could not pass a limit trusted a length read from a
 * dictionary pdf.js may read otherwise (a second `/Len#67th`, an indirect length defined twice).
 *
 * The stream dictionaries' filters are not read: a dictionary can say FlateDecode in ways a pattern
 * misses and pdf.js reads (`/F /Fl`, `/Flate#44ecode`, a filter held by another object, a comment
 * before the keyword), so a stream is measured by what its data is. An output that is zlib data
 * again is a chained filter, measured in turn. A stream whose dictionary says it is an image is held
 * to the per-stream bound only (pdf.js does not decode images for text; a page's contents that
 * claim to be one are still bounded), not counted in the total: PDFs of many large images stay
 * readable. The data is inflated from its start to the end of its deflate stream, wherever its
 * `/Length` or an `endstream` inside it says it stops. Not measured (pdf.js gets them unchecked):
 * streams whose first filter is another one (LZW, RunLength, an ASCII encoding), and an encrypted
 * document's streams (encrypted bytes do not inflate).
 */
import { inflateRawBounded, TOO_LARGE } from "../../shared/zlib.ts";
import { countBelow } from "../../shared/sorted.ts";

/** What one stream may inflate to, and all of a PDF's streams together, at most: more is refused (`too_large`). */
export const MAX_PDF_STREAM_BYTES = 64 * 1024 * 1024;
export const MAX_PDF_INFLATED_BYTES = 512 * 1024 * 1024;

/** `streams`: the zlib streams found; `bytes`: what they inflated to (images left out), every filter of a chain counted. */
export type StreamScan = { ok: true; bytes: number; streams: number } | { ok: false; detail: string };



/** Adds up the inflated size of the file's zlib streams (images held to the per-stream bound only), stopping past a limit. */
export function scanPdfStreams(buf: Uint8Array, limits: { stream: number; total: number } = { stream: MAX_PDF_STREAM_BYTES, total: MAX_PDF_INFLATED_BYTES }): StreamScan {
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString("latin1");
  const found: { start: number; image: boolean }[] = [];
  let held: Map<string, number> | undefined;
  let objs: number[] | undefined;
  // The keyword, blanks pdf.js skips after it, then an end of line when there is one.
  const kw = /stream[ \t\f\0]*(?:\r\n|\n|\r)?/g;
  for (let m = kw.exec(text); m; m = kw.exec(text)) {
    const at = m.index;
    if (text.startsWith("end", at - 3)) continue;
    const start = at + m[0].length;
    if (!isZlib(buf, start)) continue;
    // The stream's dictionary, for /Subtype and /Length only: from its object header (looked for at
    // most 64 KiB back in a sorted list of `obj` offsets: no search runs back to the file's start
    // for every keyword, which made a file of many keywords quadratic) to the keyword.
    const obj = lastBefore((objs ??= offsetsOf(text, "obj")), at);
    const dict = text.slice(obj < 0 || at - obj > 65536 ? Math.max(0, at - 65536) : obj, at);
    // Past its data (as pdf.js finds its end): `stream` inside compressed bytes is no keyword.
    kw.lastIndex = streamEnd(text, dict, start, () => (held ??= heldNumbers(text)));
    found.push({ start, image: /\/Subtype\s*\/Image\b/.test(dict) });
  }

  let total = 0;
  for (const s of found) {
    let data = buf.subarray(s.start);
    for (let layer = 0; layer < MAX_CHAIN && isZlib(data, 0); layer++) {
      const bound = s.image ? limits.stream : Math.min(limits.stream, limits.total - total);
      let out: Uint8Array | typeof TOO_LARGE;
      // From the data's start to its deflate stream's end (what follows it is ignored).
      try { out = inflateRawBounded(data.subarray(2), bound, { partial: true }); } catch {
        break; // not deflate data (pdf.js decides what it is)
      }
      if (out === TOO_LARGE) {
        return {
          ok: false,
          detail: bound < limits.stream
            ? `its compressed streams inflate to more than ${limits.total} bytes`
            : `a compressed stream (at byte ${s.start}) inflates to more than ${limits.stream} bytes`,
        };
      }
      // Only the last filter's output is what pdf.js keeps; an inner one is counted too (it was inflated).
      if (!s.image) total += out.length;
      data = out;
    }
  }
  return { ok: true, bytes: total, streams: found.length };
}

/** Chained FlateDecode filters followed at most (pdf.js applies any number; past this, the scan stops measuring). */
const MAX_CHAIN = 16;

/** Whether zlib data starts at `at`: deflate method (8), a window size zlib accepts, and the header's check. */
function isZlib(b: Uint8Array, at: number): boolean {
  if (at + 2 > b.length) return false;
  const cmf = b[at]!, flg = b[at + 1]!;
  return (cmf & 0x0f) === 8 && cmf >> 4 <= 7 && ((cmf << 8) | flg) % 31 === 0;
}


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

/**
 * Chunks are windows of whitespace-separated tokens with overlap, stored as character offsets into
 * the document text (the text is stored once). Search terms are in tokens.ts.
 */
import { countAtOrBelow } from "../shared/sorted.ts";

export function lineStarts(text: string): Uint32Array {
  let n = 1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  const out = new Uint32Array(n);
  let k = 1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) out[k++] = i + 1;
  return out;
}

/** 1-based line of a character offset. */
export const lineAt = (starts: Uint32Array, offset: number): number => Math.max(1, countAtOrBelow(starts, offset));

export type Span = { s: number; e: number };

export function chunkSpans(text: string, size: number, overlap: number): Span[] {
  const starts: number[] = [];
  const ends: number[] = [];
  let inTok = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const ws = c === 32 || c === 10 || c === 9 || c === 13 || c === 12 || c === 11 || c === 0xa0;
    if (!ws && !inTok) { starts.push(i); inTok = true; }
    else if (ws && inTok) { ends.push(i); inTok = false; }
  }
  if (inTok) ends.push(text.length);
  const out: Span[] = [];
  const step = size - overlap;
  for (let i = 0; i < starts.length; i += step) {
    const last = Math.min(i + size, starts.length) - 1;
    out.push({ s: starts[i]!, e: ends[last]! });
    if (last === starts.length - 1) break;
  }
  return out;
}

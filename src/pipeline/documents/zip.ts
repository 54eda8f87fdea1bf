/**
 * A small reader of ZIP archives (what a .docx is): the central directory, then one entry's bytes,
 * stored or deflated. No ZIP64, no encryption: such an archive is reported, not read. Limits guard
 * against a bomb: an entry that says it inflates past `maxEntryBytes` is refused unread
 * (`too_large`), and the inflate itself stops at the size the entry declares (never more than the
 * limit), so an archive whose declared sizes lie costs no more memory than an honest one: it is
 * `corrupt` as soon as its output passes the declared size. node:zlib (loaded on the first entry:
 * a static import loads node:stream at every start) because Bun.inflateSync has no output bound.
 */
import { inflateRawBounded, TOO_LARGE } from "../../shared/zlib.ts";

export class ZipError extends Error {
  constructor(message: string, readonly reason: "corrupt" | "encrypted" | "too_large" = "corrupt") { super(message); }
}

export type ZipEntry = { name: string; method: number; flags: number; compressed: number; size: number; offset: number };

const EOCD = 0x06054b50;
const CEN = 0x02014b50;
const LOC = 0x04034b50;

export function zipEntries(buf: Uint8Array): Map<string, ZipEntry> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (dv.getUint32(i, true) === EOCD) { eocd = i; break; }
  }
  if (eocd < 0) throw new ZipError("not a ZIP archive (no end of central directory)");
  const count = dv.getUint16(eocd + 10, true);
  const cdOffset = dv.getUint32(eocd + 16, true);
  if (cdOffset === 0xffffffff || count === 0xffff) throw new ZipError("ZIP64 archives are not supported");
  const out = new Map<string, ZipEntry>();
  let at = cdOffset;
  const dec = new TextDecoder();
  for (let k = 0; k < count; k++) {
    if (at + 46 > buf.length || dv.getUint32(at, true) !== CEN) throw new ZipError("damaged central directory");
    const flags = dv.getUint16(at + 8, true);
    const method = dv.getUint16(at + 10, true);
    const compressed = dv.getUint32(at + 20, true);
    const size = dv.getUint32(at + 24, true);
    const nameLen = dv.getUint16(at + 28, true);
    const extraLen = dv.getUint16(at + 30, true);
    const commentLen = dv.getUint16(at + 32, true);
    const offset = dv.getUint32(at + 42, true);
    const name = dec.decode(buf.subarray(at + 46, at + 46 + nameLen));
    out.set(name, { name, method, flags, compressed, size, offset });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

export function zipRead(buf: Uint8Array, e: ZipEntry, maxEntryBytes: number): Uint8Array {
  if (e.flags & 1) throw new ZipError(`${e.name} is encrypted`, "encrypted");
  if (e.size > maxEntryBytes) throw new ZipError(`${e.name} would inflate to ${e.size} bytes (the limit is ${maxEntryBytes})`, "too_large");
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (e.offset + 30 > buf.length || dv.getUint32(e.offset, true) !== LOC) throw new ZipError(`damaged local header of ${e.name}`);
  const start = e.offset + 30 + dv.getUint16(e.offset + 26, true) + dv.getUint16(e.offset + 28, true);
  if (start + e.compressed > buf.length) throw new ZipError(`${e.name} is truncated`);
  const data = buf.subarray(start, start + e.compressed);
  if (e.method === 0) return data;
  if (e.method !== 8) throw new ZipError(`${e.name} uses compression method ${e.method}`);
  // Bounded by the declared size: one byte more stops the inflate before the output grows further.
  let out: Uint8Array | typeof TOO_LARGE;
  try { out = inflateRawBounded(data, e.size); } catch { throw new ZipError(`${e.name} does not inflate`); }
  if (out === TOO_LARGE) throw new ZipError(`${e.name} inflates past the ${e.size} bytes its archive declares`);
  if (out.length !== e.size) throw new ZipError(`${e.name} inflates to ${out.length} bytes, not ${e.size}`);
  return out;
}

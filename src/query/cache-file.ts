/**
 * The file format of the read side's caches (words.ts, filters.ts): one header line, then a body.
 *
 *   <magic> <crc32, 8 hex> <JSON object>\n<body>
 *
 * The crc32 covers the JSON, the newline and the body: the JSON says which index objects the cache
 * answers for and where things are in the body, so a digit changed there is damage like a byte
 * changed in the body. A cache is never part of a run: one that does not read back is made again.
 */
import { atomicWriteFile } from "../shared/fs.ts";
import { crc32Hex } from "../shared/hash.ts";

/** The bytes of a cache file. `magic`: the format's name and version, without a space at the end. */
export function cacheFileBytes(magic: string, named: Record<string, unknown>, body: Uint8Array): Buffer {
  const covered = Buffer.concat([Buffer.from(`${JSON.stringify(named)}\n`), body]);
  return Buffer.concat([Buffer.from(`${magic} ${crc32Hex(Bun.hash.crc32(covered))} `), covered]);
}

const CRC = /^[0-9a-f]{8}$/;

/**
 * A cache file's JSON object and body (a view of `raw`), or undefined when the magic, the checksum
 * or the JSON does not hold (another format, damage, truncation).
 */
export function readCacheFile(magic: string, raw: Buffer): { named: Record<string, unknown>; body: Buffer } | undefined {
  const at = magic.length + 1; // the checksum's first digit
  if (raw.length < at + 9 || raw.toString("latin1", 0, at) !== `${magic} ` || raw[at + 8] !== 0x20) return undefined;
  const crc = raw.toString("latin1", at, at + 8);
  if (!CRC.test(crc) || crc32Hex(Bun.hash.crc32(raw.subarray(at + 9))) !== crc) return undefined;
  const nl = raw.indexOf(10, at + 9);
  if (nl < 0) return undefined;
  let named: unknown;
  try { named = JSON.parse(raw.toString("utf8", at + 9, nl)); } catch { return undefined; }
  if (typeof named !== "object" || named === null || Array.isArray(named)) return undefined;
  return { named: named as Record<string, unknown>, body: raw.subarray(nl + 1) };
}

/** Writes a cache file atomically (no fsync: a cache lost in a crash is made again); a write that fails is ignored. */
export function writeCacheFile(path: string, bytes: Uint8Array): void {
  try { atomicWriteFile(path, bytes, { fsync: false }); } catch { /* a read-only store only costs the reading */ }
}

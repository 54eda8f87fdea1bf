/**
 * Bloom filters over the keys of a segment's table: a reader asks a shard's filter whether the
 * shard can hold a key before it reads the block that would (a question about every shard, such as
 * the links into a document or the mentions of a reference, then reads the few shards that have it).
 *
 *   byte 0    k, the number of bit positions per key (1..16)
 *   bytes 1.. the bits: m = 8 x (length - 1), bit b is (byte 1 + b >> 3) & (1 << (b & 7))
 *
 * A key's positions are (h1 + i x h2) mod m for i < k, h1 and h2 the xxHash32 of its UTF-8 bytes with
 * seeds 0 and 1 (h2 made odd): a standard hash of the bytes, so the same keys give the same filter
 * on every machine. BITS_PER_KEY bits a key and k = 7 give about 1 % false positives; a filter
 * never says no to a key it was built from.
 */
/**
 * The index tables a reader asks every shard about, which have filters (index table `filters`): the
 * mentions of a shared node, the links into a document, a symbol's definitions and mentions.
 */
export const FILTER_TABLES = ["global", "links", "symbols", "symrefs"] as const;
export type FilterTable = (typeof FILTER_TABLES)[number];

const BITS_PER_KEY = 10;
const K = 7;
/** The most positions per key a reader accepts (a larger k is damage, not a filter). */
const MAX_K = 16;

/** A key's two hashes, computed once for the filters of many shards. */
export type BloomKey = { h1: number; h2: number };
export const bloomKey = (key: string): BloomKey => ({ h1: Bun.hash.xxHash32(key, 0), h2: Bun.hash.xxHash32(key, 1) | 1 });

/** The filter of `keys` (any order; duplicates count once). */
export function bloomOf(keys: Iterable<string>): Uint8Array {
  const list = [...keys];
  const bytes = Math.max(8, Math.ceil((list.length * BITS_PER_KEY) / 8));
  const out = new Uint8Array(1 + bytes);
  out[0] = K;
  const m = bytes * 8;
  for (const key of list) {
    const { h1, h2 } = bloomKey(key);
    for (let i = 0; i < K; i++) {
      const b = ((h1 + Math.imul(i, h2)) >>> 0) % m;
      out[1 + (b >> 3)]! |= 1 << (b & 7);
    }
  }
  return out;
}

/** Whether a filter is well formed (bloomHas reads any bytes; a reader checks a filter once with this). */
export function isBloom(filter: Uint8Array): boolean {
  return filter.length >= 2 && filter[0]! >= 1 && filter[0]! <= MAX_K;
}

/** False when the key is certainly not among the filter's keys; true when it may be. */
export function bloomHas(filter: Uint8Array, { h1, h2 }: BloomKey): boolean {
  const k = filter[0]!, m = (filter.length - 1) * 8;
  for (let i = 0; i < k; i++) {
    const b = ((h1 + Math.imul(i, h2)) >>> 0) % m;
    if ((filter[1 + (b >> 3)]! & (1 << (b & 7))) === 0) return false;
  }
  return true;
}

// encodeSegment's `stored` option (src/store/segment.ts StoredValue): a value stored alone is written
// as the block a previous segment stored for the same bytes, and only then; the segment's bytes are
// those a fresh encode makes. And a read that asks not to keep what it read caches no block.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeSegment, Segment, type StoredValue } from "../../src/store/segment.ts";

const dir = mkdtempSync(join(tmpdir(), "ag-segment-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const head = { schema_version: "2.0.0", kind: "text", shard: 0, stats: {} };
const bytes = (seed: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (i * seed + (i >> 3)) % 251);
const values: [string, Uint8Array][] = [["a", bytes(3, 5000)], ["b", bytes(5, 40)], ["c", bytes(7, 9000)]];
const encode = (stored?: Map<string, StoredValue>) => encodeSegment(head, {}, { text: values }, { level: 6, ...(stored ? { stored: { text: stored } } : {}) });
/** The values stored alone in a segment, as read back with their stored blocks. */
function storedOf(data: Uint8Array, name: string): Map<string, StoredValue> {
  const p = join(dir, name);
  writeFileSync(p, data);
  const seg = new Segment(p);
  const out = new Map<string, StoredValue>();
  try { seg.eachBytes("text", (k, raw, st) => { if (st) out.set(k, { raw, data: st.data, crc: st.crc }); }); } finally { seg.close(); }
  return out;
}

test("a previous segment's blocks for the same bytes give the bytes of a fresh encode", () => {
  const fresh = encode();
  const stored = storedOf(fresh.data, "fresh");
  expect([...stored.keys()]).toEqual(["a", "c"]); // "b" is in a companion block
  expect(encode(stored).sha256).toBe(fresh.sha256);
});

test("a stored block is written only for the same bytes, and then as it was", () => {
  const fresh = encode();
  const stored = storedOf(fresh.data, "fresh2");
  // A block kept for other bytes of the same key is not used.
  const other = new Map(stored);
  other.set("a", { ...stored.get("a")!, raw: bytes(11, 5000) });
  expect(encode(other).sha256).toBe(fresh.sha256);
  // For the same bytes the block is taken as it was: a recognisable (not zstd) block shows it.
  const marked = new Map(stored);
  const mark = new Uint8Array([1, 2, 3, 4]);
  marked.set("c", { raw: stored.get("c")!.raw, data: mark, crc: Bun.hash.crc32(mark) });
  const out = encode(marked);
  expect(out.sha256).not.toBe(fresh.sha256);
  expect(Buffer.from(out.data).indexOf(Buffer.from(mark))).toBeGreaterThan(0);
});

test("bytes(…, keep: false) caches no block, whether the value stands alone or shares a companion block", () => {
  const p = join(dir, "keep");
  writeFileSync(p, encode().data);
  const seg = new Segment(p);
  const cached = () => (seg as unknown as { binCache: Map<number, Uint8Array> }).binCache.size;
  try {
    for (const k of ["a", "b", "c"]) expect(seg.bytes("text", k, false)).toEqual(values.find(([x]) => x === k)![1]);
    expect(cached()).toBe(0);
    for (const k of ["a", "b", "c"]) seg.bytes("text", k);
    expect(cached()).toBe(3); // two values alone, one companion block
  } finally { seg.close(); }
});

// Segment.keysWithPrefix (a prefix search's walk of a shard's dictionary) gives the keys the
// generic range walk gives, in order, for prefixes inside one block, across many blocks and index
// levels, at a table's ends and past them, from any key on, and for every limit; in a binary table
// as in a text table, with JSON-quoted keys among them.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeSegment, Segment } from "../../src/store/segment.ts";

const dir = mkdtempSync(join(tmpdir(), "ag-segprefix-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// About 36,000 keys: runs that share long prefixes (blocks of 8 KiB hold a few hundred), a few keys
// the writer quotes, and single letters at both ends.
const keys = [...new Set([
  "a", "aa", "ab", "\"quoted", "tab\tkey", "zz", "zzz", "emoji😀key", "naïve", "日本語",
  ...Array.from({ length: 20000 }, (_, i) => `pro${String(i * 7919 % 100003).padStart(6, "0")}`),
  ...Array.from({ length: 3000 }, (_, i) => `process${i.toString(36)}`),
  ...Array.from({ length: 3000 }, (_, i) => `deprecat${i % 2 ? "ed" : "ion"}${i}`),
  ...Array.from({ length: 10000 }, (_, i) => `m${(i * 2654435761 >>> 0).toString(16)}`),
])].sort();

const path = join(dir, "seg");
writeFileSync(path, encodeSegment({ schema_version: "2.0.0", kind: "index", shard: 0, stats: {} },
  { names: keys.map((k, i) => [k, i]) }, { terms: keys.map((k, i) => [k, new Uint8Array([i % 251, 7])]) }).data);
const seg = new Segment(path);
afterAll(() => seg.close());

const expected = (table: string, prefix: string, max: number, from = prefix) => {
  const out: string[] = [];
  for (const k of seg.keys(table, from, prefix + "\uffff")) { if (out.length >= max) break; out.push(k); }
  return out;
};

test("the keys of a prefix, as the range walk gives them, for any limit and starting key", () => {
  // Many data blocks in both tables; the text table's more than the header's root holds (an index level).
  expect(seg.header.tables.terms!.root.length).toBeGreaterThan(20);
  expect(seg.header.tables.names!.levels).toBeGreaterThan(0);
  const prefixes = ["pro", "proc", "process", "process1", "pro0", "pro09", "deprecat", "deprecated", "deprecation9",
    "m", "m0", "mf", "a", "aa", "ab", "\"q", "tab", "z", "zz", "zzzz", "n", "", "0", "pq", "deprecatz"];
  let n = 0;
  for (const table of ["terms", "names"]) {
    for (const prefix of prefixes) {
      const all = expected(table, prefix, Infinity);
      for (const max of [1, 2, 31, 128, 1000, 100000]) {
        expect({ table, prefix, max, keys: seg.keysWithPrefix(table, prefix, max) }).toEqual({ table, prefix, max, keys: all.slice(0, max) });
        n++;
      }
      // From inside the range: each of a few keys, and just after one.
      for (const at of [all[0], all[Math.floor(all.length / 2)], all[all.length - 1]].filter((x): x is string => x !== undefined)) {
        for (const from of [at, `${at}\u0000`]) {
          expect(seg.keysWithPrefix(table, prefix, 500, from)).toEqual(expected(table, prefix, 500, from));
          n++;
        }
      }
    }
  }
  expect(n).toBeGreaterThan(300);
  expect(seg.keysWithPrefix("terms", "process", 100000)).toHaveLength(3000);
  expect(seg.keysWithPrefix("nosuch", "pro", 10)).toEqual([]);
});

/**
 * A table `t` of 100 keys in blocks of about 60 bytes, written to `name` with one of its data
 * blocks damaged (its crc no longer matches): the block `pick` chooses from the root's refs.
 */
function damagedSegment(name: string, pick: (root: [string, number, number, number][]) => number): { seg: Segment; keys: string[]; root: [string, number, number, number][] } {
  const p = join(dir, name);
  const keys = Array.from({ length: 100 }, (_, i) => `p${String(i).padStart(3, "0")}`);
  const enc = encodeSegment({ schema_version: "2.0.0", kind: "index", shard: 0, stats: {} }, { t: keys.map((k) => [k, 1]) }, {}, { layout: { t: { block: 60 } } });
  const data = new Uint8Array(enc.data);
  const base = 16 + new DataView(data.buffer).getUint32(8, true);
  const probe = new Segment((writeFileSync(p, data), p));
  const root = probe.header.tables.t!.root as [string, number, number, number][];
  probe.close();
  expect(root.length).toBeGreaterThan(3);
  data[base + root[pick(root)]![1]]! ^= 0xff;
  writeFileSync(p, data);
  return { seg: new Segment(p), keys, root };
}

test("no block past the last key wanted is read: a damaged one after it does not matter", () => {
  const { seg, keys, root } = damagedSegment("small", () => 1); // the second block
  const first = keys.filter((k) => k < root[1]![0]);
  try {
    expect(seg.keysWithPrefix("t", "p", first.length)).toEqual(first);
    expect(() => seg.keysWithPrefix("t", "p", first.length + 1)).toThrow(/corrupt/);
  } finally { seg.close(); }
});

test("every data block, in key order: their lines are the table's keys, in both table kinds", () => {
  // What the words cache (query/words.ts) reads a dictionary through: quoted keys as written,
  // values after the tab (digits in the binary table).
  for (const table of ["terms", "names"]) {
    const lines: string[] = [];
    seg.eachDataBlock(table, (raw) => lines.push(...new TextDecoder().decode(raw).split("\n").filter(Boolean)));
    const keys = lines.map((l) => l.slice(0, l.indexOf("\t")));
    expect(keys.map((k) => (k.startsWith('"') ? JSON.parse(k) : k))).toEqual([...seg.keys(table)]);
  }
  let blocks = 0;
  seg.eachDataBlock("nosuch", () => blocks++);
  expect(blocks).toBe(0);
});

test("every data block: a damaged block is a corrupt object", () => {
  const { seg } = damagedSegment("small-contains", (root) => root.length - 1); // the last block
  try { expect(() => seg.eachDataBlock("t", () => {})).toThrow(/corrupt/); } finally { seg.close(); }
});

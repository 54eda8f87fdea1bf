// A term's chunk postings whose checksum holds but whose varints do not (a writer's bug, or a store
// made by hand): truncated, the same chunk twice, positions cut short, a number too long to be one. A query that decodes them,
// with or without the positions a phrase needs, stops with exit 5 and one line naming the object;
// postings with long varints (ordinals and positions past 127) answer as written.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cpSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, EXAMPLE, expectOneLineError, tempDir } from "../helpers/cli.ts";
import { replaceIndexTable } from "../helpers/segments.ts";
import { VarintReader, VarintWriter } from "../../src/store/varint.ts";

afterAll(cleanup);

const TERM = "ledger";
const NOTE = "notes/ledger.md";
let root: string;
let original: [string, Uint8Array][];

beforeAll(() => {
  root = tempDir("ag-postings-");
  cpSync(EXAMPLE, root, { recursive: true });
  rmSync(join(root, ".pkg"), { recursive: true, force: true });
  // One long note (positions past 127, several chunks, multi-byte varints), and many short ones in its shard.
  const paras = Array.from({ length: 60 }, (_, p) => `Paragraph ${p}: the ledger keeps every charge, retry ${p}, and its invoice.`);
  writeFileSync(join(root, NOTE), `# Ledger\n\n${paras.join("\n\n")}\n`);
  for (let i = 0; i < 150; i++) writeFileSync(join(root, "notes", `n${i}.md`), `# Note ${i}\n\n${i % 2 ? "The ledger balances." : "Nothing here."}\n`);
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  original = replaceIndexTable(root, NOTE, "terms", undefined).binary;
  replaceIndexTable(root, NOTE, "terms", original); // as it was
});

/** The term's value with its chunk postings replaced by `edit` of them. */
function withChunkPostings(edit: (chunks: Uint8Array) => Uint8Array): [string, Uint8Array][] {
  return original.map(([k, v]): [string, Uint8Array] => {
    if (k !== TERM) return [k, v];
    const r = new VarintReader(v);
    const len = r.next();
    const chunks = edit(v.subarray(r.at, r.at + len));
    const w = new VarintWriter();
    w.push(chunks.length);
    w.append(chunks);
    w.append(v, r.at + len);
    return [k, w.bytes()];
  });
}

/** Where the first chunk entry ends: ordinal delta, chunk, head (fields, tf), per-field tf, extras, positions. */
function firstEntryEnd(chunks: Uint8Array): { end: number; headAt: number; positions: number } {
  const r = new VarintReader(chunks);
  r.next(); r.next();
  const headAt = r.at;
  const head = r.next();
  if (head % 4 === 3) { r.next(); r.next(); r.next(); }
  const xs = head & 4 ? r.next() : 0;
  const positions = Math.floor(head / 8) - xs;
  for (let k = 0; k < positions; k++) r.next();
  return { end: r.at, headAt, positions };
}

const queries = [[TERM], [`"the ${TERM} keeps"`], [`${TERM} invoice`]];

test("postings with long varints answer; their hits hold the word", () => {
  for (const q of queries) {
    const r = cli(["query", ...q, "--limit", "50", "--root", root, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.hits.length).toBeGreaterThan(q[0]!.startsWith('"') ? 0 : 20);
  }
  // The long note's chunks far down (ordinals and positions past 127) are found where they are.
  const far = cli(["query", TERM, "--path", NOTE, "--limit", "50", "--root", root, "--json"]);
  expect(far.code, far.stderr).toBe(0);
  expect(far.json.hits.some((h: { line: number; snippet: string }) => h.line > 100 && h.snippet.includes(TERM))).toBe(true);
  // The long note's postings do hold varints of more than one byte.
  const v = original.find(([k]) => k === TERM)![1];
  expect(v.some((b) => b >= 0x80)).toBe(true);
});

test.each([
  ["a varint cut short at the end", (c: Uint8Array) => Buffer.concat([c, Buffer.from([0x80])])],
  ["the positions cut short", (c: Uint8Array) => { const { end, positions } = firstEntryEnd(c); expect(positions).toBeGreaterThan(0); return c.subarray(0, end - 1); }],
  ["the same chunk twice", (c: Uint8Array) => { const { end, headAt } = firstEntryEnd(c); return Buffer.concat([c.subarray(0, end), Buffer.from([0, 0]), c.subarray(headAt, end), c.subarray(end)]); }],
  ["an entry without its head", (c: Uint8Array) => Buffer.concat([c, Buffer.from([1, 0])])],
  // 150 continuation bytes: the value's weight runs past Infinity and 0 × Infinity is NaN, which
  // passed every check of order and range.
  ["a document number of 151 bytes", () => Buffer.from([...Array(150).fill(0x80), 0, 0, 8, 0])],
  ["a document number of 9 bytes", () => Buffer.from([...Array(8).fill(0x80), 1, 0, 8, 0])],
  ["a document number of exactly 2^53", () => Buffer.from([...Array(7).fill(0x80), 0x10, 0, 8, 0])],
])("%s: exit 5, one line naming the object, for a word, a phrase and two words", (_name, edit) => {
  replaceIndexTable(root, NOTE, "terms", withChunkPostings(edit));
  try {
    for (const q of queries) {
      const r = cli(["query", ...q, "--root", root]);
      expect([q, r.code]).toEqual([q, 5]);
      expect(expectOneLineError(r)).toMatch(/objects\/.* is corrupt/);
    }
  } finally { replaceIndexTable(root, NOTE, "terms", original); }
  expect(cli(["query", TERM, "--root", root]).code).toBe(0);
});

test("a position of 2^53 is damage to a phrase, which reads positions; a word skips them unread and answers", () => {
  replaceIndexTable(root, NOTE, "terms", withChunkPostings(() => Buffer.from([0, 0, 8, ...Array(7).fill(0x80), 0x10])));
  try {
    const phrase = cli(["query", queries[1]![0]!, "--root", root]);
    expect(phrase.code).toBe(5);
    expect(expectOneLineError(phrase)).toMatch(/objects\/.* is corrupt/);
    expect(cli(["query", TERM, "--root", root]).code).toBe(0);
  } finally { replaceIndexTable(root, NOTE, "terms", original); }
});

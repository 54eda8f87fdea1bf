// A shard's chunk lengths (BM25's length of each chunk) are stored twice: as varints (table
// `chunks`, which incremental runs and older binaries read) and as u32 (table `chunklens`, which
// queries read without decoding). Both must say the same for every chunk, fresh and after
// incremental runs; a `chunklens` that does not add up, or disagrees with the header's counts, is
// a corrupt object (exit 5), not a wrong score; a store without it (written before it) still answers.
import { afterAll, expect, test } from "bun:test";
import { appendFileSync, cpSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, EXAMPLE, expectOneLineError, tempDir } from "../helpers/cli.ts";
import { loadWorkspace } from "../../src/config/load.ts";
import { openStore } from "../../src/store/open.ts";
import { RunIndex } from "../../src/query/run-index.ts";
import { VarintReader } from "../../src/store/varint.ts";
import { replaceIndexTable } from "../helpers/segments.ts";

afterAll(cleanup);

/** Every chunk's length as the varint table gives it, checked against what a query reads; the number of chunks checked. */
function compare(root: string, step: string): number {
  const ix = new RunIndex(openStore(loadWorkspace({ root })));
  let checked = 0;
  try {
    for (const n of ix.shards) {
      const seg = ix.seg(n)!;
      expect([step, n, Object.keys(seg.header.tables)]).toEqual([step, n, expect.arrayContaining(["chunks", "chunklens"])]);
      // As a query reads them (termChunks in search.ts): a document's chunks are lens[starts[ord]] up to lens[ends[ord]].
      const { starts, ends, lens } = ix.chunkLengths(n);
      const r = new VarintReader(seg.bytes("chunks", "all") ?? new Uint8Array(0));
      while (!r.done) {
        const ord = r.next();
        const count = r.next();
        expect([step, n, ord, ends[ord]! - starts[ord]!]).toEqual([step, n, ord, count]);
        for (let ci = 0; ci < count; ci++) {
          expect([step, n, ord, ci, lens[starts[ord]! + ci]]).toEqual([step, n, ord, ci, r.next()]);
          checked++;
        }
      }
    }
  } finally { ix.close(); }
  return checked;
}

function workspaceWithChunks(): string {
  const root = tempDir("ag-chunklens-");
  cpSync(EXAMPLE, root, { recursive: true });
  rmSync(join(root, ".pkg"), { recursive: true, force: true });
  // Documents of many chunks, an empty one, and a code file.
  for (let i = 0; i < 12; i++) {
    const paras = Array.from({ length: 20 + i * 7 }, (_, p) => `Paragraph ${p} of note ${i}: the ledger keeps every charge, retry ${p * i}, and its invoice.`);
    writeFileSync(join(root, "notes", `long-${i}.md`), `# Long note ${i}\n\n${paras.join("\n\n")}\n`);
  }
  writeFileSync(join(root, "notes", "empty.md"), "");
  cpSync(join(import.meta.dir, "..", "..", "src", "shared", "json.ts"), join(root, "notes", "json.ts"));
  return root;
}

test("the u32 chunk lengths are the varint ones, fresh and after incremental runs", () => {
  const root = workspaceWithChunks();
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  expect(compare(root, "fresh")).toBeGreaterThan(60);
  appendFileSync(join(root, "notes", "long-3.md"), "\nAn added paragraph about the ledger.\n");
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  compare(root, "one file edited");
  rmSync(join(root, "notes", "long-5.md"));
  writeFileSync(join(root, "notes", "long-new.md"), "# New\n\nA new note about invoices.\n");
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  compare(root, "one removed, one added");
});

/** Replaces (or leaves out) the `chunklens` table of notes/long-0.md's shard: `value` under "all", `before` under keys before it. Gives the old value. */
function replaceChunkLens(root: string, value: Uint8Array | undefined, before: [string, Uint8Array][] = []): Uint8Array | undefined {
  const was = replaceIndexTable(root, "notes/long-0.md", "chunklens", value ? [...before, ["all", value]] : undefined);
  return was.binary.find(([k]) => k === "all")?.[1];
}

test("a chunklens table that does not add up is a corrupt object; one read from anywhere in a block, or none, gives the same answers", () => {
  const root = workspaceWithChunks();
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  const good = cli(["query", "ledger invoice", "--limit", "20", "--root", root, "--json"]);
  expect(good.code).toBe(0);
  expect(good.json.hits.length).toBeGreaterThan(5);
  const u32 = (...xs: number[]) => new Uint8Array(new Uint32Array(xs).buffer);
  // As written, then after three bytes of another key (a companion block's value may start anywhere): the same answers.
  const table = replaceChunkLens(root, undefined)!;
  replaceChunkLens(root, table, [["aaa", new Uint8Array([1, 2, 3])]]);
  const shifted = cli(["query", "ledger invoice", "--limit", "20", "--root", root, "--json"]);
  expect(shifted.code).toBe(0);
  expect(shifted.json.hits).toEqual(good.json.hits);
  // Not whole u32s; more documents than it holds; a start past the lengths; a count that does not
  // add up; and tables that add up but disagree with the header's documents or chunks.
  const docs = new Uint32Array(table.buffer, table.byteOffset, table.length / 4)[0]!;
  for (const bad of [new Uint8Array([1, 2, 3]), u32(1000, 0), u32(2, 0, 5, 1, 7), u32(2, 0, 1, 3, 9, 9), u32(1, 0, 0), u32(docs, ...Array(docs + 1).fill(0))]) {
    replaceChunkLens(root, bad);
    const r = cli(["query", "ledger invoice", "--limit", "20", "--root", root]);
    expect([[...bad].join(","), r.code]).toEqual([[...bad].join(","), 5]);
    expect(expectOneLineError(r)).toMatch(/corrupt/);
  }
  // Adds up and agrees with the header, but every document after the first ends before it starts
  // (its start goes back): met where a query reads such a document, exit 5, not lengths of 1.
  const u = new Uint32Array(table.buffer, table.byteOffset, table.length / 4);
  const chunks = u[1 + docs]!;
  const back = u32(...[...u].map((x, i) => (i >= 2 && i <= docs ? chunks + docs - (i - 1) : x)));
  replaceChunkLens(root, back);
  const r = cli(["query", "ledger invoice", "--limit", "20", "--root", root]);
  expect(r.code).toBe(5);
  expect(expectOneLineError(r)).toMatch(/corrupt/);
  replaceChunkLens(root, undefined); // as a shard written before the table: the varints are read
  const again = cli(["query", "ledger invoice", "--limit", "20", "--root", root, "--json"]);
  expect(again.code).toBe(0);
  expect(again.json.hits).toEqual(good.json.hits);
});

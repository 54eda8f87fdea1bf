// The filters cache (src/query/filters.ts): every index shard's bloom filters in one file, so that a
// question about every shard (links into a document, a reference's mentions, a symbol's
// definitions) does not open every shard's segment. Only changed shards are read again; a damaged
// cache is made again; the CLI keeps it and answers the same with it, without it, with a damaged
// one, and after an ingest that changed what a filter must say.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bloomHas, bloomKey, bloomOf, FILTER_TABLES } from "../../src/store/bloom.ts";
import { EMPTY, loadFilters, type ShardFilters } from "../../src/query/filters.ts";
import { filtersCachePath } from "../../src/store/layout.ts";
import { cleanup, cli, expectOneLineError, ingested, tempDir } from "../helpers/cli.ts";
import { replaceIndexTable } from "../helpers/segments.ts";

afterAll(cleanup);

/** Shard n's filters: table i holds keys `<table>-<n>-<j>` (j < n + i), or is empty / without a filter for a few shards; shard 5 has no filters at all. */
function filtersOf(n: number, v = 0): ShardFilters {
  if (n === 5) return { filtered: false, tables: { global: null, links: null, symbols: null, symrefs: null } };
  const tables = {} as ShardFilters["tables"];
  FILTER_TABLES.forEach((t, i) => {
    tables[t] = (n + i) % 7 === 0 ? EMPTY : (n + i) % 11 === 0 ? null : bloomOf(Array.from({ length: n + i + v }, (_, j) => `${t}-${n}-${j}`));
  });
  return { filtered: true, tables };
}
/** What a set of filters says about probe keys: per shard and table, which keys it may hold. */
function answers(all: Map<number, ShardFilters>): string[] {
  const out: string[] = [];
  for (const [n, f] of [...all].sort((a, b) => a[0] - b[0])) {
    out.push(`${n} ${f.filtered}`);
    for (const t of FILTER_TABLES) {
      const bits = f.tables[t];
      const kind = bits === null ? "any" : bits === EMPTY ? "none" : "bloom";
      const holds = Array.from({ length: 40 }, (_, j) => `${t}-${n}-${j}`).filter((k) => bits === null || (bits !== EMPTY && bloomHas(bits, bloomKey(k)))).length;
      out.push(`${n} ${t} ${kind} ${holds}`);
    }
  }
  return out;
}

describe("loadFilters", () => {
  const shards = [0, 1, 2, 5, 6, 13, 40, 63];
  const sha = (n: number, v = 0) => (n.toString(16).padStart(2, "0") + String(v)).padEnd(64, "b");
  let dir: string;
  const want = new Map(shards.map((n) => [n, sha(n)]));
  const reads: number[] = [];
  const reader = (v = new Map<number, number>()) => (n: number) => { reads.push(n); return filtersOf(n, v.get(n) ?? 0); };
  const none = () => { throw new Error("read a segment"); };
  const expected = answers(new Map(shards.map((n) => [n, filtersOf(n)])));

  beforeAll(() => { dir = tempDir(); });

  test("made from every segment, kept, then read alone", () => {
    reads.length = 0;
    expect(answers(loadFilters(dir, want, reader(), true))).toEqual(expected);
    expect(reads).toEqual(shards);
    expect(existsSync(filtersCachePath(dir))).toBe(true);
    expect(answers(loadFilters(dir, want, none, true))).toEqual(expected);
    // Each table's three kinds and a shard without filters all came back.
    for (const kind of ["any", "none", "bloom"]) expect(expected.some((l) => l.split(" ")[2] === kind)).toBe(true);
    expect(expected).toContain("5 false");
  });

  test("after shards change, only those segments are read; the cache then names the new objects", () => {
    const changed = new Map([[6, 3], [40, 5]]);
    const want2 = new Map([...want].filter(([n]) => n !== 63).map(([n, s]) => [n, changed.has(n) ? sha(n, 1) : s]));
    reads.length = 0;
    const got = loadFilters(dir, want2, reader(changed), true);
    expect(reads).toEqual([6, 40]);
    const next = answers(new Map([...want2.keys()].map((n) => [n, filtersOf(n, changed.get(n) ?? 0)])));
    expect(answers(got)).toEqual(next);
    expect(answers(loadFilters(dir, want2, none, false))).toEqual(next);
    // Not written (write false): the file still names the second set of objects.
    reads.length = 0;
    loadFilters(dir, want, reader(), false);
    expect(reads).toEqual([6, 40, 63]);
    expect(answers(loadFilters(dir, want2, none, false))).toEqual(next);
  });

  const rewrite = (b: Buffer, edit: (head: string, body: Buffer) => [string, Buffer], fixCrc = true) => {
    const nl = b.indexOf(10);
    let [head, body] = edit(b.toString("latin1", 0, nl), Buffer.from(b.subarray(nl + 1)));
    // The checksum covers the JSON and the filters (what follows the checksum and its space).
    if (fixCrc) head = head.replace(/^(auditgraph-filters 1 )[0-9a-f]{8}/, (_, magic) => `${magic}${(Bun.hash.crc32(Buffer.concat([Buffer.from(head.slice(magic.length + 9) + "\n", "latin1"), body])) >>> 0).toString(16).padStart(8, "0")}`);
    return Buffer.concat([Buffer.from(head + "\n", "latin1"), body]);
  };
  test.each([
    ["garbage", () => Buffer.from("not a cache")],
    ["truncated", (b: Buffer) => b.subarray(0, b.length >> 1)],
    ["empty", () => Buffer.alloc(0)],
    ["a flipped byte", (b: Buffer) => { const c = Buffer.from(b); c[c.length - 3] ^= 0x40; return c; }],
    ["another format", (b: Buffer) => rewrite(b, (h, body) => [h.replace("auditgraph-filters 1 ", "auditgraph-filters 2 "), body])],
    ["an offset changed under the checksum as written", (b: Buffer) => rewrite(b, (h, body) => [h.replace(/\[(\d+),(\d+)\]/, (_, o, l) => `[${Number(o) + 1},${l}]`), body], false)],
    ["a length changed under the checksum as written", (b: Buffer) => rewrite(b, (h, body) => [h.replace(/\[(\d+),(\d+)\]/, (_, o, l) => `[${o},${Number(l) - 1}]`), body], false)],
    ["a table made empty under the checksum as written", (b: Buffer) => rewrite(b, (h, body) => [h.replace(/\[(\d+),(\d+)\]/, "0"), body], false)],
    ["a filter past the end", (b: Buffer) => rewrite(b, (h, body) => [h.replace(/\[(\d+),(\d+)\]/, (_, o, l) => `[${o},${Number(l) + body.length}]`), body])],
    ["a filter that is not one (k = 0)", (b: Buffer) => rewrite(b, (h, body) => { body[Number(/\[(\d+),\d+\]/.exec(h)![1])] = 0; return [h, body]; })],
    ["a shard entry of another shape", (b: Buffer) => rewrite(b, (h, body) => [h.replace(/"0":\["([0-9a-f]{64})",/, '"0":["$1",1,'), body])],
    ["a shard number that is none", (b: Buffer) => rewrite(b, (h, body) => [h.replace('"0":', '"x":'), body])],
  ])("a cache with %s is ignored, made again and written", (_name, damage) => {
    loadFilters(dir, want, reader(), true);
    writeFileSync(filtersCachePath(dir), damage(readFileSync(filtersCachePath(dir))));
    reads.length = 0;
    expect(answers(loadFilters(dir, want, reader(), true))).toEqual(expected);
    expect(reads).toEqual(shards);
    expect(answers(loadFilters(dir, want, none, false))).toEqual(expected);
  });
});

describe("the CLI", () => {
  let root: string;
  const cache = () => join(root, ".pkg/profiles/default/cache/filters.bin");
  const run = (args: string[]) => {
    const r = cli([...args, "--root", root, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    return r.stdout;
  };
  const id = (path: string) => {
    const hits = JSON.parse(run(["list", "--type", "document", "--where", `path=${path}`])).nodes as { id: string }[];
    expect(hits.length).toBe(1);
    return hits[0]!.id;
  };
  // Enough files for several shards (4 from the start, 64 files each before more are made).
  const files: Record<string, string> = {
    "notes/hub.md": "# Hub\n\nSee [the pool](https://example.org/pool) and `PoolManager`.\n",
    "src/pool.ts": "export class PoolManager {\n  open(): void {}\n}\n",
  };
  for (let i = 0; i < 80; i++) files[`notes/n${String(i).padStart(2, "0")}.md`] = `# Note ${i}\n\n${i % 3 === 0 ? "Back to [hub](hub.md). " : ""}${i % 5 === 0 ? "Cites [the pool](https://example.org/pool) and `PoolManager`." : "Nothing else."}\n`;
  beforeAll(() => { root = ingested(files); });

  test("node, neighbors and why-connected keep the cache and answer the same from it, with it damaged, and without it", () => {
    const hub = id("notes/hub.md"), n03 = id("notes/n03.md");
    const commands = [["node", hub], ["neighbors", hub, "--depth", "2"], ["why-connected", n03, id("notes/n05.md")]];
    expect(existsSync(cache())).toBe(false);
    const first = commands.map(run);
    expect(existsSync(cache())).toBe(true);
    const node = JSON.parse(first[0]!);
    expect(node.in_edges.filter((e: { type: string }) => e.type === "links_to").length).toBe(27);
    expect(node.out_edges.some((e: { type: string; target: string }) => e.type === "mentions" && e.target.startsWith("sym_"))).toBe(true);
    const bytes = readFileSync(cache());
    expect(commands.map(run)).toEqual(first);
    expect(readFileSync(cache())).toEqual(bytes);
    writeFileSync(cache(), "garbage");
    expect(commands.map(run)).toEqual(first);
    expect(readFileSync(cache())).toEqual(bytes);
    rmSync(cache());
    mkdirSync(cache()); // a directory where the file goes: the write fails, the answers do not
    expect(commands.map(run)).toEqual(first);
    rmSync(cache(), { recursive: true });
    // A FIFO: read, it would wait for a writer forever; it is no cache, and is replaced.
    expect(Bun.spawnSync(["mkfifo", cache()]).exitCode).toBe(0);
    const r = cli(["node", hub, "--root", root, "--json"], { timeoutMs: 30_000 });
    expect({ code: r.code, stderr: r.stderr, out: r.stdout }).toEqual({ code: 0, stderr: "", out: first[0]! });
    expect(statSync(cache()).isFile()).toBe(true);
    expect(cli(["verify", "--root", root]).code).toBe(0);
  });

  test("a damaged filter fails only the questions about its table, and is not kept in the cache", () => {
    const hub = id("notes/hub.md");
    const node = JSON.parse(run(["node", hub]));
    const sym = node.out_edges.find((e: { target: string; type: string }) => e.type === "mentions" && e.target.startsWith("sym_")).target as string;
    const was = replaceIndexTable(root, "notes/hub.md", "filters", undefined).binary;
    replaceIndexTable(root, "notes/hub.md", "filters", was.map(([k, v]): [string, Uint8Array] => [k, k === "symrefs" ? new Uint8Array([0, 255]) : v]));
    try {
      rmSync(cache(), { force: true });
      // A document's node asks about links and symbols, not about the mentions of a symbol.
      expect(run(["node", hub])).toBe(JSON.stringify(node, null, 2) + "\n");
      expect(existsSync(cache())).toBe(false);
      const r = cli(["node", sym, "--root", root]);
      expect(r.code).toBe(5);
      expect(expectOneLineError(r)).toMatch(/objects\/.* is corrupt/);
      expect(existsSync(cache())).toBe(false);
      // verify names it too (it checks every filter, not only the ones a command asks).
      const v = cli(["verify", "--root", root]);
      expect(v.code).toBe(5);
      expect(v.stdout + v.stderr).toContain("the filter of \"symrefs\" is not a bloom filter");
    } finally { replaceIndexTable(root, "notes/hub.md", "filters", was); }
    expect(JSON.parse(run(["node", sym])).in_edges.length).toBeGreaterThan(0);
    expect(existsSync(cache())).toBe(true);
  });

  test("after an ingest a new link, reference and symbol mention are found: the changed shards' filters are read again", () => {
    const hub = id("notes/hub.md");
    run(["node", hub]);
    expect(existsSync(cache())).toBe(true);
    const before = readFileSync(cache());
    writeFileSync(join(root, "notes/n01.md"), "# Note 1\n\nNow links [hub](hub.md), cites [the pool](https://example.org/pool) and names `PoolManager`.\n");
    expect(cli(["ingest", "--root", root]).code).toBe(0);
    const node = JSON.parse(run(["node", hub]));
    const n01 = id("notes/n01.md");
    expect(node.in_edges.some((e: { source: string; type: string }) => e.source === n01 && e.type === "links_to")).toBe(true);
    const ref = node.out_edges.find((e: { target: string }) => e.target.startsWith("ref_")).target as string;
    expect(JSON.parse(run(["node", ref])).in_edges.some((e: { source: string }) => e.source === n01)).toBe(true);
    const sym = node.out_edges.find((e: { target: string; type: string }) => e.type === "mentions" && e.target.startsWith("sym_")).target as string;
    expect(JSON.parse(run(["node", sym])).in_edges.some((e: { source: string }) => e.source === n01)).toBe(true);
    expect(readFileSync(cache())).not.toEqual(before);
  });
});

// Each index shard carries bloom filters (table `filters`) over the keys of the tables a reader asks
// every shard about: `global` (technologies, references, modules), `links`, `symbols` and
// `symrefs`. node, neighbors and why-connected read only the shards whose filter may hold a key.
// A filter never says no to a key of its table, the same keys make the same bytes on every machine,
// the answers are the same JSON whether the shards have filters or were written before them, and
// a filter that is not one is a corrupt object (exit 5, one line).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { bloomHas, bloomKey, bloomOf } from "../../src/store/bloom.ts";
import { sha256Hex } from "../../src/shared/hash.ts";
import { cleanup, cli, expectOneLineError, workspace } from "../helpers/cli.ts";
import { replaceIndexTable } from "../helpers/segments.ts";
import { shardOf } from "../../src/pipeline/shard.ts";

afterAll(cleanup);

test("a filter holds every key it was built from, rarely another, and is the same bytes in any order", () => {
  for (const n of [0, 1, 7, 100, 5000]) {
    const keys = Array.from({ length: n }, (_, i) => (i % 3 ? `notes/d${i % 17}/n${i}.md` : `ref_${sha256Hex(String(i)).slice(0, 20)}`));
    const f = bloomOf(keys);
    expect(keys.filter((k) => !bloomHas(f, bloomKey(k)))).toEqual([]);
    expect(bloomOf([...keys].reverse())).toEqual(f);
    if (n >= 100) {
      let fp = 0;
      for (let i = 0; i < 20000; i++) if (bloomHas(f, bloomKey(`absent/${i}.md`))) fp++;
      expect(fp / 20000).toBeLessThan(0.03);
    }
  }
  // Pinned: xxHash32 of the keys' UTF-8 bytes (a change of hash or layout would change every store's bytes).
  expect(sha256Hex(bloomOf(["Buffer.concat", "notes/ünïcode.md", "tech_python"]))).toBe(PINNED);
});
const PINNED = "441cd6ad59cc8c027d112c7c0208781f0e0f3a87f478397ca5b41ffd7d34f2ed";

let root: string;
const NOTES = 300; // 8 shards
beforeAll(() => {
  const files: Record<string, string> = {};
  const techs = ["Python", "Docker", "Kafka", "Redis", "PostgreSQL", "Kubernetes", "TypeScript"];
  const name = (i: number) => `notes/d${i % 5}/n${String(i).padStart(3, "0")}.md`;
  for (let i = 0; i < NOTES; i++) {
    const link = (j: number) => `[n${j}](../d${j % 5}/n${String(j).padStart(3, "0")}.md)`;
    files[name(i)] = `# Note ${i}\n\nWe run ${techs[i % techs.length]} here, see [the spec](https://example.com/shared/${i % 11}) and [this](https://example.com/only/${i}).\n\n` +
      `Next: ${link((i + 1) % NOTES)}, and ${link((i * 7) % NOTES)}.\n\n` + (i % 4 === 0 ? "Call `start_server` or `Ledger.close` then `nothing_here`.\n" : "");
  }
  files["src/server.py"] = "import os\nimport json\n\ndef start_server():\n    return os.getcwd()\n\nclass Ledger:\n    def close(self):\n        return json.dumps({})\n";
  root = workspace(files);
  expect(cli(["ingest", "--root", root]).code).toBe(0);
});

/** A note of each shard (replaceIndexTable finds a shard's segment through one of its paths). */
const SHARD_NOTES = () => [...new Map(Array.from({ length: NOTES }, (_, i) => {
  const p = `notes/d${i % 5}/n${String(i).padStart(3, "0")}.md`;
  return [shardOf(p, 8), p] as const;
})).values()];
const docOf = (path: string) => cli(["query", `path:${path}`, "--type", "document", "--root", root, "--json"]).json.hits[0].id as string;

function answers(ids: { a: string; b: string; ref: string; tech: string; sym: string }) {
  const run = (args: string[]) => { const r = cli([...args, "--root", root, "--json"]); return { args, code: r.code, json: r.json }; };
  return [
    run(["node", ids.a]), run(["node", ids.b]), run(["node", ids.ref]), run(["node", ids.tech]), run(["node", ids.sym]),
    run(["neighbors", ids.a, "--depth", "2"]), run(["neighbors", ids.tech]), run(["neighbors", ids.sym, "--depth", "2"]),
    run(["why-connected", ids.a, ids.b]), run(["why-connected", ids.ref, ids.sym, "--max-depth", "6"]),
  ];
}

test("node, neighbors and why-connected answer the same with the filters and without them, and consult them", () => {
  const a = docOf("notes/d0/n000.md"), b = docOf("notes/d3/n123.md");
  const node = cli(["node", a, "--root", root, "--json"]).json;
  // Of A's edges of a type to nodes of a kind, the target with the most mentions.
  const other = (type: string, prefix: string) => node.out_edges.filter((e: { type: string; target: string }) => e.type === type && e.target.startsWith(prefix))
    .map((e: { target: string }) => [e.target, cli(["node", e.target, "--root", root, "--json"]).json.in_edges.length] as [string, number])
    .sort((x: [string, number], y: [string, number]) => y[1] - x[1])[0][0] as string;
  const ids = { a, b, ref: other("references", "ref_"), tech: other("mentions", "tech_"), sym: other("mentions", "sym_") };
  const before = answers(ids);
  for (const x of before) expect({ args: x.args, code: x.code }).toEqual({ args: x.args, code: 0 });
  // The symbol's definition and its mentions, a reference's and a technology's mentions from many shards, links in.
  expect(before[4]!.json.in_edges.length).toBeGreaterThan(20);
  expect(before[2]!.json.in_edges.length).toBeGreaterThan(10);
  expect(before[0]!.json.in_edges.some((e: { type: string }) => e.type === "links_to")).toBe(true);
  expect([before[8]!.json.connected, before[9]!.json.connected]).toEqual([true, true]);

  // Filters that say no to everything: the answers lose what they hold (the filters are read).
  const shards = new Map<string, [string, Uint8Array][]>();
  for (const p of SHARD_NOTES()) {
    const was = replaceIndexTable(root, p, "filters", undefined).binary;
    if (was.length) shards.set(p, was);
    const none = (v: Uint8Array) => { const z = new Uint8Array(v.length); z[0] = v[0]!; return z; };
    replaceIndexTable(root, p, "filters", was.map(([k, v]) => [k, none(v)]));
  }
  expect(shards.size).toBe(8);
  const blind = answers(ids);
  expect(blind[2]!.code).toBe(2); // the reference is in no shard: not found
  expect(blind[4]!.json.in_edges.length).toBeLessThan(before[4]!.json.in_edges.length);

  // Shards written before the filters (half of them, as after an incremental run of a newer
  // binary over an older run, then all): those are always read, with the same answers.
  const paths = [...shards.keys()];
  paths.forEach((p, i) => replaceIndexTable(root, p, "filters", i % 2 ? undefined : shards.get(p)));
  expect(answers(ids)).toEqual(before);
  for (const p of paths) replaceIndexTable(root, p, "filters", undefined);
  expect(answers(ids)).toEqual(before);
  // The filters as written again.
  for (const [p, was] of shards) replaceIndexTable(root, p, "filters", was);
  expect(answers(ids)).toEqual(before);

  // A filter that is not one: a corrupt object.
  const [p, was] = [...shards][0]!;
  for (const bad of [new Uint8Array([0, 255]), new Uint8Array([99, 1, 2]), new Uint8Array([7])]) {
    replaceIndexTable(root, p, "filters", was.map(([k]) => [k, bad]));
    const r = cli(["node", ids.ref, "--root", root]);
    expect({ bad: [...bad], code: r.code }).toEqual({ bad: [...bad], code: 5 });
    expect(expectOneLineError(r)).toMatch(/corrupt/);
  }
  replaceIndexTable(root, p, "filters", was);
  expect(cli(["node", ids.ref, "--root", root]).code).toBe(0);
});

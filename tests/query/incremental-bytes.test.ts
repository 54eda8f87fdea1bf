// An incremental ingest rebuilds a changed shard without tokenizing its unchanged documents again:
// their postings are copied from the previous shard (src/pipeline/shard.ts, readReusedPostings).
// After each kind of change every artifact must be byte for byte what a fresh ingest of the same
// files gives, and a query must answer the same.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cpSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { shardName, shardOf } from "../../src/pipeline/shard.ts";
import { Segment } from "../../src/store/segment.ts";
import { cleanup, cli, tempDir, workspace } from "../helpers/cli.ts";

/** A note that exercises every kind of posting: headings (ATX and setext), fenced code, code spans, parts and compounds, several chunks. */
const note = (i: number, words = 40) => [
  "---", `title: Note ${i}`, `tags: [t${i % 3}]`, "---", "",
  `# Heading ${i} about parseManifest`, "",
  `Setext title ${i}`, "=========", "",
  `Body of note ${i}: call \`Buffer.concat()\` or \`order.created\`, read snake_case_name and camelCaseName, pass --flag-name at v1.${i}.3.`, "",
  "```ts", `const value${i} = readRun(store_dir); // HTTPServer_port`, "```", "",
  ...Array.from({ length: words }, (_, k) => `Line ${k} of note ${i} repeats the event loop, the index shard ${k % 7} and the word w${(i * 31 + k) % 97}.`),
  "",
].join("\n");

let root: string;
beforeAll(() => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 30; i++) files[`notes/n${String(i * 2).padStart(3, "0")}.md`] = note(i, i % 5 === 0 ? 400 : 40);
  files["src/tool.py"] = "import os\n\ndef main_entry():\n    return os.getcwd()\n\nclass HTTPServer:\n    def serve_forever(self):\n        pass\n";
  files["src/app.ts"] = "export function readRun(storeDir: string) { return storeDir; }\nexport class RunIndex { open() {} }\n";
  root = workspace(files);
});
afterAll(cleanup);

const artifactsOf = (ws: string, runId: string) =>
  JSON.parse(readFileSync(join(ws, ".pkg/profiles/default/runs", runId, "manifest.json"), "utf8")).artifacts.map((a: any) => `${a.name} ${a.sha256}`);

function check(step: string, expectReused: boolean) {
  const ing = cli(["ingest", "--root", root, "--json"]);
  expect([step, ing.code]).toEqual([step, 0]);
  if (expectReused) expect([step, ing.json.reused > 0]).toEqual([step, true]);
  const copy = tempDir("ag-incr-bytes-");
  cpSync(join(root, "notes"), join(copy, "notes"), { recursive: true });
  cpSync(join(root, "src"), join(copy, "src"), { recursive: true });
  const fresh = cli(["ingest", "--root", copy, "--json"]);
  expect([step, fresh.code]).toEqual([step, 0]);
  expect([step, ing.json.run_id]).toEqual([step, fresh.json.run_id]);
  expect([step, artifactsOf(root, ing.json.run_id)]).toEqual([step, artifactsOf(copy, fresh.json.run_id)]);
  for (const q of ['"event loop"', "snake case", "buffer.concat", "parse*", "w13"]) {
    const a = cli(["query", q, "--root", root, "--json", "--limit", "50"]).json;
    const b = cli(["query", q, "--root", copy, "--json", "--limit", "50"]).json;
    expect([step, q, a.hits?.length > 0, a.hits]).toEqual([step, q, true, b.hits]);
  }
  rmSync(copy, { recursive: true, force: true });
}

test("a rebuilt shard is byte for byte what a fresh ingest gives, after each kind of change", () => {
  check("fresh", false);
  writeFileSync(join(root, "notes/n010.md"), note(5, 60) + "\nAn edit with `Buffer.concat()` again.\n");
  check("one file edited", true);
  // New files between existing ones: every later document of their shards moves up an ordinal.
  writeFileSync(join(root, "notes/n001.md"), note(101));
  writeFileSync(join(root, "notes/n033.md"), note(133, 200));
  check("files added", true);
  unlinkSync(join(root, "notes/n020.md"));
  check("file removed", true);
  // A long document (many chunks) edited, and a code file.
  writeFileSync(join(root, "notes/n000.md"), note(0, 420).replace("event loop", "event queue"));
  writeFileSync(join(root, "src/app.ts"), "export function readRun(storeDir: string) { return storeDir + '/'; }\n");
  check("long document and code edited", true);
});

// A block of the previous shard damaged in a table that only the rebuild reads (the postings and
// chunk lengths it copies, the links its counts start from, the records and texts it reuses): the
// run heals the shard from the texts (or the sources) instead of failing.
for (const [kind, table] of [["index", "terms"], ["index", "chunks"], ["index", "links"], ["index", "docs"], ["text", "text"]] as const) {
  test(`a rebuilt shard whose previous ${kind} ${table} table cannot be read is built again: same bytes and counts as a fresh ingest`, () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 12; i++) files[`notes/n${String(i).padStart(2, "0")}.md`] = note(i) + `\nSee [next](n${String(i + 1).padStart(2, "0")}.md).\n`;
    const ws = workspace(files);
    const first = cli(["ingest", "--root", ws, "--json"]);
    expect(first.code).toBe(0);
    const pd = join(ws, ".pkg/profiles/default");
    const manifest = JSON.parse(readFileSync(join(pd, "runs", first.json.run_id, "manifest.json"), "utf8"));
    const shards = manifest.artifacts.filter((a: any) => a.name.startsWith("index/")).length;
    const a = manifest.artifacts.find((x: any) => x.name === shardName(kind, shardOf("notes/n05.md", shards)));
    const path = join(pd, "objects", a.sha256.slice(0, 2), a.sha256);
    const seg = new Segment(path);
    const base = (seg as any).base as number;
    const ref = seg.header.tables[table]!.root[0]!;
    seg.close();
    // The table's companion block when it has one (postings), else its first block.
    const [at, len] = ref.length === 7 && ref[4]! >= 0 ? [ref[4]!, ref[5]!] : [ref[1], ref[2]];
    const bytes = readFileSync(path);
    bytes[base + at + Math.floor(len / 2)]! ^= 0xff;
    writeFileSync(path, bytes);
    writeFileSync(join(ws, "notes/n05.md"), note(5) + "\nEdited, see [first](n00.md).\n");
    const ing = cli(["ingest", "--root", ws, "--json"]);
    expect([table, ing.code, ing.stderr]).toEqual([table, 0, ""]);
    expect(ing.json.reused).toBeGreaterThan(0);
    const copy = tempDir("ag-incr-bytes-");
    cpSync(join(ws, "notes"), join(copy, "notes"), { recursive: true });
    const fresh = cli(["ingest", "--root", copy, "--json"]).json;
    expect([table, ing.json.counts]).toEqual([table, fresh.counts]);
    expect(artifactsOf(ws, ing.json.run_id)).toEqual(artifactsOf(copy, fresh.run_id));
  });
}

test("a previous shard whose postings cannot be read is rebuilt from its texts: same bytes as a fresh ingest", () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 12; i++) files[`notes/n${String(i).padStart(2, "0")}.md`] = note(i);
  const ws = workspace(files);
  const first = cli(["ingest", "--root", ws, "--json"]);
  expect(first.code).toBe(0);
  // Damage one companion block of the `terms` table in every index object (its records stay readable).
  const pd = join(ws, ".pkg/profiles/default");
  const manifest = JSON.parse(readFileSync(join(pd, "runs", first.json.run_id, "manifest.json"), "utf8"));
  let damaged = 0;
  for (const a of manifest.artifacts.filter((x: any) => x.name.startsWith("index/"))) {
    const path = join(pd, "objects", a.sha256.slice(0, 2), a.sha256);
    const seg = new Segment(path);
    const base = (seg as any).base as number;
    const ref = seg.header.tables.terms!.root.find((r) => r.length === 7 && r[4]! >= 0);
    seg.close();
    if (!ref) continue;
    const bytes = readFileSync(path);
    bytes[base + ref[4]! + Math.floor(ref[5]! / 2)]! ^= 0xff;
    writeFileSync(path, bytes);
    damaged++;
  }
  expect(damaged).toBeGreaterThan(0);
  for (let i = 0; i < 12; i += 5) writeFileSync(join(ws, `notes/n${String(i).padStart(2, "0")}.md`), note(i) + "\nEdited.\n");
  const ing = cli(["ingest", "--root", ws, "--json"]);
  expect(ing.code).toBe(0);
  expect(ing.json.reused).toBeGreaterThan(0);
  const copy = tempDir("ag-incr-bytes-");
  cpSync(join(ws, "notes"), join(copy, "notes"), { recursive: true });
  const fresh = cli(["ingest", "--root", copy, "--json"]).json;
  expect(artifactsOf(ws, ing.json.run_id)).toEqual(artifactsOf(copy, fresh.run_id));
});

// The compiled linux-x64 executable extracts PDF and Word text (unpdf's pdf.js is bundled) and code
// symbols (web-tree-sitter and the grammars' .wasm embedded) in a run with shard workers, which ask
// the main thread for them (AUDITGRAPH_WORKERS_STRICT: a worker that fails is an error, not the
// inline fallback), and gives the same store as a run from source. Uses the shared release build.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { sharedLinuxExe } from "../release/support.ts";
import { cleanup, cli, tempDir, treeHash, workspace } from "../helpers/cli.ts";
import { deflateBomb, documentFiles, makePdf, makeZip, runWithPeak } from "./fixtures.ts";
import { symbolFiles } from "../symbols/fixtures.ts";

let exe: string;

beforeAll(async () => {
  exe = await sharedLinuxExe("ag-docbin-");
}, 900_000);
afterAll(cleanup);

const files = () => {
  const notes: Record<string, string> = {};
  // Enough files that several shards are built, so the pool of workers runs.
  // Four with front matter that only the yaml library reads (an anchor and its alias), which a
  // worker loads from its own entry point in the executable (shared/yaml-lib.ts).
  for (let i = 0; i < 12; i++) notes[`notes/n${i}.md`] = `${i < 4 ? "---\nowner: &o Ada Lovelace\nreviewer: *o\n---\n" : ""}# Note ${i}\n\nText number ${i}.\n`;
  return { ...documentFiles(), ...symbolFiles(), ...notes };
};

test("PDF, Word and symbols in the compiled executable and its workers: the same store as from source", () => {
  if (process.platform !== "linux" || process.arch !== "x64") throw new Error("this test runs the linux-x64 executable");
  const a = workspace(files());
  const b = workspace(files());
  const env = { PATH: process.env.PATH ?? "", HOME: tempDir("ag-home-"), AUDITGRAPH_NO_UPDATE_CHECK: "1", AUDITGRAPH_WORKERS_STRICT: "1", AUDITGRAPH_WORKERS: "2" };
  const run = (args: string[]) => {
    const p = Bun.spawnSync([exe, ...args], { env, stdout: "pipe", stderr: "pipe" });
    return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
  };
  const r = run(["ingest", "--root", a, "--json"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const compiled = JSON.parse(r.stdout);
  expect(compiled.processed).toBe(14 + Object.keys(symbolFiles()).length);
  expect(Object.fromEntries(compiled.skipped.map((s: any) => [s.path, s.reason]))).toEqual({
    "docs/broken.docx": "corrupt", "docs/locked.pdf": "encrypted", "docs/scan.pdf": "no_text_layer", "docs/truncated.pdf": "corrupt",
  });
  expect(run(["query", "zebrafish", "--root", a]).stdout).toContain("docs/report.pdf:2:2");
  expect(JSON.parse(run(["list", "--type", "document", "--where", "frontmatter.reviewer=Ada Lovelace", "--count-only", "--root", a, "--json"]).stdout).total).toBe(4);
  expect(run(["query", "vacation", "--type", "section", "--root", a, "--json"]).stdout).toContain('"name": "Vacation policy"');
  // Every grammar loaded in the executable: symbols from each language.
  const syms = JSON.parse(run(["list", "--type", "symbol", "--root", a, "--json", "--limit", "200"]).stdout).nodes;
  const langs = new Set(syms.map((n: any) => n.path.replace(/^.*\./, "")));
  expect([...langs].sort()).toEqual(["go", "js", "py", "rs", "ts", "tsx"]);
  expect(cli(["ingest", "--root", b], { env: { AUDITGRAPH_WORKERS_STRICT: "1" } }).code).toBe(0);
  const objects = (root: string) => Object.fromEntries(Object.entries(treeHash(join(root, ".pkg"))).filter(([p]) => p.includes("/objects/")));
  expect(objects(a)).toEqual(objects(b));
}, 120_000);

test("the compiled executable inflates a Word part or a PDF stream with a bound (node:zlib inside the binary)", async () => {
  const root = workspace({
    "docs/lying.docx": makeZip({ "word/document.xml": { deflated: deflateBomb(1024), size: 1000 } }),
    "docs/bomb.pdf": makePdf([["bomb text"]], { bombMiB: 1024 }),
    "docs/packed.pdf": makePdf([["Compressed papaya ledger"]], { deflate: true }),
  });
  const p = await runWithPeak([exe, "ingest", "--root", root, "--json"], { PATH: process.env.PATH ?? "", HOME: tempDir("ag-home-"), AUDITGRAPH_NO_UPDATE_CHECK: "1" });
  expect(p.code).toBe(0);
  expect(p.peak).toBeGreaterThan(0);
  expect(p.peak).toBeLessThan(400 * 1024 * 1024);
  const r = JSON.parse(p.stdout);
  expect(Object.fromEntries(r.skipped.map((s: any) => [s.path, s.reason]))).toEqual({ "docs/lying.docx": "corrupt", "docs/bomb.pdf": "too_large" });
  expect(r.counts.ok).toBe(1);
}, 60_000);

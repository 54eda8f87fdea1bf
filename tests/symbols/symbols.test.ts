// Code symbols end to end from source: symbol and module nodes with defines/imports edges, markdown
// code spans linked to the definition they name (a deterministic choice among several), query/list/
// node/neighbors on them, the manifest's counts equal to the exported graph, byte-identical stores in
// two places. (The compiled executable: tests/pipeline-docs/compiled.test.ts.)
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, treeHash, workspace } from "../helpers/cli.ts";
import { symbolFiles } from "./fixtures.ts";

afterAll(cleanup);

test("symbols, modules, defines/imports edges and markdown mentions", () => {
  const root = workspace(symbolFiles());
  const ing = cli(["ingest", "--root", root, "--json"]);
  expect(ing.stderr).toBe("");
  expect(ing.code).toBe(0);
  const syms = cli(["list", "--type", "symbol", "--root", root, "--json", "--limit", "100", "--sort", "path"]).json;
  const byPath = (p: string) => syms.nodes.filter((n: any) => n.path === p).sort((a: any, b: any) => a.line - b.line).map((n: any) => n.name);
  expect(byPath("src/query.ts")).toEqual(["parseQuery", "RunIndex", "node", "Hit", "Local"]);
  expect(byPath("src/tool.py")).toEqual(["parse_args", "_private", "Loader", "load"]);
  expect(byPath("src/main.go")).toEqual(["Serve", "helper", "Store", "Open"]);
  expect(byPath("src/lib.rs")).toEqual(["Ledger", "open", "check", "Audit", "audit", "main"]);
  expect(byPath("src/App.java")).toEqual([]);
  const node = syms.nodes.find((n: any) => n.path === "src/query.ts" && n.name === "node");
  expect(node.attrs).toEqual({ kind: "method", exported: true, container: "RunIndex" });

  const mods = cli(["list", "--type", "module", "--root", root, "--json", "--limit", "100", "--sort", "name"]).json.nodes.map((n: any) => n.name);
  expect(mods).toEqual(["collections", "fmt", "node:fs", "os", "react", "src/util.ts", "std::collections", "std::io", "sys"]);

  // `parseQuery()` names three definitions: exported before not (src/early.ts), then by path (src/query.ts before src/util.ts).
  const pq = cli(["query", "parseQuery", "--type", "symbol", "--root", root, "--json"]).json.hits;
  expect(pq.map((h: any) => h.path).sort()).toEqual(["src/early.ts", "src/query.ts", "src/util.ts"]);
  const chosen = pq.find((h: any) => h.path === "src/query.ts");
  const n = cli(["node", chosen.id, "--root", root, "--json"]).json;
  const design = cli(["query", "type:document", "--path", "notes/*", "--root", root, "--json"]).json.hits[0].id;
  expect(n.in_edges.map((e: any) => e.type).sort()).toEqual(["defines", "mentions"]);
  expect(n.in_edges.find((e: any) => e.type === "mentions")).toMatchObject({ source: design, line: 3 });
  for (const p of ["src/early.ts", "src/util.ts"]) {
    expect(cli(["node", pq.find((h: any) => h.path === p).id, "--root", root, "--json"]).json.in_edges.map((e: any) => e.type)).toEqual(["defines"]);
  }

  // The design note mentions the symbols its code spans name (Container.name and Rust's :: too), and nothing else.
  const nb = cli(["neighbors", design, "--edge-type", "mentions", "--root", root, "--json"]).json;
  expect(nb.nodes.filter((x: any) => x.type === "symbol").map((x: any) => `${x.path}:${x.name}`).sort())
    .toEqual(["src/lib.rs:open", "src/main.go:Serve", "src/query.ts:node", "src/query.ts:parseQuery", "src/tool.py:Loader"]);
  const imports = cli(["neighbors", cli(["query", "type:document", "--path", "src/query.ts", "--root", root, "--json"]).json.hits[0].id, "--edge-type", "imports", "--root", root, "--json"]).json;
  expect(imports.nodes.map((x: any) => x.name).sort()).toEqual(["node:fs", "src/util.ts"]);

  // The manifest's totals are the exported graph's.
  const exp = cli(["export", "--root", root, "--format", "json"]).json;
  expect(ing.json.counts.nodes).toBe(exp.nodes.length);
  expect(ing.json.counts.edges).toBe(exp.edges.length);
  expect(ing.json.counts.modules).toBe(9);
  const count = cli(["list", "--count-only", "--group-by", "type", "--root", root, "--json"]).json;
  expect(count.groups).toContainEqual({ value: "symbol", count: syms.total });
  expect(cli(["verify", "--root", root]).code).toBe(0);
}, 60_000);

test("symbols left out past the limit of a file, or a file too long to parse, are a warning naming the line, recorded in the manifest", () => {
  const many = Array.from({ length: 2005 }, (_, i) => `export function f${i}() {}`).join("\n") + "\n";
  const root = workspace({ "src/many.ts": many, "src/big.js": "function f() {}\n" + "// x\n".repeat(300_000), "src/ok.ts": "export const a = 1;\n" });
  const ing = cli(["ingest", "--root", root, "--json"]);
  expect(ing.code).toBe(0);
  const w = ing.json.warnings.map((x: any) => `${x.path}:${x.line}: ${x.message}`);
  expect(w).toEqual([
    "src/big.js:1: code over 1048576 characters (bundled or generated?) is not parsed: no symbols or imports",
    "src/many.ts:2001: only the first 2000 symbols and 2000 imports of a file are indexed; the one here and those after it are not",
  ]);
  const plain = cli(["ingest", "--root", root]); // unchanged: the warnings stand, from the stored records
  expect(plain.code).toBe(0);
  expect(plain.stderr).toContain("src/many.ts:2001: only the first 2000 symbols");
  const run = cli(["runs", "show", ing.json.run_id, "--root", root, "--json"]).json;
  expect(JSON.stringify(run)).toContain("2001: only the first 2000 symbols");
  expect(cli(["list", "--type", "symbol", "--where", "path=src/many.ts", "--count-only", "--root", root, "--json"]).json.total).toBe(2000);
}, 60_000);

test("the same code in another directory gives byte-identical objects", () => {
  const a = workspace(symbolFiles());
  const b = workspace(symbolFiles());
  expect(cli(["ingest", "--root", a]).code).toBe(0);
  expect(cli(["ingest", "--root", b]).code).toBe(0);
  const objects = (root: string) => Object.fromEntries(Object.entries(treeHash(join(root, ".pkg"))).filter(([p]) => p.includes("/objects/") || p.includes("/runs/")));
  expect(objects(a)).toEqual(objects(b));
  // ingestion.symbols: false leaves code files as text: no symbol or module nodes.
  mkdirSync(join(a, "config"));
  writeFileSync(join(a, "config/pkg.yaml"), "profiles:\n  default:\n    ingestion:\n      symbols: false\n");
  const off = cli(["ingest", "--root", a, "--json"]).json;
  expect(off.counts.modules).toBeUndefined();
  expect(cli(["list", "--type", "symbol", "--count-only", "--root", a, "--json"]).json.total).toBe(0);
  expect(cli(["query", "parseQuery", "--root", a, "--json"]).json.total).toBeGreaterThan(0);
}, 60_000);

test("two names of one symbol in a note are one mention, in the counts, the export and the symbol's in-edges, also after an incremental run", () => {
  const files: Record<string, string> = {
    "src/parser.ts": "export class Parser {\n  parse(text: string): string {\n    return text;\n  }\n}\n",
    "notes/a.md": "# A\n\nCall `parse` here.\n\nOr `Parser.parse` there.\n",
    "notes/b.md": "# B\n\nOnly `Parser.parse`.\n",
  };
  // Enough other notes for several shards, so that the incremental run reads clean shards' summaries from the store.
  for (let i = 0; i < 300; i++) files[`notes/n${i}.md`] = `# Note ${i}\n\nText ${i}.\n`;
  const root = workspace(files);
  const totals = (json: any) => {
    const exp = cli(["export", "--root", root, "--format", "json"]).json;
    expect(json.counts.nodes).toBe(exp.nodes.length);
    expect(json.counts.edges).toBe(exp.edges.length);
    return exp;
  };
  const exp = totals(cli(["ingest", "--root", root, "--json"]).json);
  const parse = exp.nodes.find((n: any) => n.type === "symbol" && n.name === "parse");
  const mentions = exp.edges.filter((e: any) => e.target === parse.id && e.type === "mentions");
  expect(mentions.length).toBe(2); // a.md once (at its first span, line 3), b.md once
  const a = exp.nodes.find((n: any) => n.type === "document" && n.path === "notes/a.md");
  expect(mentions.find((e: any) => e.source === a.id)).toMatchObject({ line: 3 });
  const inEdges = cli(["node", parse.id, "--root", root, "--json"]).json.in_edges.filter((e: any) => e.type === "mentions");
  expect(inEdges.map((e: any) => [e.source, e.line]).sort()).toEqual(mentions.map((e: any) => [e.source, e.line]).sort());
  writeFileSync(join(root, "notes/n7.md"), "# Note 7\n\nChanged, and it names `parse` too.\n");
  const again = cli(["ingest", "--root", root, "--json"]).json;
  expect(again.reused).toBeGreaterThan(0);
  expect(totals(again).edges.filter((e: any) => e.target === parse.id && e.type === "mentions").length).toBe(3);
}, 60_000);

test("a note naming many code spans: its mentions are the symbols among them, whichever way the names are looked up", () => {
  // Past 16 names, RunIndex.symbolFor reads every shard's symbol names once instead of asking each
  // shard: the symbols named last (after twenty names that are none) must still be found.
  const others = Array.from({ length: 20 }, (_, i) => `notASymbol${i}`);
  const files: Record<string, string> = {
    ...symbolFiles(),
    "notes/many.md": `# Many spans\n\n${others.map((n) => `\`${n}\``).join(" ")}\n\nThen \`Ledger\` and \`parse_args\`.\n`,
  };
  // Enough other notes for several shards, so a name is looked up in more than one.
  for (let i = 0; i < 300; i++) files[`notes/pad/p${i}.md`] = `# Pad ${i}\n\nText ${i}.\n`;
  const root = workspace(files);
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  const doc = cli(["list", "--type", "document", "--where", "path=notes/many.md", "--root", root, "--json"]).json.nodes[0].id;
  const n = cli(["node", doc, "--root", root, "--json"]).json;
  const mentions = n.out_edges.filter((e: any) => e.type === "mentions").map((e: any) => e.target);
  const named = (name: string, path: string) => cli(["list", "--type", "symbol", "--where", `name=${name}`, "--root", root, "--json"]).json.nodes.find((x: any) => x.path === path).id;
  expect(mentions.sort()).toEqual([named("Ledger", "src/lib.rs"), named("parse_args", "src/tool.py")].sort());
  // The same edges from the other side, and in the whole export.
  expect(cli(["node", named("Ledger", "src/lib.rs"), "--root", root, "--json"]).json.in_edges.filter((e: any) => e.type === "mentions").map((e: any) => e.source)).toEqual([doc]);
  const exported = cli(["export", "--root", root, "--format", "json"]).json.edges.filter((e: any) => e.source === doc && e.type === "mentions").map((e: any) => e.target);
  expect(exported.sort()).toEqual(mentions);
});

/** Ingests `files` (include paths: their top folders) and returns the CLI's read flags for it. */
function ingested(files: Record<string, string>): string[] {
  const root = workspace(files);
  const tops = [...new Set(Object.keys(files).map((p) => p.split("/")[0]))].sort();
  writeFileSync(join(root, "pkg.yaml"), `profiles:\n  default:\n    include_paths: [${tops.join(", ")}]\n`);
  const at = ["--root", root, "--config", join(root, "pkg.yaml"), "--json"];
  expect(cli(["ingest", ...at]).code).toBe(0);
  return at;
}
/** The symbols a note's code spans mention, as path:name:container. */
function mentionedBy(at: string[], notePath: string): string[] {
  const note = cli(["query", "type:document", "--path", notePath, ...at]).json.hits[0].id;
  return cli(["neighbors", note, "--edge-type", "mentions", ...at]).json.nodes.filter((x: any) => x.type === "symbol")
    .map((x: any) => `${x.path}:${x.name}:${x.attrs.container ?? ""}`).sort();
}

test("`Ledger::open` names the method of a generic Rust impl (`impl<T> Ledger<T>`)", () => {
  const at = ingested({
    "src/ledger.rs": "pub struct Ledger<T>(T);\n\nimpl<T> Ledger<T> {\n    pub fn open() -> Self { todo!() }\n}\n",
    "notes/design.md": "# Design\n\nOpen with `Ledger::open`.\n",
  });
  expect(mentionedBy(at, "notes/design.md")).toEqual(["src/ledger.rs:open:Ledger"]);
}, 60_000);

test("Python relative imports are modules of their package: two packages' `.models` share no node", () => {
  const at = ingested({
    "shop/orders/api.py": "from .models import Order\nfrom . import views\n",
    "shop/billing/api.py": "from .models import Invoice\n",
  });
  expect(cli(["list", "--type", "module", "--sort", "name", ...at]).json.nodes.map((n: any) => n.name)).toEqual(["shop/billing/models", "shop/orders", "shop/orders/models"]);
  const docs = cli(["list", "--type", "document", "--sort", "path", ...at]).json.nodes.map((n: any) => n.id);
  expect(cli(["why-connected", docs[0], docs[1], "--edge-type", "imports", ...at]).json.connected).toBe(false);
}, 60_000);

test("Python and Go module-level constants are symbols a note can name", () => {
  const at = ingested({
    "shop/orders/api.py": "PAGE_SIZE = 50\n\ndef page():\n    size = PAGE_SIZE\n",
    "cmd/conf.go": "package conf\n\nconst (\n\tMaxRetries = 3\n)\n\nvar Verbose bool\n",
    "notes/design.md": "# Design\n\nPages hold `PAGE_SIZE` rows, retries `MaxRetries`, logs `Verbose`; `size` is local.\n",
  });
  expect(mentionedBy(at, "notes/design.md")).toEqual(["cmd/conf.go:MaxRetries:", "cmd/conf.go:Verbose:", "shop/orders/api.py:PAGE_SIZE:"]);
}, 60_000);

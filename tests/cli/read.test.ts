// Read commands on a real store: query, node, neighbors, exports (validated by xmllint and dot),
// runs, diff, verify; and how each behaves on a broken store.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, CLI, cli, expectOneLineError, tempDir, treeHash, workspace } from "../helpers/cli.ts";
import { ARTIFACT_SCHEMA_VERSION } from "../../src/schema/version.ts";

let root: string;
let runId: string;
beforeAll(() => {
  root = workspace();
  runId = cli(["ingest", "--root", root, "--json"]).json.run_id;
});
afterAll(cleanup);

const need = (tool: string) => {
  if (!Bun.which(tool)) throw new Error(`${tool} is not installed (.ci/run installs it from .ci/packages.txt)`);
};

describe("query", () => {
  test("ranked BM25 hits with path and line; --type and --limit", () => {
    const r = cli(["query", "--root", root, "database unreachable", "--json"]);
    expect(r.code).toBe(0);
    const hits = r.json.hits;
    expect(hits.length).toBeGreaterThan(2);
    // (typeof checks: toMatchObject with asymmetric matchers rewrites the object it checks)
    for (const h of hits) expect([typeof h.id, typeof h.path, typeof h.line, typeof h.score, h.path.length > 0]).toEqual(["string", "string", "number", "number", true]);
    expect(hits.map((h: any) => h.score)).toEqual([...hits.map((h: any) => h.score)].sort((a, b) => b - a));
    expect(new Set(hits.map((h: any) => h.score)).size).toBeGreaterThan(1); // real scores, not all 1.0
    const claims = cli(["query", "--root", root, "database unreachable", "--type", "claim", "--json"]).json.hits;
    expect(claims[0]).toMatchObject({ type: "claim", path: "logs/api.log", line: 4 });
    expect(cli(["query", "--root", root, "postgresql", "--limit", "2", "--json"]).json.hits).toHaveLength(2);
    const chunks = cli(["query", "--root", root, "idempotent", "--type", "chunk", "--json"]).json.hits;
    expect(chunks.map((h: any) => h.path).sort()).toEqual(["notes/runbook.md", "src/worker.py"]);
  });
  test("bad flags are usage errors", () => {
    expect(cli(["query", "--root", root, "x", "--type", "planet"]).code).toBe(2);
    expect(expectOneLineError(cli(["query", "--root", root, "x", "--limit", "0"]))).toContain("--limit must be an integer");
    expect(cli(["query", "--root", root]).code).toBe(2);
  });
  test("human output names path:line", () => {
    const r = cli(["query", "--root", root, "confirmations"]);
    expect(r.stdout).toContain("notes/runbook.md:");
  });
});

describe("node and neighbors", () => {
  test("node shows a document and its edges; a chunk shows its text", () => {
    const exp = cli(["export", "--root", root]).json;
    const doc = exp.nodes.find((n: any) => n.path === "notes/runbook.md" && n.type === "document");
    const r = cli(["node", "--root", root, doc.id, "--json"]);
    expect(r.code).toBe(0);
    expect(r.json.node).toMatchObject({ id: doc.id, type: "document", path: "notes/runbook.md", line: 1 });
    expect(r.json.out_edges.some((e: any) => e.type === "links_to")).toBe(true);
    expect(r.json.in_edges.some((e: any) => e.type === "links_to")).toBe(true);
    const chunk = exp.nodes.find((n: any) => n.type === "chunk" && n.path === "notes/runbook.md");
    expect(cli(["node", "--root", root, chunk.id, "--json"]).json.text).toContain("systemctl restart order-worker");
  });
  test("an unknown node id is exit 2 with one line", () => {
    const r = cli(["node", "--root", root, "doc_nope"]);
    expect(r.code).toBe(2);
    expect(expectOneLineError(r)).toBe(`error: node 'doc_nope' not found in run ${runId}`);
    expect(cli(["neighbors", "--root", root, "doc_nope"]).code).toBe(2);
  });
  test("neighbors walks both directions, by depth and edge type", () => {
    const one = cli(["neighbors", "--root", root, "tech_postgresql", "--json"]).json;
    expect(one.nodes.every((n: any) => n.type === "document" && n.depth === 1)).toBe(true);
    expect(one.nodes.length).toBeGreaterThanOrEqual(3);
    const two = cli(["neighbors", "--root", root, "tech_postgresql", "--depth", "2", "--edge-type", "mentions", "--json"]).json;
    expect(two.nodes.some((n: any) => n.type === "technology" && n.depth === 2)).toBe(true);
    expect(two.edges.every((e: any) => e.type === "mentions")).toBe(true);
    expect(cli(["neighbors", "--root", root, "tech_postgresql", "--edge-type", "likes"]).code).toBe(2);
    expect(cli(["neighbors", "--root", root, "tech_postgresql", "--depth", "x"]).code).toBe(2);
  });
});

describe("export", () => {
  test("JSON has sorted nodes and edges", () => {
    const exp = cli(["export", "--root", root, "--format", "json"]).json;
    expect(exp.run_id).toBe(runId);
    const ids = exp.nodes.map((n: any) => n.id);
    expect(ids).toEqual([...ids].sort());
    expect(exp.edges.length).toBeGreaterThan(10);
  });
  test("GraphML is valid XML and DOT parses with Graphviz, with hostile names", () => {
    need("xmllint");
    need("dot");
    const w = workspace({
      "notes/odd.md": `# Quotes " and \\ backslash & <tags> 'apos' \u0001ctrl\n\n## Second "heading" with {braces} -> arrows; semi\n\n[x](other.md)\n`,
      "notes/other.md": "# Other <doc>\n",
    });
    expect(cli(["ingest", "--root", w]).code).toBe(0);
    const dir = tempDir();
    for (const f of ["graphml", "dot"]) {
      const out = join(dir, `g.${f}`);
      const r = cli(["export", "--root", w, "--format", f, "--out", out, "--json"]);
      expect(r.code).toBe(0);
      expect([r.json.format, r.json.out]).toEqual([f, out]);
      expect(r.json.nodes).toBeGreaterThan(3);
      expect(r.json.edges).toBeGreaterThan(0);
    }
    const x = Bun.spawnSync(["xmllint", "--noout", join(dir, "g.graphml")]);
    expect(x.stderr.toString()).toBe("");
    expect(x.exitCode).toBe(0);
    const d = Bun.spawnSync(["dot", "-Tsvg", join(dir, "g.dot")]);
    expect(d.stderr.toString()).toBe("");
    expect(d.exitCode).toBe(0);
    const graphml = readFileSync(join(dir, "g.graphml"), "utf8");
    expect(graphml).toContain("&lt;tags&gt;");
    expect(graphml).toContain("<edge ");
    expect(readFileSync(join(dir, "g.dot"), "utf8")).toContain(" -> ");
  });
  test("values read back exactly: Graphviz's gvpr gives a DOT path with its backslash once, an XML parser a GraphML name with its CR and tab", () => {
    need("xmllint");
    need("gvpr");
    const w = workspace({ 'notes/back \\ slash "q".md': '---\ntitle: "a\\rb\\tc d"\n---\n# x\n\nbody\n' });
    expect(cli(["ingest", "--root", w]).code).toBe(0);
    const dir = tempDir();
    for (const f of ["graphml", "dot"]) expect(cli(["export", "--root", w, "--format", f, "--out", join(dir, `g.${f}`)]).code).toBe(0);
    const g = Bun.spawnSync(["gvpr", 'N[type=="document"]{print($.path)}', join(dir, "g.dot")]);
    expect(g.stdout.toString()).toBe('notes/back \\ slash "q".md\n');
    const keys = readFileSync(join(dir, "g.graphml"), "utf8");
    const nameKey = /<key id="([^"]+)" for="node" attr.name="name"/.exec(keys)?.[1];
    expect(nameKey).toBeDefined();
    const x = Bun.spawnSync(["xmllint", "--xpath", `string(//*[local-name()="node"]/*[local-name()="data"][@key="${nameKey}"][starts-with(., "a")])`, join(dir, "g.graphml")]);
    expect(x.stdout.toString().replace(/\n$/, "")).toBe("a\rb\tc d"); // xmllint ends its output with a newline
  });
  test("DOT that dot reads: a backslash before a quote, a tab, a label cut at 1,000 characters (Graphviz cannot lay out a wider node)", () => {
    need("dot");
    need("gvpr");
    const w = workspace({
      'notes/q\\"x.md': "# Q\n\nbody\n",
      "notes/tab\tname.md": "# Tab\n\nbody\n",
      // A path of 2,400 quotes: 4,800 characters escaped, over one quoted piece: written as pieces joined with `+`.
      [`notes/${Array.from({ length: 12 }, () => '"'.repeat(200)).join("/")}/q.md`]: "# Quotes\n\nbody\n",
      "notes/long.md": `# ${"wörd ".repeat(6_000)}\n\nbody \\${"\\".repeat(3)}"\n`,
    });
    expect(cli(["ingest", "--root", w]).code).toBe(0);
    const out = join(tempDir(), "g.dot");
    expect(cli(["export", "--root", w, "--format", "dot", "--out", out]).code).toBe(0);
    const d = Bun.spawnSync(["dot", "-Tsvg", out]);
    expect(d.stderr.toString()).toBe("");
    expect(d.exitCode).toBe(0);
    const g = Bun.spawnSync(["gvpr", 'N[type=="document"]{print($.path)}', out]);
    // The odd backslash before the quote cannot be written (Graphviz reads backslashes in pairs): one is dropped.
    expect(g.stdout.toString().split("\n").filter(Boolean).sort()).toEqual([`notes/${Array.from({ length: 12 }, () => '"'.repeat(200)).join("/")}/q.md`, "notes/long.md", 'notes/q"x.md', "notes/tab\tname.md"].sort());
    expect(readFileSync(out, "utf8")).toContain('" + "');
    const names = Bun.spawnSync(["gvpr", 'N[type=="document"]{print(length($.label))}', out]);
    expect(names.stdout.toString().split("\n").filter(Boolean).map(Number).sort((a, b) => b - a)[0]).toBe(Buffer.byteLength(`${"wörd ".repeat(200)}…`)); // gvpr counts bytes
    expect(cli(["export", "--root", w, "--format", "json"]).json.nodes.some((n: { name: string }) => n.name === "wörd ".repeat(6_000).trim())).toBe(true);
  });
  test("an unknown format is a usage error", () => {
    expect(expectOneLineError(cli(["export", "--root", root, "--format", "svg"]))).toContain("--format must be one of json, dot, graphml");
  });
});

describe("runs, diff and verify", () => {
  test("runs list and show", () => {
    const l = cli(["runs", "list", "--root", root, "--json"]).json.runs;
    expect(l).toEqual([expect.objectContaining({ run_id: runId, current: true, schema_version: ARTIFACT_SCHEMA_VERSION, readable: true })]);
    const s = cli(["runs", "show", "--root", root, runId, "--json"]);
    expect(s.json.run_id).toBe(runId);
    expect(cli(["runs", "show", "--root", root, "run_0000"]).code).toBe(2);
    expect(cli(["diff", "--root", root, runId, "run_0000"]).code).toBe(2);
  });
  test("verify finds a corrupted object, a missing one and an extra file (exit 5)", () => {
    const w = workspace();
    cli(["ingest", "--root", w]);
    const pd = join(w, ".pkg/profiles/default");
    expect(cli(["verify", "--root", w]).code).toBe(0);
    const id = readFileSync(join(pd, "current"), "utf8").trim();
    const index = JSON.parse(readFileSync(join(pd, "runs", id, "manifest.json"), "utf8")).artifacts.find((a: any) => a.name.startsWith("index/"));
    const sub = index.sha256.slice(0, 2);
    const obj = join(pd, "objects", sub, index.sha256);
    const bytes = readFileSync(obj);
    writeFileSync(obj, Buffer.concat([bytes, Buffer.from("x")]));
    let r = cli(["verify", "--root", w, "--json"]);
    expect(r.code).toBe(5);
    expect(r.json.problems).toEqual([expect.objectContaining({ kind: "mismatch", path: obj })]);
    rmSync(obj);
    r = cli(["verify", "--root", w, "--json"]);
    expect(r.json.problems).toEqual([expect.objectContaining({ kind: "missing", path: obj })]);
    writeFileSync(obj, bytes);
    writeFileSync(join(pd, "objects", sub, "stray.txt"), "x");
    r = cli(["verify", "--root", w]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("extra: ");
    // Reading a store with a damaged object is exit 5, with one line.
    rmSync(join(pd, "objects", sub, "stray.txt"));
    rmSync(obj);
    const q = cli(["export", "--root", w]);
    expect(q.code).toBe(5);
    expect(expectOneLineError(q)).toContain("is missing");
    // The next ingest rebuilds the shard whose object is gone, and the store verifies again.
    const again = cli(["ingest", "--root", w, "--json"]);
    expect(again.code).toBe(0);
    expect(again.json.new_objects).toBeGreaterThan(0);
    expect(cli(["verify", "--root", w]).code).toBe(0);
    expect(cli(["export", "--root", w]).code).toBe(0);
  });
});

describe("a truncated or non-JSON current manifest", () => {
  test.each([["truncated", (t: string) => t.slice(0, t.length / 2)], ["not JSON", () => "garbage\n"], ["empty", () => ""]])("%s", (_name, damage) => {
    const w = workspace();
    const id = cli(["ingest", "--root", w, "--json"]).json.run_id;
    const mp = join(w, `.pkg/profiles/default/runs/${id}/manifest.json`);
    writeFileSync(mp, damage(readFileSync(mp, "utf8")));
    const before = treeHash(join(w, ".pkg"));
    for (const cmd of [["query", "orders"], ["export"], ["node", "x"], ["ingest"], ["runs", "show", id]]) {
      const r = cli([...cmd, "--root", w]);
      expect({ cmd, code: r.code }).toEqual({ cmd, code: 3 });
      expect(expectOneLineError(r)).toContain("unreadable current-run manifest");
    }
    const l = cli(["runs", "list", "--root", w, "--json"]);
    expect(l.code).toBe(0);
    expect(l.json.runs[0]).toMatchObject({ run_id: id, current: true, readable: false, problem: expect.stringContaining("not valid JSON") });
    const v = cli(["verify", "--root", w, "--json"]);
    expect(v.code).toBe(5);
    expect(v.json.problems[0]).toMatchObject({ kind: "manifest", path: mp });
    expect(treeHash(join(w, ".pkg"))).toEqual(before);
  });
});

test("the human output has no colour when not a TTY", () => {
  const r = cli(["runs", "list", "--root", root]);
  expect(r.stdout).not.toMatch(/\x1b\[/);
  expect(cli(["node", "--root", root, "nope"]).stderr).not.toMatch(/\x1b\[/);
});

test("a reader that closes the pipe early (`export | true`): exit 0 and nothing on stderr", () => {
  const dir = tempDir();
  const [err, code] = [join(dir, "stderr"), join(dir, "code")];
  // `true` exits without reading, so the export's write meets a closed pipe (EPIPE).
  const sh = Bun.spawnSync(["sh", "-c", `("$0" "$1" export --root "$2" 2>"$3"; echo $? >"$4") | true`, process.execPath, CLI, root, err, code]);
  expect(sh.exitCode).toBe(0);
  expect(readFileSync(err, "utf8")).toBe("");
  expect(readFileSync(code, "utf8").trim()).toBe("0");
});

// export --format cypher and jsonl, and --subgraph ID --depth N. No Neo4j server here: the Cypher is
// read back by a strict checker of exactly the statement shapes the export emits (a tokenizer for
// strings, numbers, names, maps and lists that rejects anything else), and every value it decodes
// must equal the JSON export's, so an escaping mistake is either a parse failure or a wrong value.
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { lintCypherQuery } from "@neo4j-cypher/language-support";
import { renderExport, cypherString, cypherName, CYPHER_BATCH } from "../../src/query/export.ts";
import type { GraphEdge, GraphNode } from "../../src/pipeline/extract.ts";
import { cleanup, cli, expectOneLineError, tempDir, workspace } from "../helpers/cli.ts";

// Each test spawns several CLI processes: a minute, as tests/helpers/preload.ts gives when this file runs alone.
setDefaultTimeout(60_000);

// ---- the checker ------------------------------------------------------------------------------

type V = string | number | boolean | V[] | { [k: string]: V };

/** A reader of one Cypher expression of the kinds the export writes; throws on anything else. */
class Reader {
  i = 0;
  constructor(readonly s: string) {}
  fail(what: string): never { throw new Error(`cypher: ${what} at ${this.i}: ${JSON.stringify(this.s.slice(this.i, this.i + 40))}`); }
  eat(t: string) { if (!this.s.startsWith(t, this.i)) this.fail(`expected ${JSON.stringify(t)}`); this.i += t.length; }
  ws() { while (this.s[this.i] === " ") this.i++; }
  name(): string {
    if (this.s[this.i] === "`") {
      let out = "";
      this.i++;
      for (;;) {
        const c = this.s[this.i];
        if (c === undefined || c === "\n") this.fail("unterminated name");
        if (c === "`") { if (this.s[this.i + 1] === "`") { out += "`"; this.i += 2; continue; } this.i++; return out; }
        out += c; this.i++;
      }
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i));
    if (!m) this.fail("expected a name");
    this.i += m[0].length;
    return m[0];
  }
  string(): string {
    this.eat('"');
    let out = "";
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined) this.fail("unterminated string");
      const code = c.charCodeAt(0);
      if (code < 0x20 || code === 0x7f || code === 0x2028 || code === 0x2029) this.fail(`raw control U+${code.toString(16)} in a string`);
      if (c === '"') { this.i++; return out; }
      if (c === "'") this.fail("unescaped apostrophe");
      if (c !== "\\") { out += c; this.i++; continue; }
      const e = this.s[this.i + 1];
      const simple: Record<string, string> = { "\\": "\\", '"': '"', "'": "'", n: "\n", r: "\r", t: "\t", b: "\b", f: "\f" };
      if (e !== undefined && e in simple) { out += simple[e]; this.i += 2; continue; }
      if (e === "u" && /^[0-9a-fA-F]{4}$/.test(this.s.slice(this.i + 2, this.i + 6))) { out += String.fromCharCode(parseInt(this.s.slice(this.i + 2, this.i + 6), 16)); this.i += 6; continue; }
      this.fail("unknown escape");
    }
  }
  value(): V {
    const c = this.s[this.i];
    if (c === '"') return this.string();
    if (c === "[") {
      this.i++;
      const out: V[] = [];
      if (this.s[this.i] === "]") { this.i++; return out; }
      for (;;) { out.push(this.value()); if (this.s[this.i] === "]") { this.i++; return out; } this.eat(", "); }
    }
    if (c === "{") return this.map();
    if (this.s.startsWith("true", this.i)) { this.i += 4; return true; }
    if (this.s.startsWith("false", this.i)) { this.i += 5; return false; }
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:e-?[0-9]+)?/.exec(this.s.slice(this.i));
    if (!m) this.fail("expected a value");
    this.i += m[0].length;
    return Number(m[0]);
  }
  map(): { [k: string]: V } {
    this.eat("{");
    const out: { [k: string]: V } = {};
    if (this.s[this.i] === "}") { this.i++; return out; }
    for (;;) {
      const k = this.name();
      if (k in out) this.fail(`duplicate key ${k}`);
      this.eat(": ");
      out[k] = this.value();
      if (this.s[this.i] === "}") { this.i++; return out; }
      this.eat(", ");
    }
  }
  end() { if (this.i !== this.s.length) this.fail("trailing text"); }
}

/** One whole line that must be exactly `parts`, names (`N`) read as backtick-quoted names. */
function shape(line: string, parts: (string | "N")[]): string[] {
  const r = new Reader(line);
  const names: string[] = [];
  for (const p of parts) if (p === "N") names.push(r.name()); else r.eat(p);
  r.end();
  return names;
}

type Parsed = { constraints: { name: string; label: string }[]; nodes: { label: string; row: Record<string, V> }[]; edges: { type: string; row: Record<string, V> }[]; batches: number[] };

/** Checks a whole script and returns what it would create; throws at the first line out of shape. */
function checkCypher(script: string): Parsed {
  expect(script.endsWith("\n")).toBe(true);
  const lines = script.slice(0, -1).split("\n");
  const out: Parsed = { constraints: [], nodes: [], edges: [], batches: [] };
  let i = 0;
  while (lines[i]?.startsWith("// ")) i++;
  expect(i).toBeGreaterThan(0);
  for (; lines[i]?.startsWith("CREATE CONSTRAINT "); i++) {
    const [name, label] = shape(lines[i]!, ["CREATE CONSTRAINT ", "N", " IF NOT EXISTS FOR (n:", "N", ") REQUIRE n.id IS UNIQUE;"]);
    out.constraints.push({ name: name!, label: label! });
  }
  let phase: "nodes" | "edges" = "nodes";
  while (i < lines.length) {
    expect(lines[i++]).toBe("UNWIND [");
    const rows: Record<string, V>[] = [];
    for (;;) {
      const line = lines[i++];
      if (line === undefined) throw new Error("cypher: unterminated UNWIND");
      if (line.startsWith("] AS row ")) {
        if (line.includes(" MERGE (n:")) {
          expect(phase).toBe("nodes");
          const [L, label] = shape(line, ["] AS row MERGE (n:", "N", " {id: row.id}) SET n:", "N", ", n += row;"]);
          expect(L).toBe("AuditgraphNode");
          for (const row of rows) out.nodes.push({ label: label!, row });
        } else {
          phase = "edges";
          const [a, b, type] = shape(line, ["] AS row MATCH (a:", "N", " {id: row.source}) MATCH (b:", "N", " {id: row.target}) MERGE (a)-[r:", "N", "]->(b) SET r += row.props;"]);
          expect([a, b]).toEqual(["AuditgraphNode", "AuditgraphNode"]);
          for (const row of rows) out.edges.push({ type: type!, row });
        }
        break;
      }
      expect(line.startsWith("  {")).toBe(true);
      const r = new Reader(line.slice(2));
      rows.push(r.map());
      if (r.s[r.i] === ",") r.i++;
      r.end();
      const last = !line.endsWith(",");
      if (last) expect(lines[i]!.startsWith("] AS row ")).toBe(true);
    }
    expect(rows.length).toBeGreaterThan(0);
    out.batches.push(rows.length);
  }
  return out;
}

/** What a node's Cypher row must hold: id, type, name, path, line, then attributes (objects as JSON text). */
const expectedRow = (n: GraphNode) => {
  const row: Record<string, unknown> = { id: n.id, type: n.type, name: n.name };
  if (n.path !== undefined) row.path = n.path;
  if (n.line !== undefined) row.line = n.line;
  for (const [k, v] of Object.entries(n.attrs ?? {})) {
    if (k in row) continue;
    const plain = (x: unknown) => typeof x === "string" || typeof x === "number" || typeof x === "boolean";
    row[k] = plain(v) || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === typeof v[0] && plain(x))) ? v : canonical(v);
  }
  return row;
};
const canonical = (v: unknown): string => JSON.stringify(sortKeys(v));
const sortKeys = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(sortKeys) : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as any)[k])])) : v;

/** The checker must reject what it should, or it proves nothing. */
describe("the checker", () => {
  test("rejects raw newlines, stray quotes, unknown escapes, unbalanced names and extra text", () => {
    const ok = `// x\nCREATE CONSTRAINT \`a\` IF NOT EXISTS FOR (n:\`AuditgraphNode\`) REQUIRE n.id IS UNIQUE;\nUNWIND [\n  {\`id\`: "a\\"b"}\n] AS row MERGE (n:\`AuditgraphNode\` {id: row.id}) SET n:\`Doc\`, n += row;\n`;
    expect(checkCypher(ok).nodes[0]!.row).toEqual({ id: 'a"b' });
    for (const bad of [
      ok.replace('a\\"b', 'a"b'), ok.replace('a\\"b', "a\\qb"), ok.replace('a\\"b', "a'b"), ok.replace("`Doc`", "`Do`c`"),
      ok.replace("n += row;", "n += row; MATCH (x) DETACH DELETE x;"), ok.replace('a\\"b', "a\u2028b"), ok.replace("`id`: ", "`id`:"),
    ]) expect(() => checkCypher(bad)).toThrow();
  });
});

// ---- pure rendering with hostile names --------------------------------------------------------

const HOSTILE = ['quote " and apostrophe \'', "back\\slash\\", "comment */ /* and // too", "new\nline\r\nand\ttab", "brace } { ] [", "back`tick``", "unicode é ß 日本 🎉 \u2028\u2029", "nul\u0000bell\u0007del\u007f", "lone \ud800 and \udfff surrogates", "; MATCH (n) DETACH DELETE n; //", ""];

describe("cypher rendering", () => {
  test("every hostile string round-trips through a string literal", () => {
    for (const s of HOSTILE) {
      const lit = cypherString(s);
      expect(lit.includes("\n")).toBe(false);
      const r = new Reader(lit);
      expect(r.string()).toBe(s);
      r.end();
      const n = new Reader(cypherName(s));
      expect(n.name()).toBe(s.replace(/[\x00-\x1f\x7f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "_"));
      n.end();
    }
  });

  test("a graph of hostile names, labels and types loads as exactly its nodes and relationships, in batches", () => {
    const nodes: GraphNode[] = [];
    const edges: GraphEdge[] = [];
    const types = ["document", "we`ird type", "chunk"];
    for (let i = 0; i < CYPHER_BATCH + 20; i++) {
      const s = HOSTILE[i % HOSTILE.length]!;
      nodes.push({
        id: `n_${String(i).padStart(4, "0")}_${s}`, type: types[i % 3] as never, name: s, ...(i % 2 ? { path: `dir/${s}.md`, line: i } : {}),
        attrs: { kind: s, level: i, ratio: i / 7, big: 2 ** 70, flag: i % 2 === 0, tags: [s, "x"], nums: [1, 2.5], frontmatter: { [s]: [s, 1, null] }, empty: [] },
      });
    }
    for (let i = 1; i < nodes.length; i++) edges.push({ source: nodes[i - 1]!.id, target: nodes[i]!.id, type: (i % 2 ? "contains" : "links`to") as never, ...(i % 3 ? { line: i } : {}) });
    edges.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.target < b.target ? -1 : a.target > b.target ? 1 : a.type < b.type ? -1 : 1));
    const g = { nodes: new Map(nodes.map((n) => [n.id, n])), edges };
    const script = renderExport(g, "cypher", "run_00000000000000000000000000000000");
    expect(renderExport(g, "cypher", "run_00000000000000000000000000000000")).toBe(script);
    const p = checkCypher(script);
    expect(p.constraints.map((c) => c.label).sort()).toEqual(["AuditgraphNode", "Chunk", "Document", "WeIrdType"].sort());
    expect(new Set(p.constraints.map((c) => c.name)).size).toBe(p.constraints.length);
    expect(p.batches.every((b) => b <= CYPHER_BATCH)).toBe(true);
    expect(p.batches.length).toBeGreaterThan(4);
    const byId = new Map(p.nodes.map((n) => [n.row.id as string, n]));
    expect(byId.size).toBe(nodes.length);
    for (const n of nodes) {
      const got = byId.get(n.id)!;
      expect(got.label).toBe((n.type as string) === "we`ird type" ? "WeIrdType" : n.type[0]!.toUpperCase() + n.type.slice(1));
      const want = expectedRow(n);
      want.big = 2 ** 70; // written as a float literal (past 64 bits), read back as the same number
      delete want.empty; // an empty list has no element type: written as JSON text "[]"
      expect({ ...got.row, empty: undefined }).toEqual({ ...want, empty: undefined });
      expect(got.row.empty).toBe("[]");
    }
    expect(p.edges.map((e) => [e.row.source, e.row.target, e.type, (e.row.props as any).line])).toEqual(
      [...edges.filter((e) => e.type === "contains"), ...edges.filter((e) => e.type !== "contains")]
        .map((e) => [e.source, e.target, e.type === "contains" ? "CONTAINS" : "LINKS`TO", e.line]),
    );
    expect(script).toContain("`big`: 1.1805916207174113e21,");
  });
});

describe("Neo4j's own Cypher front end", () => {
  // @neo4j-cypher/language-support: Neo4j's grammar and semantic analysis (as in its editors), with
  // cypher-shell's console commands on. About a second per statement, so a small graph: every
  // statement shape once (one node type, one relationship type, both with a backtick), every hostile
  // string somewhere.
  test("a script of hostile names parses and passes semantic analysis without one diagnostic", () => {
    const nodes: GraphNode[] = HOSTILE.map((s, i) => ({
      id: `n${i}_${s}`, type: "we`ird type" as never, name: s, path: `p/${s}`, line: i + 1,
      attrs: { kind: s, tags: [s], frontmatter: { [s]: s }, ratio: i / 3, big: 2 ** 70 },
    }));
    const edges: GraphEdge[] = nodes.slice(1).map((n, i) => ({ source: nodes[i]!.id, target: n.id, type: "links`to" as never, ...(i % 2 ? { line: i } : {}) }));
    const script = renderExport({ nodes: new Map(nodes.map((n) => [n.id, n])), edges }, "cypher", "run_00000000000000000000000000000000");
    expect(checkCypher(script).nodes.length).toBe(nodes.length);
    expect(lintCypherQuery(script, {}, { consoleCommandsEnabled: true }).diagnostics).toEqual([]);
    // The same front end does reject a string that is not escaped (so the check above can fail).
    const broken = 'UNWIND [{`id`: "a"b"}] AS row MERGE (n:`AuditgraphNode` {id: row.id}) SET n:`Document`, n += row;';
    expect(lintCypherQuery(broken, {}, { consoleCommandsEnabled: true }).diagnostics.some((d) => d.severity === 1)).toBe(true);
  });
});

// ---- the CLI on real stores -------------------------------------------------------------------

let root: string;
let graph: { nodes: GraphNode[]; edges: GraphEdge[] };
beforeAll(() => {
  root = workspace({
    ...Object.fromEntries(["notes/architecture.md", "notes/runbook.md", "notes/adr/0001-use-postgresql.md", "src/api.ts", "src/worker.py", "logs/api.log"]
      .map((p) => [p, readFileSync(join(import.meta.dir, "../../examples/workspace", p), "utf8")])),
    'notes/we"ird \\ `name` */ }.md': `---\ntitle: "Title with \\"quotes\\", a \\\\ backslash,\\na newline and a } brace */"\ntags: [a'b, "c\\"d"]\n---\n# Heading with \`backticks\` and 'quotes' 🎉\n\nPostgreSQL and Redis, see [runbook](runbook.md) and https://example.com/a?b="c"\n`,
  });
  const r = cli(["ingest", "--root", root]);
  expect(r.code).toBe(0);
  graph = cli(["export", "--root", root]).json;
});
afterAll(cleanup);

describe("export --format cypher", () => {
  test("the script holds every node and edge of the JSON export, values exactly, in id order; hostile names included", () => {
    const r = cli(["export", "--root", root, "--format", "cypher"]);
    expect(r.code).toBe(0);
    const p = checkCypher(r.stdout);
    expect(p.nodes.map((n) => n.row)).toEqual(
      [...graph.nodes].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : a.id < b.id ? -1 : 1)).map(expectedRow) as never,
    );
    expect(p.edges.length).toBe(graph.edges.length);
    const key = (s: V, t: V, ty: string) => `${s} ${t} ${ty}`;
    expect(new Set(p.edges.map((e) => key(e.row.source!, e.row.target!, e.type)))).toEqual(new Set(graph.edges.map((e) => key(e.source, e.target, e.type.toUpperCase()))));
    expect(p.nodes.some((n) => String(n.row.name).includes('"quotes"') && String(n.row.name).includes("\n"))).toBe(true);
    expect(p.nodes.some((n) => String(n.row.path).includes("`name` */ }"))).toBe(true);
    expect(new Set(p.constraints.map((c) => c.label))).toEqual(new Set(["AuditgraphNode", ...new Set(graph.nodes.map((n) => n.type[0]!.toUpperCase() + n.type.slice(1)))]));
  });

  test("the same store gives the same bytes; --out writes the same script", () => {
    const a = cli(["export", "--root", root, "--format", "cypher"]).stdout;
    const out = join(tempDir(), "graph.cypher");
    const w = cli(["export", "--root", root, "--format", "cypher", "--out", out, "--json"]);
    expect(w.code).toBe(0);
    expect([w.json.format, w.json.nodes, w.json.edges]).toEqual(["cypher", graph.nodes.length, graph.edges.length]);
    expect(readFileSync(out, "utf8")).toBe(a);
  });
});

describe("export --format jsonl", () => {
  test("every line is one JSON node or edge, the same as the JSON export's, nodes first", () => {
    const r = cli(["export", "--root", root, "--format", "jsonl"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines.pop()).toBe("");
    const recs = lines.map((l) => JSON.parse(l));
    expect(lines.every((l) => l.startsWith('{"kind":"'))).toBe(true);
    expect(recs.filter((x) => x.kind === "node").map(({ kind, ...n }) => n)).toEqual(graph.nodes as never);
    expect(recs.filter((x) => x.kind === "edge").map(({ kind, ...e }) => e)).toEqual(graph.edges as never);
    expect(recs.findIndex((x) => x.kind === "edge")).toBe(graph.nodes.length);
    expect(recs.every((x) => x.kind === "node" || x.kind === "edge")).toBe(true);
  });
});

describe("export --subgraph ID --depth N", () => {
  const docOf = (path: string) => graph.nodes.find((n) => n.type === "document" && n.path === path)!.id;
  test("the neighbourhood neighbors finds, with the whole export's node objects, in every format", () => {
    const start = docOf("notes/runbook.md");
    for (const depth of [1, 2]) {
      const nb = cli(["neighbors", start, "--depth", String(depth), "--root", root, "--json"]).json;
      const j = cli(["export", "--root", root, "--subgraph", start, "--depth", String(depth)]).json;
      expect(j.subgraph).toEqual({ start, depth });
      expect(j.nodes.map((n: any) => n.id).sort()).toEqual([start, ...nb.nodes.map((n: any) => n.id)].sort());
      expect(j.nodes).toEqual(graph.nodes.filter((n) => j.nodes.some((m: any) => m.id === n.id)));
      expect(j.edges).toEqual(nb.edges);
      const l = cli(["export", "--root", root, "--subgraph", start, "--depth", String(depth), "--format", "jsonl"]).stdout.trim().split("\n").map((x) => JSON.parse(x));
      expect(l.length).toBe(j.nodes.length + j.edges.length);
      const c = checkCypher(cli(["export", "--root", root, "--subgraph", start, "--depth", String(depth), "--format", "cypher"]).stdout);
      expect([c.nodes.length, c.edges.length]).toEqual([j.nodes.length, j.edges.length]);
      for (const f of ["dot", "graphml"]) expect(cli(["export", "--root", root, "--subgraph", start, "--depth", String(depth), "--format", f]).stdout).toContain(start);
    }
    const two = cli(["export", "--root", root, "--subgraph", start, "--depth", "2"]).json;
    const one = cli(["export", "--root", root, "--subgraph", start]).json;
    expect(two.nodes.length).toBeGreaterThan(one.nodes.length);
  });

  test("bad bounds, a depth without a start and an unknown id are one line and exit 2", () => {
    const start = docOf("notes/runbook.md");
    for (const d of ["0", "11", "-1", "1.5", "x"]) {
      const r = cli(["export", "--root", root, "--subgraph", start, "--depth", d]);
      expect(r.code).toBe(2);
      expect(expectOneLineError(r)).toContain("--depth must be an integer from 1 to 10");
    }
    expect(expectOneLineError(cli(["export", "--root", root, "--depth", "2"]))).toContain("--depth applies to --subgraph ID only");
    const missing = cli(["export", "--root", root, "--subgraph", "doc_00000000000000000000", "--format", "cypher"]);
    expect(missing.code).toBe(2);
    expect(expectOneLineError(missing)).toContain("node 'doc_00000000000000000000' not found");
    expect(missing.stdout).toBe("");
    expect(cli(["export", "--root", root, "--format", "neo4j"]).code).toBe(2);
  });
});

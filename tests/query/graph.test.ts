// list and why-connected on a real store, checked against the exported graph; ingest's node and
// edge counts are the graph's own totals.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cleanup, cli, expectOneLineError, workspace } from "../helpers/cli.ts";

let root: string;
let graph: { nodes: any[]; edges: any[] };
let counts: any;
beforeAll(() => {
  root = workspace();
  counts = cli(["ingest", "--root", root, "--json"]).json.counts;
  graph = cli(["export", "--root", root]).json;
});
afterAll(cleanup);

const byType = () => {
  const m: Record<string, number> = {};
  for (const n of graph.nodes) m[n.type] = (m[n.type] ?? 0) + 1;
  return m;
};

describe("counts", () => {
  test("ingest's nodes and edges are the exported graph's totals, and each edge once", () => {
    expect([counts.nodes, counts.edges]).toEqual([graph.nodes.length, graph.edges.length]);
    const keys = graph.edges.map((e) => `${e.source} ${e.target} ${e.type}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe("list", () => {
  test("--count-only and --group-by type agree with the export", () => {
    expect(cli(["list", "--root", root, "--count-only", "--json"]).json.total).toBe(graph.nodes.length);
    const g = cli(["list", "--root", root, "--count-only", "--group-by", "type", "--json"]).json;
    expect(Object.fromEntries(g.groups.map((x: any) => [x.value, x.count]))).toEqual(byType());
    expect(cli(["list", "--root", root, "--type", "section", "--count-only", "--json"]).json.total).toBe(byType().section);
  });
  test("--where, --sort, --desc, --offset and --limit", () => {
    const secs = graph.nodes.filter((n) => n.type === "section" && n.path === "notes/runbook.md");
    const r = cli(["list", "--root", root, "--type", "section", "--where", "path=NOTES/RUNBOOK.MD", "--sort", "line", "--json"]).json;
    expect(r.total).toBe(secs.length);
    expect(r.nodes.map((n: any) => n.line)).toEqual(secs.map((n) => n.line).sort((a, b) => a - b));
    const desc = cli(["list", "--root", root, "--type", "section", "--where", "path=notes/runbook.md", "--sort", "line", "--desc", "--limit", "2", "--offset", "1", "--json"]).json;
    expect(desc.nodes.map((n: any) => n.line)).toEqual(secs.map((n) => n.line).sort((a, b) => b - a).slice(1, 3));
    const sub = cli(["list", "--root", root, "--where", "name~postgres", "--where", "type=technology", "--json"]).json;
    expect(sub.nodes.map((n: any) => n.id)).toEqual(["tech_postgresql"]);
    const levels = cli(["list", "--root", root, "--type", "section", "--group-by", "level", "--json"]).json;
    expect(levels.groups.reduce((s: number, x: any) => s + x.count, 0)).toBe(byType().section);
  });
  test("bad flags are one line and exit 2", () => {
    expect(expectOneLineError(cli(["list", "--root", root, "--where", "nonsense"]))).toContain("--where takes FIELD=VALUE");
    expect(cli(["list", "--root", root, "--type", "planet"]).code).toBe(2);
    expect(cli(["list", "--root", root, "--offset", "-1"]).code).toBe(2);
  });
});

describe("why-connected", () => {
  const doc = (path: string) => graph.nodes.find((n) => n.type === "document" && n.path === path).id;
  test("a shortest path in either direction, each edge with its type", () => {
    const a = doc("notes/runbook.md");
    const b = doc("notes/adr/0001-use-postgresql.md");
    const r = cli(["why-connected", a, b, "--root", root, "--json"]).json;
    expect(r.connected).toBe(true);
    const p = r.paths[0];
    expect(p.nodes[0].id).toBe(a);
    expect(p.nodes[p.nodes.length - 1].id).toBe(b);
    expect(p.edges.length).toBe(r.length);
    // Every step is an edge of the graph, in one direction or the other.
    const edges = new Set(graph.edges.map((e) => `${e.source} ${e.target} ${e.type}`));
    p.edges.forEach((e: any, i: number) => {
      expect(edges.has(`${e.source} ${e.target} ${e.type}`)).toBe(true);
      expect([e.source, e.target].sort()).toEqual([p.nodes[i].id, p.nodes[i + 1].id].sort());
    });
    const all = cli(["why-connected", a, b, "--all", "--root", root, "--json"]).json;
    expect(all.paths.length).toBeGreaterThanOrEqual(1);
    expect(all.paths.every((x: any) => x.edges.length === r.length)).toBe(true);
    // Paths are told apart by their edges (a link each way between two documents makes two paths).
    const edgeKey = (e: any) => `${e.source} ${e.target} ${e.type} ${e.line ?? ""}`;
    expect(new Set(all.paths.map((x: any) => x.edges.map(edgeKey).join(" | "))).size).toBe(all.paths.length);
  });
  test("not connected within the depth or the edge types: exit 0, connected false", () => {
    const a = doc("notes/runbook.md");
    const r = cli(["why-connected", a, "tech_postgresql", "--edge-type", "contains", "--root", root, "--json"]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ connected: false, paths: [] });
    expect(cli(["why-connected", a, "tech_postgresql", "--edge-type", "contains", "--root", root]).stdout).toContain("no path");
  });
  test("an unknown id is exit 2 with one line; a bad depth is a usage error", () => {
    expect(expectOneLineError(cli(["why-connected", "doc_nope", "tech_postgresql", "--root", root]))).toContain("node 'doc_nope' not found");
    expect(cli(["why-connected", "tech_postgresql", "tech_postgresql", "--max-depth", "0", "--root", root]).code).toBe(2);
  });
});

describe("node", () => {
  test("every node's edges, out and in, are the exported graph's edges of that node", () => {
    const key = (e: any) => `${e.source} ${e.target} ${e.type} ${e.line ?? ""}`;
    const out = new Map<string, string[]>(), inn = new Map<string, string[]>();
    for (const e of graph.edges) {
      (out.get(e.source) ?? out.set(e.source, []).get(e.source)!).push(key(e));
      (inn.get(e.target) ?? inn.set(e.target, []).get(e.target)!).push(key(e));
    }
    // Each type's nodes (every one of a small type, 25 of a large one): sections and chunks come from
    // their document's part, symbols add the code spans that name them, documents the links into them.
    const byType = new Map<string, any[]>();
    for (const n of graph.nodes) (byType.get(n.type) ?? byType.set(n.type, []).get(n.type)!).push(n);
    expect([...byType.keys()].sort()).toEqual(expect.arrayContaining(["chunk", "document", "section", "symbol", "technology"]));
    for (const nodes of byType.values()) {
      for (const n of nodes.filter((_, i) => i % Math.ceil(nodes.length / 25) === 0)) {
        const r = cli(["node", n.id, "--root", root, "--json"]).json;
        expect({ id: n.id, out: r.out_edges.map(key).sort(), in: r.in_edges.map(key).sort() })
          .toEqual({ id: n.id, out: (out.get(n.id) ?? []).sort(), in: (inn.get(n.id) ?? []).sort() });
      }
    }
  });
});

// subgraph() (export --subgraph, the MCP export_subgraph tool) reads a node of the last depth without
// its edges (nodeOnly): the walk never follows them, and a technology's or a reference's are
// thousands on a large run. Each node is read once, the nearer ones with their edges; the result is
// the one reading every node with its edges gives. A reference or module a document names is named
// from that document (its id is a hash of its name), without reading any shard.
import { afterAll, expect, test } from "bun:test";
import { loadWorkspace } from "../../src/config/load.ts";
import { openStore } from "../../src/store/open.ts";
import { RunIndex } from "../../src/query/run-index.ts";
import { neighbors } from "../../src/query/graph.ts";
import { subgraph } from "../../src/query/export.ts";
import { docId } from "../../src/pipeline/extract.ts";
import { cleanup, EXAMPLE, ingested } from "../helpers/cli.ts";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

afterAll(cleanup);

test("nodes of the last depth are read without their edges; the subgraph is the same", () => {
  const files: Record<string, string> = {};
  for (const f of readdirSync(join(EXAMPLE, "notes"))) if (f.endsWith(".md")) files[`notes/${f}`] = readFileSync(join(EXAMPLE, "notes", f), "utf8");
  files["notes/hub.md"] = "# Hub\n\nSee [a](a.md), [b](b.md) and https://example.org/x with PostgreSQL.\n";
  files["notes/a.md"] = "# A\n\nBack to [hub](hub.md); PostgreSQL and Redis.\n";
  files["notes/b.md"] = "# B\n\nCites [x](https://example.org/x).\n";
  const root = ingested(files);
  const start = docId("notes/hub.md");
  for (const depth of [1, 2, 3]) {
    const ix = new RunIndex(openStore(loadWorkspace({ root })));
    const withEdges: string[] = [], alone: string[] = [];
    const node = ix.node.bind(ix), nodeOnly = ix.nodeOnly.bind(ix);
    ix.node = (id: string) => { withEdges.push(id); return node(id); };
    ix.nodeOnly = (id: string, hint?: number) => { alone.push(id); return nodeOnly(id, hint); };
    const g = subgraph(ix, start, depth)!;
    ix.node = node; ix.nodeOnly = nodeOnly;
    const at = new Map(neighbors(ix, start, depth).nodes.map((n) => [n.id, n.depth]));
    expect(at.size).toBeGreaterThan(3);
    // Read with edges: the start and every node nearer than `depth`; without: those at `depth`.
    expect(withEdges.sort()).toEqual([start, ...[...at].filter(([, d]) => d < depth).map(([id]) => id)].sort());
    expect(alone.sort()).toEqual([...at].filter(([, d]) => d === depth).map(([id]) => id).sort());
    // The same nodes as reading each with its edges.
    for (const [id, n] of g.nodes) expect([id, n]).toEqual([id, ix.node(id)!.node]);
    expect(g.nodes.size).toBe(at.size + 1);
    ix.close();
  }
});

test("a reference or module reached from a document is named from that document's graph, without reading a shard's mentions", () => {
  const root = ingested({
    "notes/hub.md": "# Hub\n\nCites [the spec](https://example.org/spec) and uses PostgreSQL.\n",
    "notes/other.md": "# Other\n\nAlso [it](https://example.org/spec).\n",
    "src/app.py": "import json\n\ndef main():\n    return json.dumps({})\n",
  });
  const ix = new RunIndex(openStore(loadWorkspace({ root })));
  const globals: string[] = [];
  const seg = ix.seg.bind(ix);
  ix.seg = (n: number) => {
    const s = seg(n);
    if (s && !(s as unknown as { watched?: boolean }).watched) {
      const get = s.get.bind(s);
      s.get = <T>(table: string, key: string): T | undefined => { if (table === "global") globals.push(key); return get<T>(table, key); };
      (s as unknown as { watched?: boolean }).watched = true;
    }
    return s;
  };
  const hub = ix.node(docId("notes/hub.md"))!;
  const app = ix.node(docId("src/app.py"))!;
  const ref = hub.out.find((e) => e.target.startsWith("ref_"))!.target;
  const mod = app.out.find((e) => e.target.startsWith("mod_"))!.target;
  const tech = hub.out.find((e) => e.target.startsWith("tech_"))!.target;
  globals.length = 0;
  expect(ix.nodeOnly(ref)).toEqual({ id: ref, type: "reference", name: "https://example.org/spec" });
  expect(ix.nodeOnly(mod)).toEqual({ id: mod, type: "module", name: "json" });
  expect(globals).toEqual([]);
  // A technology's name is read from the shards (two spellings fold to one id).
  expect(ix.nodeOnly(tech)).toEqual({ id: tech, type: "technology", name: "PostgreSQL" });
  expect(globals).toEqual([tech]);
  ix.close();
});

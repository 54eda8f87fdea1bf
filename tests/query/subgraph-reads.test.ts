// subgraph() (export --subgraph, the MCP export_subgraph tool) reads a node of the last depth without
// its edges (nodeOnly): the walk never follows them, and a technology's or a reference's are
// thousands on a large run. Each node is read once, the nearer ones with their edges; the result is
// the one reading every node with its edges gives.
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

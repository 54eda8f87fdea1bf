import { defineCommand } from "../define.ts";
import { intFlag, jsonArgs, withIndex, workspaceArgs } from "./_args.ts";
import { printable as pr, printJson, printLine } from "../output.ts";
import { edgeTypes } from "./neighbors.ts";
import { notFound } from "./node.ts";

export default defineCommand({
  meta: { name: "why-connected", description: "Shortest path(s) between two nodes, edges followed in either direction, with each edge's type and line" },
  args: {
    a: { type: "positional", description: "First node id", required: true },
    b: { type: "positional", description: "Second node id", required: true },
    "max-depth": { type: "string", description: "Longest path to look for, in edges (default 4, at most 10)", valueHint: "N" },
    "edge-type": { type: "string", description: "Only follow these edge types (comma-separated: contains, mentions, references, links_to, defines, imports; with git provenance authored, modified)", valueHint: "T" },
    all: { type: "boolean", description: "Every shortest path (at most 100), not just the first" },
    ...workspaceArgs,
    ...jsonArgs,
  },
  async run({ args, rawArgs }) {
    const maxDepth = intFlag(args["max-depth"], "max-depth", 4, 10);
    const types = await edgeTypes(rawArgs);
    const { store, ix } = await withIndex(args);
    const a = String(args.a);
    const b = String(args.b);
    for (const id of [a, b]) if (!ix.nodeOnly(id)) throw notFound(id, store.runId);
    const { shortestPaths } = await import("../../query/graph.ts");
    const paths = shortestPaths(ix, a, b, { maxDepth, ...(types ? { types } : {}), all: Boolean(args.all) }) ?? [];
    const connected = paths.length > 0;
    const length = connected ? paths[0]!.edges.length : null;
    if (args.json) return printJson({ status: "ok", run_id: store.runId, from: a, to: b, connected, length, max_depth: maxDepth, paths });
    if (!connected) return printLine(`no path between ${pr(a)} and ${pr(b)} within ${maxDepth} edge(s)`);
    printLine(`${paths.length} shortest path(s) of ${length} edge(s) between ${pr(a)} and ${pr(b)}`);
    for (const p of paths) {
      printLine("");
      p.nodes.forEach((n, i) => {
        printLine(`  ${pr(n.id)}  [${n.type}] ${pr(n.name)}${n.path ? `  (${pr(n.path)}:${n.line ?? 1})` : ""}`);
        const e = p.edges[i];
        if (!e) return;
        const forward = e.source === n.id;
        printLine(`    ${forward ? `-${e.type}->` : `<-${e.type}-`}${e.line ? `  (line ${e.line})` : ""}`);
      });
    }
  },
});

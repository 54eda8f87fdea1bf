import { defineCommand } from "../define.ts";
import { givenChoices, intFlag, jsonArgs, withIndex, workspaceArgs } from "./_args.ts";
import { printable as p, printJson, printLine } from "../output.ts";
import { notFound } from "./node.ts";

/** --edge-type's values, over every time it is given. */
export const edgeTypes = async (rawArgs: string[]): Promise<Set<string> | undefined> => {
  const { EDGE_TYPES } = await import("../../pipeline/extract.ts");
  const types = givenChoices(rawArgs, "edge-type", "links_to", EDGE_TYPES);
  return types ? new Set(types) : undefined;
};

export default defineCommand({
  meta: { name: "neighbors", description: "Walk the graph from a node, in both directions" },
  args: {
    id: { type: "positional", description: "Start node id", required: true },
    depth: { type: "string", description: "How many edges away (default 1, at most 10)", valueHint: "N" },
    "edge-type": { type: "string", description: "Only follow these edge types (comma-separated: contains, mentions, references, links_to, defines, imports; with git provenance authored, modified)", valueHint: "T" },
    ...workspaceArgs,
    ...jsonArgs,
  },
  async run({ args, rawArgs }) {
    const depth = intFlag(args.depth, "depth", 1, 10);
    const types = await edgeTypes(rawArgs);
    const { store, ix } = await withIndex(args, { wide: depth > 1 });
    const { neighbors } = await import("../../query/graph.ts");
    const id = String(args.id);
    if (!ix.nodeOnly(id)) throw notFound(id, store.runId);
    // The text listing shows nodes only: the edges are gathered for --json.
    const r = neighbors(ix, id, depth, { types, edges: Boolean(args.json) });
    if (args.json) return printJson({ status: "ok", run_id: store.runId, start: id, depth, nodes: r.nodes, edges: r.edges });
    printLine(`${r.nodes.length} node(s) within ${depth} edge(s) of ${p(id)}`);
    for (const n of r.nodes) printLine(`  ${n.depth}  ${p(n.id)}  [${n.type}] ${p(n.name)}${n.path ? `  (${p(n.path)}:${n.line ?? 1})` : ""}`);
  },
});

import { defineCommand } from "citty";
import { AgError, ExitCode, usageError } from "../../shared/errors.ts";
import { intFlag, jsonArgs, withStore, workspaceArgs } from "./_args.ts";
import { printJson, printLine } from "../output.ts";

export default defineCommand({
  meta: { name: "neighbors", description: "Walk the graph from a node, in both directions" },
  args: {
    id: { type: "positional", description: "Start node id", required: true },
    depth: { type: "string", description: "How many edges away (default 1, at most 10)", valueHint: "N" },
    "edge-type": { type: "string", description: "Only follow these edge types (comma-separated: contains, mentions, references, links_to)", valueHint: "T" },
    ...workspaceArgs,
    ...jsonArgs,
  },
  async run({ args }) {
    const { EDGE_TYPES } = await import("../../pipeline/extract.ts");
    const depth = intFlag(args.depth, "depth", 1, 10);
    const types = args["edge-type"] ? new Set(String(args["edge-type"]).split(",").map((t) => t.trim())) : undefined;
    for (const t of types ?? []) if (!EDGE_TYPES.includes(t as never)) throw usageError(`--edge-type must be among ${EDGE_TYPES.join(", ")}, got '${t}'`);
    const { store } = await withStore(args);
    const { loadGraph, neighbors } = await import("../../query/graph.ts");
    const g = loadGraph(store);
    const id = String(args.id);
    if (!g.nodes.has(id)) throw new AgError(`node '${id}' not found in run ${store.runId}`, { exitCode: ExitCode.usage, code: "not_found", hint: "find ids with 'auditgraph query TEXT'" });
    const r = neighbors(g, id, depth, types);
    if (args.json) return printJson({ status: "ok", run_id: store.runId, start: id, depth, ...r });
    printLine(`${r.nodes.length} node(s) within ${depth} edge(s) of ${id}`);
    for (const n of r.nodes) printLine(`  ${n.depth}  ${n.id}  [${n.type}] ${n.name}${n.path ? `  (${n.path}:${n.line ?? 1})` : ""}`);
  },
});

import { defineCommand } from "../define.ts";
import { usageError } from "../../shared/errors.ts";
import { intFlag, jsonArgs, withIndex, workspaceArgs } from "./_args.ts";
import { printable as p, printLine, warn, writeStderr, writeStdout } from "../output.ts";
import { canonicalJson } from "../../shared/json.ts";
import { notFound } from "./node.ts";

export default defineCommand({
  meta: { name: "export", description: "Export the current run's graph (nodes and edges), or one node's neighbourhood, as JSON, DOT, GraphML, Cypher or JSON Lines" },
  args: {
    format: { type: "string", description: "json, dot, graphml, cypher (a cypher-shell script for Neo4j) or jsonl (one node or edge per line) (default json)", valueHint: "FORMAT" },
    out: { type: "string", description: "Write to this file (atomically) instead of stdout", valueHint: "FILE" },
    subgraph: { type: "string", description: "Export only the nodes within --depth edges of this node (edges followed in both directions)", valueHint: "ID" },
    depth: { type: "string", description: "With --subgraph: how many edges away (default 1, at most 10)", valueHint: "N" },
    ...workspaceArgs,
    ...jsonArgs,
  },
  async run({ args }) {
    const { EXPORT_FORMATS, renderExport, subgraph } = await import("../../query/export.ts");
    const format = (args.format ?? "json") as (typeof EXPORT_FORMATS)[number];
    if (!EXPORT_FORMATS.includes(format)) throw usageError(`--format must be one of ${EXPORT_FORMATS.join(", ")}, got '${args.format}'`);
    if (args.json && !args.out && format !== "json") throw usageError(`--json without --out prints the export itself, so it needs --format json (got ${format})`);
    const start = args.subgraph === undefined ? undefined : String(args.subgraph);
    if (start === "") throw usageError("--subgraph needs a node id (find ids with 'auditgraph query TEXT' or 'auditgraph list')");
    if (start === undefined && args.depth !== undefined) throw usageError("--depth applies to --subgraph ID only");
    const depth = intFlag(args.depth, "depth", 1, 10);
    const { ws, store, ix } = await withIndex(args, { wide: start === undefined || depth > 1 });
    // Checked before the graph is read: not a directory, not the store's own files (store/exports.ts).
    const { exportTarget, writeExport } = await import("../../store/exports.ts");
    const target = args.out === undefined ? undefined : exportTarget(ws.root, ws.profileDir, String(args.out));
    const out = target?.abs;
    let g;
    if (start !== undefined) {
      g = subgraph(ix, start, depth);
      if (!g) throw notFound(start, store.runId);
    } else {
      const { loadGraph } = await import("../../query/graph.ts");
      g = loadGraph(ix);
    }
    ix.close();
    const scope = start !== undefined ? { start, depth } : undefined;
    const text = renderExport(g, format, store.runId, scope);
    if (target === undefined || out === undefined) return void writeStdout(text);
    const { exportBudgetGate } = await import("../../pipeline/footprint.ts");
    const { budget, warning } = exportBudgetGate(ws, store, target, Buffer.byteLength(text));
    if (warning) warn(warning);
    writeExport(target, text);
    const summary = { status: "ok", run_id: store.runId, format, out, ...(scope ? { subgraph: scope } : {}), nodes: g.nodes.size, edges: g.edges.length, bytes: Buffer.byteLength(text) };
    // A pipe or device (`--out /dev/stdout`) gets the export alone: the summary goes to stderr.
    const say = target.direct && target.fd !== 2 ? (line: string) => writeStderr(line + "\n") : printLine;
    if (args.json) return say(canonicalJson({ ...summary, budget }, 2));
    say(`exported ${summary.nodes} nodes and ${summary.edges} edges of run ${store.runId}${scope ? ` (within ${depth} edge(s) of ${p(String(start))})` : ""} to ${p(out)} (${format}, ${summary.bytes} bytes)`);
  },
});

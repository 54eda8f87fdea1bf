import { defineCommand } from "../define.ts";
import { resolve } from "node:path";
import { atomicWriteFile } from "../../shared/fs.ts";
import { usageError } from "../../shared/errors.ts";
import { jsonArgs, withIndex, workspaceArgs } from "./_args.ts";
import { printJson, printLine, warn, writeStdout } from "../output.ts";

export default defineCommand({
  meta: { name: "export", description: "Export the current run's graph (nodes and edges) as JSON, DOT or GraphML" },
  args: {
    format: { type: "string", description: "json, dot or graphml (default json)", valueHint: "FORMAT" },
    out: { type: "string", description: "Write to this file (atomically) instead of stdout", valueHint: "FILE" },
    ...workspaceArgs,
    ...jsonArgs,
  },
  async run({ args }) {
    const { EXPORT_FORMATS, renderExport } = await import("../../query/export.ts");
    const format = (args.format ?? "json") as (typeof EXPORT_FORMATS)[number];
    if (!EXPORT_FORMATS.includes(format)) throw usageError(`--format must be one of ${EXPORT_FORMATS.join(", ")}, got '${args.format}'`);
    if (args.json && !args.out && format !== "json") throw usageError(`--json without --out prints the export itself, so it needs --format json (got ${format})`);
    const { ws, store, ix } = await withIndex(args);
    const { loadGraph } = await import("../../query/graph.ts");
    const g = loadGraph(ix);
    ix.close();
    const text = renderExport(g, format, store.runId);
    if (!args.out) return void writeStdout(text);
    const out = resolve(String(args.out));
    const { exportBudgetGate } = await import("../../pipeline/footprint.ts");
    const { budget, warning } = exportBudgetGate(ws, store, out, Buffer.byteLength(text));
    if (warning) warn(warning);
    atomicWriteFile(out, text);
    const summary = { status: "ok", run_id: store.runId, format, out, nodes: g.nodes.size, edges: g.edges.length, bytes: Buffer.byteLength(text) };
    if (args.json) return printJson({ ...summary, budget });
    printLine(`exported ${summary.nodes} nodes and ${summary.edges} edges of run ${store.runId} to ${out} (${format}, ${summary.bytes} bytes)`);
  },
});

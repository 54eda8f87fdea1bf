import { defineCommand } from "citty";
import { AgError, ExitCode } from "../../shared/errors.ts";
import { jsonArgs, withStore, workspaceArgs } from "./_args.ts";
import { printJson, printLine } from "../output.ts";

export default defineCommand({
  meta: { name: "node", description: "Show one node (document, section, chunk, entity) and its edges" },
  args: { id: { type: "positional", description: "Node id", required: true }, ...workspaceArgs, ...jsonArgs },
  async run({ args }) {
    const { store } = await withStore(args);
    const { loadGraph, loadTexts } = await import("../../query/graph.ts");
    const { locate } = await import("../../query/search.ts");
    const g = loadGraph(store);
    const id = String(args.id);
    const node = g.nodes.get(id);
    if (!node) throw new AgError(`node '${id}' not found in run ${store.runId}`, { exitCode: ExitCode.usage, code: "not_found", hint: "find ids with 'auditgraph query TEXT'" });
    const where = locate(g, node);
    const out = g.out.get(id) ?? [];
    const inn = g.in.get(id) ?? [];
    let text: string | undefined;
    const chunk = node.type === "chunk" ? g.chunks.find((c) => c.id === id) : undefined;
    if (chunk) {
      text = loadTexts(store, [chunk.path]).get(chunk.path)?.slice(chunk.chunk[0], chunk.chunk[1]);
    }
    if (args.json) return printJson({ status: "ok", run_id: store.runId, node: { ...node, ...where }, ...(text !== undefined ? { text } : {}), out_edges: out, in_edges: inn });
    printLine(`${node.id}  [${node.type}] ${node.name}`);
    printLine(`  source: ${where.path}:${where.line}`);
    for (const [k, v] of Object.entries(node.attrs ?? {})) printLine(`  ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
    for (const e of out) printLine(`  -${e.type}-> ${e.target}  ${g.nodes.get(e.target)?.name ?? ""}`);
    for (const e of inn) printLine(`  <-${e.type}- ${e.source}  ${g.nodes.get(e.source)?.name ?? ""}`);
    if (text !== undefined) printLine(`\n${text}`);
  },
});

import { defineCommand } from "../define.ts";
import { AgError, ExitCode, clip } from "../../shared/errors.ts";
import { jsonArgs, withIndex, workspaceArgs } from "./_args.ts";
import { printable as p, printJson, printLine } from "../output.ts";

export const notFound = (id: string, runId: string) =>
  new AgError(`node '${clip(id)}' not found in run ${runId}`, { exitCode: ExitCode.usage, code: "not_found", hint: "find ids with 'auditgraph query TEXT' or 'auditgraph list'" });

export default defineCommand({
  meta: { name: "node", description: "Show one node (document, section, chunk, entity) and its edges" },
  args: { id: { type: "positional", description: "Node id", required: true }, ...workspaceArgs, ...jsonArgs },
  async run({ args }) {
    const { store, ix } = await withIndex(args);
    const id = String(args.id);
    const found = ix.node(id);
    if (!found) throw notFound(id, store.runId);
    const { node, out, in: inn } = found;
    const where = ix.locate(node, inn);
    let text: string | undefined;
    if (node.type === "chunk") {
      const doc = ix.docByPath(node.path!);
      const ci = Number(id.slice(id.lastIndexOf("_") + 1));
      const ch = doc?.rec.chunks[ci];
      if (ch) text = ix.textRange(node.path!, ch[0], ch[1]);
    }
    const names = new Map<string, string>();
    const nameOf = (nid: string) => {
      if (!names.has(nid)) names.set(nid, ix.nodeOnly(nid)?.name ?? "");
      return names.get(nid)!;
    };
    if (args.json) return printJson({ status: "ok", run_id: store.runId, node: { ...node, ...where }, ...(text !== undefined ? { text } : {}), out_edges: out, in_edges: inn });
    printLine(`${p(node.id)}  [${node.type}] ${p(node.name)}`);
    if (where.path) printLine(`  source: ${p(where.path)}:${where.line}`); // commits and authors have no source file
    for (const [k, v] of Object.entries(node.attrs ?? {})) printLine(`  ${p(k)}: ${p(typeof v === "string" ? v : JSON.stringify(v))}`);
    for (const e of out) printLine(`  -${e.type}-> ${p(e.target)}  ${p(nameOf(e.target))}`);
    for (const e of inn) printLine(`  <-${e.type}- ${p(e.source)}  ${p(nameOf(e.source))}`);
    if (text !== undefined) printLine(`\n${p(text, { newlines: true })}`);
  },
});

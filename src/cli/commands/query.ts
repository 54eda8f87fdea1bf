import { defineCommand } from "citty";
import { usageError } from "../../shared/errors.ts";
import { intFlag, jsonArgs, withStore, workspaceArgs } from "./_args.ts";
import { printJson, printLine } from "../output.ts";

export default defineCommand({
  meta: { name: "query", description: "Ranked BM25 search over chunks and entity names; every hit has a source path and line" },
  args: {
    text: { type: "positional", description: "Search text", required: true },
    type: { type: "string", description: "Only hits of this node type (chunk, document, section, technology, reference, decision, claim)", valueHint: "T" },
    limit: { type: "string", description: "Maximum number of hits (default 10)", valueHint: "N" },
    ...workspaceArgs,
    ...jsonArgs,
  },
  async run({ args }) {
    const { NODE_TYPES } = await import("../../pipeline/extract.ts");
    if (args.type && !NODE_TYPES.includes(args.type as never)) throw usageError(`--type must be one of ${NODE_TYPES.join(", ")}, got '${args.type}'`);
    const limit = intFlag(args.limit, "limit", 10);
    const { store } = await withStore(args);
    const { loadGraph } = await import("../../query/graph.ts");
    const { search } = await import("../../query/search.ts");
    const hits = search(loadGraph(store), String(args.text), { type: args.type, limit });
    if (args.json) return printJson({ status: "ok", run_id: store.runId, query: args.text, hits });
    if (hits.length === 0) return printLine(`no hits for '${args.text}'`);
    for (const h of hits) printLine(`${h.score.toFixed(3).padStart(8)}  ${h.path}:${h.line}  [${h.type}] ${h.name}  (${h.id})`);
  },
});

import { usageError } from "../../shared/errors.ts";
import { defineCommand } from "../define.ts";
import { countFlag, flagValues, givenChoices, givenValue, intFlag, jsonArgs, withIndex, workspaceArgs } from "./_args.ts";
import { printable, printJson, printLine } from "../output.ts";

export default defineCommand({
  meta: { name: "list", description: "List nodes by type and field, sorted and paged; or count them, or group them by a field" },
  args: {
    type: { type: "string", description: "Only these node types (comma-separated)", valueHint: "T" },
    where: { type: "string", description: "FIELD=VALUE (equal, any case) or FIELD~SUBSTRING; repeat for AND. Fields: id, type, name, path, line, tag, an attribute (kind, level, status, tokens, end_line, exported, container, pages, …; attrs.NAME), frontmatter.KEY", valueHint: "COND" },
    sort: { type: "string", description: "Sort by this field (default id): numbers by value, then other values as text, then nodes without it; ties by id", valueHint: "FIELD" },
    desc: { type: "boolean", description: "Sort in descending order" },
    limit: { type: "string", description: "At most N nodes (default 50)", valueHint: "N" },
    offset: { type: "string", description: "Skip the first N nodes (default 0)", valueHint: "N" },
    "count-only": { type: "boolean", description: "Print only how many nodes match" },
    "group-by": { type: "string", description: "Count matching nodes per value of FIELD", valueHint: "FIELD" },
    ...workspaceArgs,
    ...jsonArgs,
  },
  async run({ args, rawArgs }) {
    const { NODE_TYPES } = await import("../../pipeline/extract.ts");
    const { checkField, listNodes, parseCondition } = await import("../../query/list.ts");
    const types = givenChoices(rawArgs, "type", "section", NODE_TYPES);
    const where = flagValues(rawArgs, "where").map((w) => parseCondition(givenValue(w, "where", "type=section")!));
    const sort = givenValue(args.sort, "sort", "name");
    const groupBy = givenValue(args["group-by"], "group-by", "type");
    if (sort) checkField(sort, "--sort");
    if (groupBy) checkField(groupBy, "--group-by");
    // Every group is counted and listed: a page or an order of nodes would be ignored, so it is refused.
    const nodeOnly = (["limit", "offset", "sort", "desc"] as const).find((f) => args[f] !== undefined && args[f] !== false);
    if (groupBy && nodeOnly) throw usageError(`--${nodeOnly} applies to a list of nodes, and --group-by counts every group (most nodes first): give one or the other`);
    // So does a count: it was given silently as if --sort, --offset or --desc changed it.
    if (args["count-only"] && !groupBy && nodeOnly && nodeOnly !== "limit") throw usageError(`--${nodeOnly} applies to a list of nodes, and --count-only counts every match: give one or the other`);
    const limit = intFlag(args.limit, "limit", 50);
    const offset = countFlag(args.offset, "offset", 0);
    const { store, ix } = await withIndex(args);
    const r = listNodes(ix, {
      ...(types ? { types } : {}), where, limit, offset, desc: Boolean(args.desc), countOnly: Boolean(args["count-only"]),
      ...(args.sort ? { sort: String(args.sort) } : {}), ...(args["group-by"] ? { groupBy: String(args["group-by"]) } : {}),
    });
    ix.close();
    if (args.json) {
      if (r.groups) return printJson({ status: "ok", run_id: store.runId, total: r.total, group_by: args["group-by"], groups: r.groups });
      if (!r.nodes) return printJson({ status: "ok", run_id: store.runId, total: r.total });
      return printJson({ status: "ok", run_id: store.runId, total: r.total, offset, limit, nodes: r.nodes });
    }
    if (r.groups) {
      // A string prints bare unless another group's value prints the same (the number 10 and the string "10", null and "null"): then it is quoted.
      const plain = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
      const seen = new Map<string, number>();
      for (const g of r.groups) seen.set(plain(g.value), (seen.get(plain(g.value)) ?? 0) + 1);
      for (const g of r.groups) {
        const label = typeof g.value === "string" && seen.get(g.value)! > 1 ? JSON.stringify(g.value) : plain(g.value);
        printLine(`${String(g.count).padStart(8)}  ${printable(label)}`);
      }
      return printLine(`${String(r.total).padStart(8)}  total`);
    }
    if (!r.nodes) return printLine(String(r.total));
    for (const n of r.nodes) printLine(`${n.id}  [${n.type}] ${printable(n.name)}${n.path ? `  (${printable(n.path)}:${n.line ?? 1})` : ""}`);
    printLine(`(${r.nodes.length} of ${r.total}${offset ? `, from ${offset}` : ""})`);
  },
});

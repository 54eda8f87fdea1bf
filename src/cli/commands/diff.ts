import { defineCommand } from "../define.ts";
import { jsonArgs, withWorkspace, workspaceArgs } from "./_args.ts";
import { printable as p, printJson, printLine } from "../output.ts";

export default defineCommand({
  meta: { name: "diff", description: "Compare two runs: files added, removed and changed, and artifacts rewritten" },
  args: {
    run_a: { type: "positional", description: "Older run id", required: true },
    run_b: { type: "positional", description: "Newer run id", required: true },
    ...workspaceArgs,
    ...jsonArgs,
  },
  async run({ args }) {
    const ws = await withWorkspace(args);
    const { compatGate, openRun } = await import("../../store/open.ts");
    compatGate(ws.profileDir);
    const [a, b] = [String(args.run_a), String(args.run_b)].map((id) => openRun(ws.profileDir, id));
    const { diffRuns } = await import("../../query/diff.ts");
    const d = diffRuns(a!, b!);
    if (args.json) return printJson({ status: "ok", ...d });
    printLine(`${d.run_a} → ${d.run_b}: ${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} changed; ${d.artifacts_rewritten.length} artifact(s) rewritten${d.config_changed ? "; config changed" : ""}`);
    for (const f of d.added) printLine(`  + ${p(f)}`);
    for (const f of d.removed) printLine(`  - ${p(f)}`);
    for (const f of d.changed) printLine(`  ~ ${p(f)}`);
  },
});

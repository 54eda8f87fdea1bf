import { defineCommand } from "../define.ts";
import { jsonArgs, withWorkspace, workspaceArgs } from "./_args.ts";
import { printable as p, printJson, printLine } from "../output.ts";

export default defineCommand({
  meta: { name: "budget", description: "Show the disk footprint budget figures of the profile's artifact directory; writes nothing" },
  args: { ...workspaceArgs, ...jsonArgs },
  async run({ args }) {
    const ws = await withWorkspace(args);
    const { currentBudget } = await import("../../pipeline/footprint.ts");
    const { budgetFigures } = await import("../../policy/budget.ts");
    const { budget, source } = currentBudget(ws);
    if (args.json) return printJson({ status: "ok", profile: ws.profileName, profile_dir: ws.profileDir, source, budget });
    printLine(`budget ${budget.status} for ${p(ws.profileDir)}`);
    printLine(`  source ${budget.source_bytes} bytes (${source}) x multiplier ${ws.budget.multiplier}`);
    printLine(`  ${budgetFigures(budget)}`);
  },
});

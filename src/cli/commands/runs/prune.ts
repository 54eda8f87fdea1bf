import { defineCommand } from "../../define.ts";
import { usageError } from "../../../shared/errors.ts";
import { intFlag, jsonArgs, withWorkspace, workspaceArgs } from "../_args.ts";
import { printable as p, printJson, printLine, warn } from "../../output.ts";

export default defineCommand({
  meta: { name: "prune", description: "Delete the oldest runs and the objects only they use, keeping the N most recent and always the current run" },
  args: {
    keep: { type: "string", description: "How many of the most recent runs to keep (the current run is kept in any case)", valueHint: "N" },
    "dry-run": { type: "boolean", description: "Print what would be deleted and freed; delete nothing" },
    ...workspaceArgs,
    ...jsonArgs,
  },
  async run({ args }) {
    if (args.keep === undefined) throw usageError("runs prune needs --keep N (how many of the most recent runs to keep)");
    const keep = intFlag(args.keep, "keep", 1);
    const ws = await withWorkspace(args);
    const { applyPrune, planPrune } = await import("../../../store/prune.ts");
    const { checkProfile } = await import("../../../store/layout.ts");
    checkProfile(ws.profileDir); // a file in the place of runs/ or objects/: exit 5 naming it, nothing deleted
    const { humanBytes } = await import("../../../policy/budget.ts");
    const dry = Boolean(args["dry-run"]);
    let plan;
    if (dry) plan = planPrune(ws.profileDir, keep);
    else {
      const { acquireLock } = await import("../../../store/lock.ts");
      const { sweepTemp } = await import("../../../store/sweep.ts");
      const lock = await acquireLock(ws.root);
      try {
        sweepTemp(ws.profileDir); // first, as every writer: what a killed writer left is not planned over
        plan = planPrune(ws.profileDir, keep);
        applyPrune(ws.profileDir, plan);
      } finally {
        lock.release();
      }
    }
    const { objects: _, ...report } = plan;
    if (args.json) return printJson({ status: "ok", dry_run: dry, profile: ws.profileName, ...report });
    if (plan.objects_kept_because) warn(`objects were left in place: ${plan.objects_kept_because}`);
    const verb = dry ? "would free" : "freed";
    printLine(`${verb} ${plan.freed_bytes} bytes (${humanBytes(plan.freed_bytes)}): ${plan.removed_runs.length} run(s) and ${plan.removed_objects} object(s)${dry ? " (dry run: nothing deleted)" : ""}`);
    for (const r of plan.removed_runs) printLine(`  - ${p(r.run_id)}`);
    printLine(`kept ${plan.kept.length} run(s)${plan.current ? `, current ${plan.current}` : ""}`);
  },
});

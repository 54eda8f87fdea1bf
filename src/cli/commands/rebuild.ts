import { defineCommand } from "../define.ts";
import { jsonArgs, unreadableDirWarning, withWorkspace, workspaceArgs } from "./_args.ts";
import { printable as p, printJson, printLine, warn } from "../output.ts";

export default defineCommand({
  meta: {
    name: "rebuild",
    description: "Full run that ignores what is on disk: new run id, prior runs kept untouched, becomes current (the way out of exit 3)",
  },
  args: { ...workspaceArgs, ...jsonArgs },
  async run({ args }) {
    const ws = await withWorkspace(args);
    const { ingest } = await import("../../pipeline/ingest.ts");
    // The run id is salted with the run this one replaces: the same store and inputs give the same
    // run id, and it always differs from every earlier run (the previous current one included).
    const { plan, budget, budgetWarning, cacheWarning, previous = null } = await ingest(ws, { rebuild: true });
    if (budgetWarning) warn(budgetWarning);
    if (cacheWarning) warn(cacheWarning);
    for (const f of plan.manifest.files) if (f.reason === "unreadable_directory") warn(unreadableDirWarning(f.path));
    for (const w of plan.manifest.warnings ?? []) warn(w); // run warnings (git provenance)
    const m = plan.manifest;
    const written = plan.newObjects.reduce((s, o) => s + o.bytes, 0) + Buffer.byteLength(plan.manifestText);
    const repaired = plan.newObjects.filter((o) => o.repair).length;
    if (args.json) {
      return printJson({
        status: "ok", run_id: plan.runId, previous_run: previous, profile: ws.profileName, schema_version: m.schema_version,
        counts: m.counts, new_objects: plan.newObjects.length, repaired_objects: repaired, written_bytes: written, budget,
      });
    }
    printLine(`rebuilt run ${plan.runId} (profile ${p(ws.profileName)}, schema ${m.schema_version}); it is now current`);
    printLine(`  files ${m.counts.files}: ${m.counts.ok} ok, ${m.counts.skipped} skipped; ${m.counts.chunks} chunks, ${m.counts.nodes} nodes, ${m.counts.edges} edges`);
    printLine(`  ${plan.newObjects.length} new objects${repaired ? ` (${repaired} replacing a damaged copy)` : ""}, ${written} bytes written; earlier runs are kept (${previous ? `previous: ${previous}` : "none"})`);
  },
});

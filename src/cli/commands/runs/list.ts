import { defineCommand } from "../../define.ts";
import { jsonArgs, withWorkspace, workspaceArgs } from "../_args.ts";
import { printable as p, printJson, printLine, warn } from "../../output.ts";

export default defineCommand({
  meta: { name: "list", description: "List runs in the order they finished, with schema version and whether this binary can read them" },
  args: { ...workspaceArgs, ...jsonArgs },
  async run({ args }) {
    // No compatibility gate: listing must still describe a broken or incompatible store.
    const ws = await withWorkspace(args);
    const { listRuns } = await import("../../../store/runs.ts");
    const runs = listRuns(ws.profileDir);
    // A damaged pointer marks no run as current: say why (verify reports it too).
    const { pointerState } = await import("../../../store/manifest.ts");
    const pointer = pointerState(ws.profileDir);
    if (pointer.state === "bad" && !args.json) warn(`no run is marked current: ${pointer.problem}`);
    if (args.json) return printJson({ status: "ok", profile: ws.profileName, runs });
    if (runs.length === 0) return printLine(`no runs in ${p(ws.profileDir)}`);
    for (const r of runs) {
      const what = r.counts ? `${r.counts.ok} files, ${r.counts.chunks} chunks` : `unreadable: ${r.problem}`;
      printLine(p(`${r.current ? "*" : " "} ${r.run_id}  schema ${r.schema_version}${r.readable ? "" : " (not readable by this binary)"}  ${r.finished_at ?? "-"}  ${what}`));
    }
  },
});

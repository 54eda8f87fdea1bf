import { defineCommand } from "../../define.ts";
import { jsonArgs, withWorkspace, workspaceArgs } from "../_args.ts";
import { printable as p, printJson, printLine } from "../../output.ts";

export default defineCommand({
  meta: { name: "show", description: "Show one run's manifest: hashes, counts, skipped files and why, file warnings" },
  args: { run_id: { type: "positional", description: "Run id", required: true }, ...workspaceArgs, ...jsonArgs },
  async run({ args }) {
    const ws = await withWorkspace(args);
    const { compatGate, openRun } = await import("../../../store/open.ts");
    compatGate(ws.profileDir);
    const m = openRun(ws.profileDir, String(args.run_id));
    if (args.json) return printJson(m);
    printLine(`run ${m.run_id} (profile ${p(m.profile)}, schema ${p(m.schema_version)}, auditgraph ${p(m.auditgraph_version)})`);
    printLine(`  config ${m.config_hash}\n  inputs ${m.inputs_hash}\n  outputs ${m.outputs_hash}`);
    printLine(`  ${Object.entries(m.counts).map(([k, v]) => `${p(k)} ${v}`).join(", ")}; ${m.artifacts.length} artifacts, ${m.artifacts.reduce((s, a) => s + a.bytes, 0)} bytes`);
    for (const f of m.files) {
      if (f.status === "skipped") printLine(`  skipped ${p(f.path)}: ${p(f.reason ?? "")}${f.warnings?.length ? ` (${p(f.warnings.map((w) => w.slice(w.indexOf(": ") + 2)).join("; "))})` : ""}`);
      else for (const w of f.warnings ?? []) printLine(`  warning ${p(f.path)}:${p(w)}`);
    }
  },
});

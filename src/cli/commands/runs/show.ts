import { defineCommand } from "citty";
import { AgError, ExitCode } from "../../../shared/errors.ts";
import { jsonArgs, withWorkspace, workspaceArgs } from "../_args.ts";
import { printJson, printLine } from "../../output.ts";

export default defineCommand({
  meta: { name: "show", description: "Show one run's manifest: hashes, counts, files and skip reasons" },
  args: { run_id: { type: "positional", description: "Run id", required: true }, ...workspaceArgs, ...jsonArgs },
  async run({ args }) {
    const ws = await withWorkspace(args);
    const { compatGate } = await import("../../../store/open.ts");
    const { readManifest } = await import("../../../store/manifest.ts");
    compatGate(ws.profileDir);
    const r = readManifest(ws.profileDir, String(args.run_id));
    if (!r.ok) {
      const missing = r.fact.kind === "missing" || r.problem.includes("is not a run id");
      throw new AgError(missing ? `run '${args.run_id}' not found in ${ws.profileDir}` : r.problem, {
        exitCode: missing ? ExitCode.usage : ExitCode.verify, code: missing ? "not_found" : "manifest_invalid", hint: "list runs with 'auditgraph runs list'",
      });
    }
    const m = r.manifest;
    if (args.json) return printJson(m);
    printLine(`run ${m.run_id} (profile ${m.profile}, schema ${m.schema_version}, auditgraph ${m.auditgraph_version})`);
    printLine(`  config ${m.config_hash}\n  inputs ${m.inputs_hash}\n  outputs ${m.outputs_hash}`);
    printLine(`  ${Object.entries(m.counts).map(([k, v]) => `${k} ${v}`).join(", ")}; ${m.artifacts.length} artifacts, ${m.artifacts.reduce((s, a) => s + a.bytes, 0)} bytes`);
    for (const f of m.files.filter((x) => x.status === "skipped")) printLine(`  skipped ${f.path}: ${f.reason}`);
  },
});

import { defineCommand } from "../define.ts";
import { jsonArgs, withWorkspace, workspaceArgs } from "./_args.ts";
import { printable as p, printJson, printLine, warn, writeStderr } from "../output.ts";
import { ExitCode } from "../../shared/errors.ts";

export default defineCommand({
  meta: { name: "verify", description: "Re-hash every artifact against the manifests; exit 5 on any mismatch, missing or extra file" },
  args: { ...workspaceArgs, ...jsonArgs },
  async run({ args }) {
    // No compatibility gate: verify must describe a broken store, not refuse it.
    const ws = await withWorkspace(args);
    const { verifyStore } = await import("../../store/verify.ts");
    const r = verifyStore(ws.profileDir);
    if (args.json) printJson({ status: r.ok ? "ok" : "failed", profile_dir: ws.profileDir, ...r });
    else {
      for (const x of r.problems) writeStderr(`${x.kind}: ${p(x.path)}: ${p(x.detail)}\n`);
      for (const n of r.notes) warn(n);
      printLine(r.ok ? `store ${p(ws.profileDir)} verified: ${r.runs} run(s), ${r.objects} object(s), no problems`
        : `store ${p(ws.profileDir)} FAILED verification: ${r.problems.length} problem(s) in ${r.runs} run(s), ${r.objects} object(s)`);
      // Damaged or missing objects of the current sources are written again by a rebuild (see README, "Repairing a store").
      if (r.problems.some((x) => x.kind === "mismatch" || x.kind === "missing" || x.kind === "unreadable" || x.kind === "pointer")) {
        writeStderr("hint: 'auditgraph rebuild' writes a new current run, rewriting the damaged or missing objects it needs from the sources; 'auditgraph runs prune' then drops older runs that still name damaged ones\n");
      }
    }
    return r.ok ? ExitCode.ok : ExitCode.verify;
  },
});

import { defineCommand } from "../define.ts";
import { jsonArgs, withWorkspace, workspaceArgs } from "./_args.ts";
import { printable as p, printJson, printLine, warn, writeStderr } from "../output.ts";
import { AgError, ExitCode } from "../../shared/errors.ts";

export default defineCommand({
  meta: { name: "verify", description: "Re-hash every artifact against the manifests; exit 5 on any mismatch, missing or extra file" },
  args: { ...workspaceArgs, ...jsonArgs },
  async run({ args }) {
    // No compatibility gate: verify must describe a broken store, not refuse it.
    const ws = await withWorkspace(args);
    const { verifyStore, storeState } = await import("../../store/verify.ts");
    // Verify takes no lock: an ingest and a `runs prune` between its reads (the pointer, then the
    // runs, then the objects) look like a pointer to a run that is gone, or objects that are
    // missing. Problems found while the store changed are looked for again (at most three times).
    let before = storeState(ws.profileDir);
    let r = verifyStore(ws.profileDir);
    for (let again = 0; !r.ok && again < 3 && storeState(ws.profileDir) !== before; again++) {
      before = storeState(ws.profileDir);
      r = verifyStore(ws.profileDir);
    }
    if (r.ok) {
      if (args.json) printJson({ status: "ok", profile_dir: ws.profileDir, ...r });
      else {
        for (const n of r.notes) warn(n);
        printLine(`store ${p(ws.profileDir)} verified: ${r.runs} run(s), ${r.objects} object(s), no problems`);
      }
      return ExitCode.ok;
    }
    // A failure is an error like any other (one `error:` line, a hint, the JSON error document with
    // the report's fields), after one line per problem.
    if (!args.json) {
      for (const x of r.problems) writeStderr(`${x.kind}: ${p(x.path)}: ${p(x.detail)}\n`);
      for (const n of r.notes) warn(n);
    }
    // Damaged or missing objects of the current sources are written again by a rebuild (see README, "Repairing a store").
    // A damaged manifest too: a rebuild writes a new run, and prune drops the damaged one.
    const repairable = r.problems.some((x) => x.kind === "mismatch" || x.kind === "missing" || x.kind === "unreadable" || x.kind === "pointer" || x.kind === "manifest");
    // A directory where a file goes (an object, the current-run pointer), or a file where a directory
    // goes (`.pkg`, `runs/`): a rebuild cannot write over it, and stops naming it.
    const inTheWay = r.problems.some((x) => /EISDIR|ENOTDIR|out of the way/.test(x.detail));
    throw new AgError(`store ${ws.profileDir} failed verification: ${r.problems.length} problem(s) in ${r.runs} run(s), ${r.objects} object(s)`, {
      exitCode: ExitCode.verify, code: "verify_failed", details: { profile_dir: ws.profileDir, ...r },
      hint: inTheWay
        ? "move each file or directory named above out of the way (the store never puts one there), then run 'auditgraph rebuild' to write what is missing"
        : repairable
        ? "'auditgraph rebuild' writes a new current run, rewriting the damaged or missing objects it needs from the sources; 'auditgraph runs prune' then drops older runs that still name damaged ones"
        : "move or delete what is not part of the store (each problem names it), then run 'auditgraph verify' again",
    });
  },
});

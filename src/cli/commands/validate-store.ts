import { defineCommand } from "../define.ts";
import { jsonArgs, withStore, withWorkspace, workspaceArgs } from "./_args.ts";
import { printable as p, printJson, printLine, warn } from "../output.ts";
import { AgError, ExitCode } from "../../shared/errors.ts";
import type { Detector } from "../../config/schema.ts";
import type { Found } from "../../store/rescan.ts";

/**
 * A finder over one text with the given detectors: which detectors would change it, and on which
 * lines (a detector whose match spans lines is placed at the first line it changes). Texts the
 * detectors leave alone cost one pass.
 */
async function secretFinder(detectors: readonly Detector[]): Promise<(text: string) => Found[]> {
  const { makeRedactor } = await import("../../pipeline/text.ts");
  const all = makeRedactor({ enabled: true, detectors });
  const each = detectors.map((d) => [d, makeRedactor({ enabled: true, detectors: [d] })] as const);
  return (text) => {
    if (all(text) === text) return [];
    const out: Found[] = [];
    const lines = text.split("\n");
    for (const [kind, redact] of each) {
      const whole = redact(text);
      if (whole === text) continue;
      const before = out.length;
      lines.forEach((l, i) => { if (redact(l) !== l) out.push({ line: i + 1, kind }); });
      if (out.length === before) {
        let at = 0;
        while (at < text.length && text[at] === whole[at]) at++;
        out.push({ line: text.slice(0, at).split("\n").length, kind });
      }
    }
    return out.sort((a, b) => a.line - b.line || (a.kind < b.kind ? -1 : 1));
  };
}

export default defineCommand({
  meta: { name: "validate-store", description: "Re-scan the stored texts, titles, commit subjects and author names with the current redaction detectors; exit 5 if any holds something they would redact" },
  args: {
    "all-runs": { type: "boolean", description: "Scan every run this binary can read, not only the current one" },
    ...workspaceArgs,
    ...jsonArgs,
  },
  async run({ args }) {
    const { DETECTORS } = await import("../../config/schema.ts");
    const { readManifest } = await import("../../store/manifest.ts");
    let ws;
    let runs: { runId: string; manifest: import("../../store/manifest.ts").Manifest }[] = [];
    const skipped: { run_id: string; reason: string }[] = [];
    if (args["all-runs"]) {
      // Every run directory; one this binary cannot read is skipped with its reason (as `runs list` shows it).
      ws = await withWorkspace(args);
      const { listRuns } = await import("../../store/runs.ts");
      for (const r of listRuns(ws.profileDir)) {
        const m = r.readable ? readManifest(ws.profileDir, r.run_id) : undefined;
        if (m?.ok) runs.push({ runId: r.run_id, manifest: m.manifest });
        else skipped.push({ run_id: r.run_id, reason: r.problem ?? `schema ${r.schema_version} is not readable by this binary` });
      }
      if (runs.length === 0 && skipped.length === 0) {
        throw new AgError(`no run in ${ws.profileDir} yet`, { exitCode: ExitCode.usage, code: "no_run", hint: "run 'auditgraph ingest' first" });
      }
    } else {
      const s = await withStore(args);
      ws = s.ws;
      runs = [{ runId: s.store.runId, manifest: s.store.manifest }];
    }
    for (const s of skipped) warn(`run ${s.run_id} not scanned: ${s.reason}`);
    // The workspace's detectors; with redaction off, every built-in detector (a scan for secrets should not find nothing because redaction is off).
    const detectors: Detector[] = ws.redaction.enabled ? ws.redaction.detectors : [...DETECTORS];
    if (!ws.redaction.enabled) warn("redaction is disabled in the config: scanning with every built-in detector");
    const { placeText, rescanRuns } = await import("../../store/rescan.ts");
    const { GIT_ARTIFACT, gitStrings } = await import("../../git/graph.ts");
    const r = rescanRuns(ws.profileDir, runs, await secretFinder(detectors), {
      artifactStrings: (name, value) => (name === GIT_ARTIFACT ? gitStrings(value) : undefined),
    });
    const report = { profile_dir: ws.profileDir, detectors, runs: r.runs, skipped_runs: skipped, objects: r.objects, texts: r.texts, strings: r.strings, bytes: r.bytes, findings: r.findings };
    const scanned = `${r.runs.length} run(s), ${r.texts} text(s), ${r.strings} other string(s), ${r.bytes} bytes`;
    if (r.findings.length === 0) {
      if (args.json) return printJson({ status: "ok", ...report });
      return printLine(`store ${p(ws.profileDir)}: no stored text holds anything the current detectors would redact (${scanned}; detectors: ${detectors.join(", ")})`);
    }
    const dirty = [...new Set(r.findings.map((f) => f.run_id))];
    if (!args.json) for (const f of r.findings) printLine(`${f.run_id}  ${p(placeText(f))}  ${f.kind}`);
    const { readPointer } = await import("../../store/manifest.ts");
    const currentDirty = dirty.includes(readPointer(ws.profileDir) ?? "");
    throw new AgError(
      `${r.findings.length} stored line(s) or field(s) in ${dirty.length} run(s) hold something the current detectors would redact (${scanned})`,
      {
        exitCode: ExitCode.verify, code: "secrets_found", details: report,
        // With redaction off a rebuild stores the same again: the way out starts in the config.
        hint: !ws.redaction.enabled
          ? "redaction is disabled in the config (security.redaction.enabled: false), so a rebuild would store them again: enable it, then run 'auditgraph rebuild' and 'auditgraph runs prune --keep 1'"
          : currentDirty
          ? "run 'auditgraph rebuild' to write a new run redacted with the current detectors, then 'auditgraph runs prune --keep 1' to delete the runs that hold them"
          : "the current run is clean: 'auditgraph runs prune --keep 1' deletes the older runs that hold them (after 'auditgraph rebuild' if you want a fresh run first)",
      },
    );
  },
});

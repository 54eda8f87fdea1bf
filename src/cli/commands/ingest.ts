import { existsSync } from "node:fs";
import { defineCommand } from "../define.ts";
import { HUGE_PAGES_MAX_SHARDS, jsonArgs, unreadableDirWarning, withWorkspace, workspaceArgs } from "./_args.ts";
import { setHugePages } from "../../shared/hugepages.ts";
import { pointerPath } from "../../store/layout.ts";
import { isTTY, printable as p, printJson, printLine, warn, writeStderr } from "../output.ts";

/** A record's warning without its line ("1: message" → "message"). */
const warningText = (w: string) => w.slice(w.indexOf(": ") + 2);

export default defineCommand({
  meta: { name: "ingest", description: "Scan, normalize, redact, parse, chunk, extract, link and index the workspace into a new run" },
  args: { ...workspaceArgs, ...jsonArgs },
  async run({ args }) {
    const ws = await withWorkspace(args);
    // An ingest with a previous run is usually short and reuses most of it: huge pages make its
    // first-touch memory cheap (src/shared/hugepages.ts). One that rebuilds more than a couple of
    // shards allocates and frees too much for them (it got slower): ordinary pages again.
    const huge = existsSync(pointerPath(ws.profileDir)) && setHugePages(true);
    const onBuild = huge ? (shards: number) => { if (shards > HUGE_PAGES_MAX_SHARDS) setHugePages(false); } : undefined;
    const { ingest } = await import("../../pipeline/ingest.ts");
    const tty = isTTY(2);
    let last = 0;
    const onProgress = tty ? (done: number, total: number) => {
      const now = performance.now();
      if (now - last < 100 && done < total) return;
      last = now;
      writeStderr(`\ringest: ${done}/${total} files`);
      if (done === total) writeStderr("\n");
    } : undefined;
    const { plan, budget, budgetWarning, cacheWarning } = await ingest(ws, { onProgress, onBuild });
    if (budgetWarning) warn(budgetWarning);
    if (cacheWarning) warn(cacheWarning);
    const m = plan.manifest;
    // A skipped document's record holds why, beside its reason (the record's one "warning").
    const skipped = m.files.filter((f) => f.status === "skipped").map((f) => ({ path: f.path, reason: f.reason, ...(f.warnings?.length ? { detail: f.warnings.map(warningText).join("; ") } : {}) }));
    // Problems in ingested files (recorded in the manifest): "line: message" → path:line: message.
    const warnings = m.files.filter((f) => f.status === "ok").flatMap((f) => (f.warnings ?? []).map((w) => {
      const at = w.indexOf(": ");
      return { path: f.path, line: Number(w.slice(0, at)) || 1, message: w.slice(at + 2) };
    }));
    const SHOWN = 20;
    for (const w of warnings.slice(0, SHOWN)) warn(`${w.path}:${w.line}: ${w.message}`);
    if (warnings.length > SHOWN) warn(`${warnings.length - SHOWN} more file warning(s): see 'auditgraph runs show ${plan.runId} --json'`);
    // A directory that cannot be listed (recorded as skipped under its own path): its files are unknown.
    for (const f of m.files) if (f.reason === "unreadable_directory") warn(unreadableDirWarning(f.path));
    // Problems of the run itself (git provenance: a repository left out or read partly), one line each.
    for (const w of m.warnings ?? []) warn(w);
    const written = plan.unchanged ? 0 : plan.newObjects.reduce((s, o) => s + o.bytes, 0) + Buffer.byteLength(plan.manifestText);
    const repaired = plan.newObjects.filter((o) => o.repair).length;
    if (args.json) {
      return printJson({
        status: "ok", run_id: plan.runId, profile: ws.profileName, unchanged: plan.unchanged, counts: m.counts,
        processed: plan.processed, reused: plan.reused, new_objects: plan.newObjects.length, repaired_objects: repaired, written_bytes: written, skipped, warnings, budget,
        ...(m.warnings?.length ? { run_warnings: m.warnings } : {}),
      });
    }
    const c = m.counts;
    printLine(`${plan.unchanged ? "unchanged" : "ingested"} run ${plan.runId} (profile ${p(ws.profileName)})`);
    printLine(`  files ${c.files}: ${c.ok} ok, ${c.skipped} skipped; ${plan.processed} parsed, ${plan.reused} reused`);
    printLine(`  ${c.chunks} chunks, ${c.nodes} nodes, ${c.edges} edges; ${plan.newObjects.length} new objects${repaired ? ` (${repaired} replacing a damaged copy)` : ""}, ${written} bytes written`);
    const reasons = new Map<string, number>();
    for (const s of skipped) reasons.set(s.reason ?? "?", (reasons.get(s.reason ?? "?") ?? 0) + 1);
    if (reasons.size) printLine(`  skipped: ${[...reasons].map(([r, n]) => `${n} ${p(r)}`).join(", ")} (see 'auditgraph runs show ${plan.runId}')`);
  },
});

/**
 * Listing runs for people: every run directory with what its manifest says (or why it cannot be
 * read), whether this binary can read it, and when it finished according to runs.log. Order is the
 * order runs finished (runs.log's times, else the manifest's modification time), never the sort
 * order of run ids.
 */
import { readdirSync, statSync } from "node:fs";
import { decideCompat } from "../policy/compat.ts";
import { manifestPath, runsDir } from "./layout.ts";
import { pointerState, readManifest } from "./manifest.ts";
import { readRunLog, unfinishedRuns } from "./run-log.ts";
import { isLeftoverRunDir } from "./sweep.ts";

export type RunSummary = {
  run_id: string;
  current: boolean;
  schema_version: string;
  readable: boolean;
  finished_at?: string;
  counts?: Record<string, number>;
  problem?: string;
};

/**
 * Every run directory (not what a killed writer left without a manifest: see store/sweep.ts) and the
 * run the pointer names. A pointer that cannot be read marks no run as current (verify reports it).
 */
export function listRuns(profileDir: string): RunSummary[] {
  let ids: string[] = [];
  const pointer = pointerState(profileDir);
  const current = pointer.state === "ok" ? pointer.runId : undefined;
  const runLog = readRunLog(profileDir);
  // What a killed writer left (no manifest, or a manifest that never became current) is not a run.
  const unfinished = unfinishedRuns(runLog, pointer);
  try { ids = readdirSync(runsDir(profileDir)).filter((n) => !n.startsWith(".") && (pointer.state === "bad" || (!isLeftoverRunDir(profileDir, n, current) && !unfinished.has(n)))); } catch {}
  if (current && !ids.includes(current)) ids.push(current);
  const log = runLog.finished;
  // The order runs finished: runs.log's lines. A run the log does not name (a writer killed between
  // the pointer and the log, or a log deleted) is placed by its manifest's modification time (written
  // just before), after the logged runs that finished no later; it ranked after every other, newest
  // for ever, and prune kept it.
  const order = [...log.keys()];
  const loggedTimes = order.map((id) => Date.parse(log.get(id)!));
  const place = new Map<string, number>();
  const mtime = new Map<string, number>();
  for (const id of ids) {
    const i = order.indexOf(id);
    if (i >= 0) { place.set(id, i); continue; }
    let t = Infinity;
    try { t = statSync(manifestPath(profileDir, id)).mtimeMs; } catch {}
    mtime.set(id, t);
    place.set(id, loggedTimes.filter((x) => x <= t).length - 0.5);
  }
  ids.sort((a, b) => place.get(a)! - place.get(b)! || (mtime.get(a) ?? 0) - (mtime.get(b) ?? 0) || (a < b ? -1 : 1));
  return ids.map((id) => {
    const r = readManifest(profileDir, id);
    const d = decideCompat(r.fact);
    const base = { run_id: id, current: id === current, schema_version: d.store, readable: r.ok && d.compatible, ...(log.has(id) ? { finished_at: log.get(id) } : {}) };
    return r.ok ? { ...base, counts: r.manifest.counts } : { ...base, problem: r.problem };
  });
}

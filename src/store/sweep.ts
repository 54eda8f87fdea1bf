/**
 * What a killed writer leaves behind, and its removal by the next one. Every file a writer creates
 * before renaming it into place has a TEMP_PREFIX name (shared/fs.ts, objects.ts, the staging
 * directories of ingest.ts), and a run's directory is made just before its manifest's temp file: a
 * writer killed before that rename leaves `runs/<id>/` holding only temp files, or nothing. Such a
 * directory is not a run (no manifest was ever written there); unless the pointer names it, the next
 * writer removes it with the temp files.
 *
 * runs.log (store/run-log.ts) covers the last steps: a run whose start line has no finish line and
 * that the pointer does not name was killed between its manifest and its pointer; it never became
 * current and the next writer removes its directory (its objects stay, unreferenced, for the next
 * prune; a later run may reuse them). A current run without a finish line (killed between its
 * pointer and its log line) gets one.
 */
import { lstatSync, readdirSync, rmdirSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { MAX_CACHE_BYTES, TEMP_PREFIX } from "../shared/fs.ts";
import { RUN_ID, runsDir } from "./layout.ts";
import { pointerState } from "./manifest.ts";
import { logCurrentRun, readRunLog, unfinishedRuns } from "./run-log.ts";

/**
 * Whether `runs/<id>/` is what a writer killed before its manifest's rename leaves: no manifest,
 * nothing but temp files (or nothing at all), and not the run the pointer names (`current`).
 */
export function isLeftoverRunDir(profileDir: string, id: string, current: string | undefined): boolean {
  if (!RUN_ID.test(id) || id === current) return false;
  let names: string[];
  try { names = readdirSync(join(runsDir(profileDir), id)); } catch { return false; }
  return names.every((n) => n.startsWith(TEMP_PREFIX));
}

/**
 * Removes temp files, staging directories of spilled objects, run directories left without a
 * manifest (isLeftoverRunDir) and runs that never became current (unfinishedRuns) by a killed
 * writer, and logs a current run runs.log does not finish. Call with the write lock held. With a
 * pointer that cannot be read, no run directory is removed (which one it meant is unknown). Returns
 * how many entries were removed.
 */
export function sweepTemp(profileDir: string): number {
  let n = 0;
  const walk = (dir: string, depth: number) => {
    let ents;
    try { ents = readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of ents) {
      const p = join(dir, e.name);
      if (e.isDirectory() && e.name.startsWith(TEMP_PREFIX)) { try { rmSync(p, { recursive: true, force: true }); n++; } catch {} }
      else if (e.isDirectory()) { if (depth < 2) walk(p, depth + 1); }
      else if (e.name.startsWith(TEMP_PREFIX)) { try { unlinkSync(p); n++; } catch {} }
    }
  };
  walk(profileDir, 0);
  const pointer = pointerState(profileDir);
  if (pointer.state === "bad") return n;
  const current = pointer.state === "ok" ? pointer.runId : undefined;
  let ids: string[] = [];
  try { ids = readdirSync(runsDir(profileDir)); } catch {}
  for (const id of ids) {
    if (!isLeftoverRunDir(profileDir, id, current)) continue;
    // Empty by now (its temp files went above); rmdir removes nothing else if that changed.
    try { rmdirSync(join(runsDir(profileDir), id)); n++; } catch {}
  }
  const log = readRunLog(profileDir);
  for (const id of unfinishedRuns(log, pointer)) {
    if (!ids.includes(id)) continue;
    try { rmSync(join(runsDir(profileDir), id), { recursive: true }); n++; } catch {}
  }
  // Best effort: a runs.log that cannot be written fails the run's own append, with its message.
  try { logCurrentRun(profileDir, log, current); } catch {}
  return n;
}

/**
 * Removes the files in the profile's cache/ directory larger than MAX_CACHE_BYTES: every reader
 * ignores them (they can only be damage, and are made again), but the disk budget counts their size,
 * so a damaged cache of gigabytes would otherwise block every write. Called by ingest, under the
 * lock, before it measures the store.
 */
export function dropOversizedCaches(profileDir: string): void {
  const dir = join(profileDir, "cache");
  let names: string[];
  try { names = readdirSync(dir); } catch { return; }
  for (const name of names) {
    const p = join(dir, name);
    try {
      const st = lstatSync(p);
      if (st.isFile() && st.size > MAX_CACHE_BYTES) unlinkSync(p);
    } catch { /* gone meanwhile, or not ours to remove: the budget says so */ }
  }
}

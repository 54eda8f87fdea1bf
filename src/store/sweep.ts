/**
 * What a killed writer leaves behind, and its removal by the next one. Every file a writer creates
 * before renaming it into place has a TEMP_PREFIX name (shared/fs.ts, objects.ts, the staging
 * directories of ingest.ts), and a run's directory is made just before its manifest's temp file: a
 * writer killed before that rename leaves `runs/<id>/` holding only temp files, or nothing. Such a
 * directory is not a run (no manifest was ever written there); unless the pointer names it, the next
 * writer removes it with the temp files.
 */
import { lstatSync, readdirSync, rmdirSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { TEMP_PREFIX } from "../shared/fs.ts";
import { RUN_ID, runsDir } from "./layout.ts";
import { pointerState } from "./manifest.ts";

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
 * Removes temp files, staging directories of spilled objects, and run directories left without a
 * manifest (isLeftoverRunDir) by a killed writer. Call with the write lock held. With a pointer that
 * cannot be read, no run directory is removed (which one it meant is unknown). Returns how many
 * entries were removed.
 */
export function sweepTemp(profileDir: string): number {
  return sweep(profileDir, false).removed;
}

/**
 * sweepTemp and measureUsage (usage.ts) of the profile directory in one walk: what the sweep leaves,
 * counted as measureUsage counts it (every file's lstat size, at any depth). An ingest does both
 * before it plans; two walks read every fan-out directory of the store twice.
 */
export function sweepTempAndMeasure(profileDir: string): { removed: number; usageBytes: number } {
  return sweep(profileDir, true);
}

function sweep(profileDir: string, measure: boolean): { removed: number; usageBytes: number } {
  let n = 0;
  let bytes = 0;
  const walk = (dir: string, depth: number) => {
    let ents;
    try { ents = readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of ents) {
      const p = join(dir, e.name);
      const temp = depth <= 2 && e.name.startsWith(TEMP_PREFIX);
      // A file system that does not say an entry's type: lstat says it (as measureUsage's lstat did).
      let isDir = e.isDirectory();
      if (!isDir && !e.isFile() && !e.isSymbolicLink()) { try { isDir = lstatSync(p).isDirectory(); } catch {} }
      if (isDir && temp) { try { rmSync(p, { recursive: true, force: true }); n++; continue; } catch {} }
      else if (!isDir && temp) { try { unlinkSync(p); n++; continue; } catch {} }
      // What stays (a temp entry that could not be removed too) is what the usage counts.
      if (isDir) { if (depth < 2 || measure) walk(p, depth + 1); }
      else if (measure) { try { bytes += lstatSync(p).size; } catch {} }
    }
  };
  walk(profileDir, 0);
  const pointer = pointerState(profileDir);
  if (pointer.state === "bad") return { removed: n, usageBytes: bytes };
  const current = pointer.state === "ok" ? pointer.runId : undefined;
  let ids: string[] = [];
  try { ids = readdirSync(runsDir(profileDir)); } catch {}
  for (const id of ids) {
    if (!isLeftoverRunDir(profileDir, id, current)) continue;
    // Empty by now (its temp files went above); rmdir removes nothing else if that changed.
    try { rmdirSync(join(runsDir(profileDir), id)); n++; } catch {}
  }
  return { removed: n, usageBytes: bytes };
}

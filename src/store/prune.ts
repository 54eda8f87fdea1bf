/**
 * Retention: `runs prune --keep N` keeps the N most recent runs (in the order `runs list` shows,
 * the order runs finished) plus the current run whatever its age, and deletes the other runs and
 * every object no kept run references. It is the only code that deletes derived artifacts.
 *
 * Objects are deleted only when every kept run's manifest is readable by this binary: an
 * unreadable or other-version manifest may reference objects in ways this binary cannot see, so
 * then only the old runs' manifests go. Runs are deleted before objects, so an interrupted prune
 * leaves unreferenced objects (deleted by the next prune), never a run with missing objects.
 * Like every writer, a prune first sweeps what a killed writer left (store/sweep.ts).
 */
import { readdirSync, rmdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { objectPath, objectsDir, runsDir, SHA256 } from "./layout.ts";
import { readManifest, readPointer } from "./manifest.ts";
import { listRuns } from "./runs.ts";
import { measureUsage } from "./usage.ts";
import { decideCompat } from "../policy/compat.ts";

export type PrunePlan = {
  kept: string[];
  current: string | null;
  removed_runs: { run_id: string; bytes: number }[];
  removed_objects: number;
  freed_bytes: number;
  /** Why objects were left in place, when they were. */
  objects_kept_because?: string;
  /** The objects to delete (not printed). */
  objects: string[];
};

const list = (dir: string) => { try { return readdirSync(dir); } catch { return []; } };

export function planPrune(profileDir: string, keep: number): PrunePlan {
  // Which run must be kept whatever its age is known only from a readable pointer: a damaged one
  // stops the prune (exit 5) before anything is planned.
  readPointer(profileDir);
  const runs = listRuns(profileDir);
  const current = runs.find((r) => r.current)?.run_id ?? null;
  const keepSet = new Set(runs.slice(Math.max(0, runs.length - keep)).map((r) => r.run_id));
  if (current) keepSet.add(current);
  const removed = runs.filter((r) => !keepSet.has(r.run_id))
    .map((r) => ({ run_id: r.run_id, bytes: measureUsage(join(runsDir(profileDir), r.run_id)) }));

  const referenced = new Set<string>();
  let blocker: string | undefined;
  for (const id of keepSet) {
    const r = readManifest(profileDir, id);
    if (!r.ok || !decideCompat(r.fact).compatible) { blocker ??= `kept run ${id} is not readable by this binary`; continue; }
    for (const a of r.manifest.artifacts) referenced.add(a.sha256);
  }
  const objects: string[] = [];
  let objectBytes = 0;
  if (!blocker) {
    for (const sub of list(objectsDir(profileDir))) {
      for (const name of list(join(objectsDir(profileDir), sub))) {
        if (!SHA256.test(name) || referenced.has(name)) continue;
        objects.push(name);
        objectBytes += statSync(objectPath(profileDir, name)).size;
      }
    }
  }
  return {
    kept: runs.filter((r) => keepSet.has(r.run_id)).map((r) => r.run_id),
    current,
    removed_runs: removed,
    removed_objects: objects.length,
    freed_bytes: removed.reduce((s, r) => s + r.bytes, 0) + objectBytes,
    ...(blocker && removed.length ? { objects_kept_because: blocker } : {}),
    objects,
  };
}

/** Deletes what the plan names: run directories first, then objects, then object directories left empty. */
export function applyPrune(profileDir: string, plan: PrunePlan): void {
  for (const r of plan.removed_runs) rmSync(join(runsDir(profileDir), r.run_id), { recursive: true, force: true });
  for (const sha of plan.objects) rmSync(objectPath(profileDir, sha), { force: true });
  for (const d of new Set(plan.objects.map((sha) => dirname(objectPath(profileDir, sha))))) {
    try { rmdirSync(d); } catch { /* still holds objects */ }
  }
}

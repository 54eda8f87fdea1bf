/**
 * Gathering the budget's facts from disk for the `budget` command and the export check (it never
 * writes); the decision itself is policy/budget.ts. Usage is every byte under the profile directory, whatever wrote it.
 */
import type { Workspace } from "../config/load.ts";
import { checkIncludes, scan } from "./scan.ts";
import { readCurrentManifest } from "../store/manifest.ts";
import type { OpenStore } from "../store/open.ts";
import { measureUsage } from "../store/usage.ts";
import { checkProfile } from "../store/layout.ts";
import { budgetGate, evaluateBudget, ingestedBytes, type Budget } from "../policy/budget.ts";

/**
 * The figures right now: source bytes of the current run (or, when there is no readable current
 * run, of the files a scan of the workspace finds), usage as measured, nothing added.
 */
export function currentBudget(ws: Workspace): { budget: Budget; source: string } {
  checkProfile(ws.profileDir);
  const current = readCurrentManifest(ws.profileDir);
  const fromRun = current.state === "ok";
  if (!fromRun) checkIncludes(ws);
  const sourceBytes = fromRun
    ? ingestedBytes(current.manifest.files)
    : scan(ws.root, ws.profile).reduce((s, f) => s + (f.skip ? 0 : f.bytes), 0);
  const budget = evaluateBudget({ sourceBytes, usageBytes: measureUsage(ws.profileDir), additionalBytes: 0 }, ws.budget);
  return { budget, source: fromRun ? `current run ${current.runId}` : "workspace scan (no readable current run)" };
}

/**
 * The gate of an export about to write `bytes` to a target of store/exports.ts exportTarget. It is
 * checked against the profile's artifact directory wherever the file goes; it adds to usage only
 * when it lands inside that directory (minus the file it replaces, which is already counted).
 */
export function exportBudgetGate(ws: Workspace, store: OpenStore, out: { inProfile: boolean; replaced: number }, bytes: number) {
  const additionalBytes = out.inProfile ? Math.max(0, bytes - out.replaced) : 0;
  return budgetGate(
    { sourceBytes: ingestedBytes(store.manifest.files), usageBytes: measureUsage(ws.profileDir), additionalBytes },
    ws.budget,
    ws.profileDir,
  );
}

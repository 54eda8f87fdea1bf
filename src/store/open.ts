/**
 * Opening a store for reading: the compatibility gate every read command goes through. An
 * incompatible store (different major, newer, missing/unreadable manifest) is exit 3 with the one
 * message from policy/compat; an empty store is a usage error telling how to fill it.
 */
import { existsSync, readdirSync } from "node:fs";
import { decideCompat, incompatMessage, type CompatDecision, type StoreSchemaFact } from "../policy/compat.ts";
import { AgError, clip, ExitCode } from "../shared/errors.ts";
import type { Workspace } from "../config/load.ts";
import { checkProfile, manifestPath, RUN_ID, runsDir } from "./layout.ts";
import { readCurrentManifest, readManifest, type CurrentRun, type Manifest } from "./manifest.ts";

export function compatGate(profileDir: string, opts: { lazyFiles?: boolean } = {}): { current: CurrentRun; decision: CompatDecision } {
  checkProfile(profileDir); // `.pkg`, the profile's directory or its runs/ a file, the pointer a directory: exit 5 naming it
  const current = readCurrentManifest(profileDir, opts);
  const decision = decideCompat(current.state === "empty" ? pointerlessFact(profileDir) : current.fact);
  if (!decision.compatible) {
    throw new AgError(incompatMessage(decision, profileDir), { exitCode: ExitCode.rebuild, code: "rebuild_required", details: { store_schema: decision.store, binary_schema: decision.binary } });
  }
  return { current, decision };
}

/**
 * No pointer yet: a run directory holding a manifest this binary cannot read (another version's,
 * or a damaged one) still makes the store incompatible. Directories without a manifest are what a
 * writer killed before its manifest leaves; they are not runs.
 */
function pointerlessFact(profileDir: string): StoreSchemaFact {
  let ids: string[] = [];
  try { ids = readdirSync(runsDir(profileDir)).filter((n) => !n.startsWith(".")).sort(); } catch {}
  for (const id of ids) {
    if (!existsSync(manifestPath(profileDir, id))) continue;
    const { fact } = readManifest(profileDir, id);
    if (!decideCompat(fact).compatible) return fact;
  }
  return { kind: "empty" };
}

export type OpenStore = { profileDir: string; runId: string; manifest: Manifest };

/** The current run for a read command (its file list is parsed only if asked for). */
export function openStore(ws: Workspace): OpenStore {
  const { current } = compatGate(ws.profileDir, { lazyFiles: true });
  if (current.state === "empty") {
    throw new AgError(`no run in ${ws.profileDir} yet`, { exitCode: ExitCode.usage, code: "no_run", hint: "run 'auditgraph ingest' first" });
  }
  if (current.state === "broken") {
    throw new AgError(current.problem, { exitCode: ExitCode.verify, code: "manifest_invalid", hint: "run 'auditgraph verify' for a full report, or 'auditgraph rebuild'" });
  }
  return { profileDir: ws.profileDir, runId: current.runId, manifest: current.manifest };
}

/** One run's manifest for a read command: unknown run → exit 2, unreadable manifest → exit 5. */
export function openRun(profileDir: string, runId: string): Manifest {
  const r = readManifest(profileDir, runId);
  if (r.ok) return r.manifest;
  const missing = r.fact.kind === "missing" || !RUN_ID.test(runId);
  throw new AgError(missing ? `run '${clip(runId)}' not found in ${profileDir}` : r.problem, {
    exitCode: missing ? ExitCode.usage : ExitCode.verify, code: missing ? "not_found" : "manifest_invalid", hint: "list runs with 'auditgraph runs list'",
  });
}

/**
 * Store verification: re-hash every object, check every manifest's artifacts against the objects
 * (present, same sha256, same size), check the pointer, and report anything that does not belong
 * to the layout. Leftover temp files (and staging directories of spilled objects) of a killed writer
 * and complete objects no run references yet are notes, not failures (the next ingest sweeps or
 * reuses them).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { sha256Hex } from "../shared/hash.ts";
import { TEMP_PREFIX } from "../shared/fs.ts";
import { objectPath, objectsDir, pointerPath, RUN_ID, runsDir, SHA256 } from "./layout.ts";
import { readManifest, readPointer } from "./manifest.ts";
import { checkSegment } from "./segment.ts";
import { decideCompat } from "../policy/compat.ts";

export type Problem = { kind: "mismatch" | "missing" | "extra" | "manifest" | "pointer"; path: string; detail: string };
export type VerifyReport = { ok: boolean; runs: number; objects: number; problems: Problem[]; notes: string[] };

const KNOWN_TOP = new Set(["current", "runs", "objects", "runs.log", "cache", "exports"]);

const list = (dir: string): string[] => { try { return readdirSync(dir).sort(); } catch { return []; } };

export function verifyStore(profileDir: string): VerifyReport {
  const problems: Problem[] = [];
  const notes: string[] = [];
  // A temp name at the top is a file or the staging directory of a run's spilled objects (ingest.ts).
  const temp = (p: string, name: string) => {
    if (!name.startsWith(TEMP_PREFIX)) return false;
    let dir = false;
    try { dir = statSync(p).isDirectory(); } catch {}
    notes.push(`leftover temp ${dir ? "directory" : "file"} ${p} (removed by the next ingest)`);
    return true;
  };

  for (const name of list(profileDir)) {
    if (!KNOWN_TOP.has(name) && !temp(join(profileDir, name), name)) problems.push({ kind: "extra", path: join(profileDir, name), detail: "not part of the store layout" });
  }
  // Objects: the name must be the sha256 of the bytes.
  const hashes = new Set<string>();
  for (const sub of list(objectsDir(profileDir))) {
    const dir = join(objectsDir(profileDir), sub);
    if (!/^[0-9a-f]{2}$/.test(sub) || !statSync(dir).isDirectory()) { problems.push({ kind: "extra", path: dir, detail: "not an object directory" }); continue; }
    for (const name of list(dir)) {
      const p = join(dir, name);
      if (temp(p, name)) continue;
      if (!SHA256.test(name) || name.slice(0, 2) !== sub) { problems.push({ kind: "extra", path: p, detail: "not an object name" }); continue; }
      const actual = sha256Hex(readFileSync(p));
      if (actual !== name) problems.push({ kind: "mismatch", path: p, detail: `content hashes to ${actual}` });
      else hashes.add(name);
    }
  }
  // Runs: each directory holds exactly a valid manifest whose artifacts exist with the right size.
  const referenced = new Set<string>();
  const checked = new Set<string>();
  const runIds = list(runsDir(profileDir));
  for (const id of runIds) {
    const dir = join(runsDir(profileDir), id);
    if (!RUN_ID.test(id)) { problems.push({ kind: "extra", path: dir, detail: "not a run directory" }); continue; }
    for (const name of list(dir)) {
      if (name !== "manifest.json" && !temp(join(dir, name), name)) problems.push({ kind: "extra", path: join(dir, name), detail: "not part of a run" });
    }
    const r = readManifest(profileDir, id);
    if (!r.ok) { problems.push({ kind: "manifest", path: join(dir, "manifest.json"), detail: r.problem }); continue; }
    if (r.manifest.run_id !== id) problems.push({ kind: "manifest", path: join(dir, "manifest.json"), detail: `names run ${r.manifest.run_id}` });
    const readable = decideCompat(r.fact).compatible;
    for (const a of r.manifest.artifacts) {
      referenced.add(a.sha256);
      const p = objectPath(profileDir, a.sha256);
      if (!hashes.has(a.sha256)) {
        let exists = true;
        try { statSync(p); } catch { exists = false; }
        if (!exists) problems.push({ kind: "missing", path: p, detail: `artifact ${a.name} of ${id}` });
        continue;
      }
      const size = statSync(p).size;
      if (size !== a.bytes) { problems.push({ kind: "mismatch", path: p, detail: `artifact ${a.name} of ${id}: ${size} bytes, manifest says ${a.bytes}` }); continue; }
      // An index or text segment of a run this binary reads is also read block by block (once per object).
      if (readable && !checked.has(a.sha256) && /^(index|text)\//.test(a.name)) {
        checked.add(a.sha256);
        const why = checkSegment(p);
        if (why) problems.push({ kind: "mismatch", path: p, detail: `artifact ${a.name} of ${id} is not a readable segment: ${why}` });
      }
    }
  }
  const pointer = readPointer(profileDir);
  if (pointer !== undefined && !runIds.includes(pointer)) problems.push({ kind: "pointer", path: pointerPath(profileDir), detail: `names run '${pointer}', which does not exist` });
  if (pointer === undefined && runIds.length > 0) notes.push("no current-run pointer: no run has completed yet");
  const unref = [...hashes].filter((h) => !referenced.has(h)).length;
  if (unref) notes.push(`${unref} object(s) not referenced by any run (left by an interrupted run; reused or pruned later)`);
  return { ok: problems.length === 0, runs: runIds.length, objects: hashes.size, problems, notes };
}

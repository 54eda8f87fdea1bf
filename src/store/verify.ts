/**
 * Store verification: re-hash every object, check every manifest's artifacts against the objects
 * (present, same sha256, same size, and for a segment the kind and shard its name says), check the
 * pointer, and report anything that does not belong to the layout or cannot be read. Leftover temp
 * files (and staging directories of spilled objects, and run directories holding nothing else) of a
 * killed writer and complete objects no run references yet are notes, not failures (the next
 * ingest sweeps or reuses them). Nothing it meets on disk makes it throw: a file or directory that
 * cannot be read is a problem of kind `unreadable`.
 */
import { lstatSync, readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { sha256Hex } from "../shared/hash.ts";
import { TEMP_PREFIX, readRegular } from "../shared/fs.ts";
import { manifestPath, notADirectory, objectPath, objectsDir, pointerPath, profileDirs, RUN_ID, runLogPath, runsDir, SHA256 } from "./layout.ts";
import { MAX_POINTER_BYTES, outputsHash, pointerState, readManifest, type Manifest } from "./manifest.ts";
import { ARTIFACT_SCHEMA_VERSION } from "../schema/version.ts";
import { artifactMismatch, checkSegment, type SegmentHeader } from "./segment.ts";
import { readRunLog, unfinishedRuns } from "./run-log.ts";
import { isLeftoverRunDir } from "./sweep.ts";
import { decideCompat } from "../policy/compat.ts";

export type Problem = { kind: "mismatch" | "missing" | "extra" | "manifest" | "pointer" | "unreadable"; path: string; detail: string };
export type VerifyReport = { ok: boolean; runs: number; objects: number; problems: Problem[]; notes: string[] };

const KNOWN_TOP = new Set(["current", "runs", "objects", "runs.log", "cache", "exports"]);

const errCode = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;
const absent = (e: unknown) => { const c = (e as NodeJS.ErrnoException).code; return c === "ENOENT" || c === "ENOTDIR"; };

/**
 * Where a manifest disagrees with itself (an edit, a bad restore): its outputs_hash is the hash of
 * its artifacts as written, its file counts are those of its files, and each shard has both its
 * index and its text segment. A run whose artifacts were emptied otherwise verified, and answered
 * every query with nothing.
 */
function inconsistencies(m: Manifest): string[] {
  const out: string[] = [];
  // Only for this schema: a manifest's parsed artifacts keep only the fields this binary knows, and
  // another version's may hold more (its outputs_hash covers them).
  if (m.schema_version === ARTIFACT_SCHEMA_VERSION && outputsHash(m.artifacts) !== m.outputs_hash) out.push("outputs_hash is not the hash of its artifacts (the manifest was changed)");
  const ok = m.files.filter((f) => f.status === "ok").length;
  const want: Record<string, number> = { files: m.files.length, ok, skipped: m.files.length - ok };
  for (const [k, n] of Object.entries(want)) if (m.counts[k] !== undefined && m.counts[k] !== n) out.push(`counts.${k} is ${m.counts[k]}, but its files say ${n}`);
  const shards = (kind: string) => new Set(m.artifacts.filter((a) => a.name.startsWith(`${kind}/`)).map((a) => a.name.slice(kind.length + 1)));
  const index = shards("index");
  const text = shards("text");
  for (const n of index) if (!text.has(n)) out.push(`artifact index/${n} has no text/${n}`);
  for (const n of text) if (!index.has(n)) out.push(`artifact text/${n} has no index/${n}`);
  if (ok > 0 && index.size === 0) out.push(`${ok} file(s) ingested, but no index artifact`);
  return out;
}

export function verifyStore(profileDir: string): VerifyReport {
  const problems: Problem[] = [];
  const notes: string[] = [];
  const unreadableSeen = new Set<string>();
  const unreadable = (path: string, err: unknown, what: string) => {
    if (unreadableSeen.has(path)) return;
    unreadableSeen.add(path);
    // A dangling symbolic link reads as "no such file": say what it is.
    let link = false;
    try { link = lstatSync(path).isSymbolicLink(); } catch {}
    problems.push({ kind: "unreadable", path, detail: `${what} cannot be read (${errCode(err)}${link && absent(err) ? ": a symbolic link to nothing" : ""})` });
  };
  /** A directory's names, sorted; [] when it does not exist, and a problem when it cannot be read. */
  const list = (dir: string, what: string): string[] => {
    try { return readdirSync(dir).sort(); } catch (e) {
      if (!absent(e)) unreadable(dir, e, what);
      return [];
    }
  };
  // A temp name at the top is a file or the staging directory of a run's spilled objects (ingest.ts).
  const temp = (p: string, name: string) => {
    if (!name.startsWith(TEMP_PREFIX)) return false;
    let dir = false;
    try { dir = statSync(p).isDirectory(); } catch {}
    notes.push(`leftover temp ${dir ? "directory" : "file"} ${p} (removed by the next ingest)`);
    return true;
  };

  // A file where the profile keeps a directory: reading past it would only say its entries are missing.
  for (const d of profileDirs(profileDir)) {
    if (notADirectory([d])) problems.push({ kind: "extra", path: d, detail: `not a directory, where the store keeps its ${basename(d)}/: move it out of the way` });
  }
  for (const name of list(profileDir, "the profile directory")) {
    if (!KNOWN_TOP.has(name) && !temp(join(profileDir, name), name)) problems.push({ kind: "extra", path: join(profileDir, name), detail: "not part of the store layout" });
  }
  // runs.log is appended to by every writer: a directory (or a pipe, a socket) in its place stops them all.
  try {
    if (!lstatSync(runLogPath(profileDir)).isFile()) problems.push({ kind: "extra", path: runLogPath(profileDir), detail: "not a regular file, where the store keeps its run log: move it out of the way" });
  } catch { /* none yet: the next writer makes it */ }
  // Objects: the name must be the sha256 of the bytes.
  const hashes = new Set<string>();
  for (const sub of list(objectsDir(profileDir), "the objects directory")) {
    const dir = join(objectsDir(profileDir), sub);
    let isDir: boolean;
    try { isDir = statSync(dir).isDirectory(); } catch (e) { unreadable(dir, e, "object directory"); continue; }
    if (!/^[0-9a-f]{2}$/.test(sub) || !isDir) { problems.push({ kind: "extra", path: dir, detail: "not an object directory" }); continue; }
    for (const name of list(dir, "object directory")) {
      const p = join(dir, name);
      if (temp(p, name)) continue;
      if (!SHA256.test(name) || name.slice(0, 2) !== sub) { problems.push({ kind: "extra", path: p, detail: "not an object name" }); continue; }
      let bytes: Uint8Array;
      try { bytes = readRegular(p); } catch (e) { unreadable(p, e, "object"); continue; }
      const actual = sha256Hex(bytes);
      if (actual !== name) problems.push({ kind: "mismatch", path: p, detail: `content hashes to ${actual}` });
      else hashes.add(name);
    }
  }
  const pointer = pointerState(profileDir);
  const current = pointer.state === "ok" ? pointer.runId : undefined;
  // Runs: each directory holds exactly a valid manifest whose artifacts exist with the right size.
  const referenced = new Set<string>();
  /** Each segment object's header once it read soundly (null: it did not, reported once). */
  const segments = new Map<string, SegmentHeader | null>();
  const named = new Set<string>();
  const runIds: string[] = [];
  const runLog = readRunLog(profileDir);
  const unfinished = unfinishedRuns(runLog, pointer);
  for (const id of list(runsDir(profileDir), "the runs directory")) {
    const dir = join(runsDir(profileDir), id);
    if (!RUN_ID.test(id)) { problems.push({ kind: "extra", path: dir, detail: "not a run directory" }); continue; }
    // What a writer killed before its manifest's rename leaves (not a run; the next writer removes it).
    if (pointer.state !== "bad" && isLeftoverRunDir(profileDir, id, current)) {
      for (const name of list(dir, "run directory")) temp(join(dir, name), name);
      notes.push(`leftover run directory ${dir} without a manifest (removed by the next ingest)`);
      continue;
    }
    // Its manifest was written, then its writer was killed before the pointer named it (runs.log).
    if (unfinished.has(id)) {
      notes.push(`leftover run ${dir} that never became current (its writer stopped before the pointer; removed by the next ingest)`);
      continue;
    }
    runIds.push(id);
    for (const name of list(dir, "run directory")) {
      if (name !== "manifest.json" && !temp(join(dir, name), name)) problems.push({ kind: "extra", path: join(dir, name), detail: "not part of a run" });
    }
    const r = readManifest(profileDir, id);
    if (!r.ok) { problems.push({ kind: r.fact.kind === "unreadable" && r.fact.reason.startsWith("manifest cannot be read") ? "unreadable" : "manifest", path: manifestPath(profileDir, id), detail: r.problem }); continue; }
    if (r.manifest.run_id !== id) problems.push({ kind: "manifest", path: manifestPath(profileDir, id), detail: `names run ${r.manifest.run_id}` });
    for (const detail of inconsistencies(r.manifest)) problems.push({ kind: "manifest", path: manifestPath(profileDir, id), detail });
    const readable = decideCompat(r.fact).compatible;
    if (!readable) notes.push(`run ${id} has artifact schema ${JSON.stringify(r.manifest.schema_version)}, which this binary (schema ${ARTIFACT_SCHEMA_VERSION}) does not read: its objects were hashed, not read`);
    for (const a of r.manifest.artifacts) {
      referenced.add(a.sha256);
      const p = objectPath(profileDir, a.sha256);
      if (!hashes.has(a.sha256)) {
        // Not a sound object: reported above when it is there (another hash, unreadable), else missing.
        try { statSync(p); } catch (e) {
          if (absent(e)) problems.push({ kind: "missing", path: p, detail: `artifact ${a.name} of ${id}` });
          else unreadable(p, e, "object");
        }
        continue;
      }
      let size: number;
      try { size = statSync(p).size; } catch (e) { unreadable(p, e, "object"); continue; }
      if (size !== a.bytes) { problems.push({ kind: "mismatch", path: p, detail: `artifact ${a.name} of ${id}: ${size} bytes, manifest says ${a.bytes}` }); continue; }
      // An index or text segment of a run this binary reads is also read block by block (once per
      // object), and its header must name the kind and shard of the artifact it is listed as.
      if (readable && /^(index|text)\//.test(a.name)) {
        if (!segments.has(a.sha256)) {
          const r = checkSegment(p);
          segments.set(a.sha256, "header" in r ? r.header : null);
          if ("problem" in r) { problems.push({ kind: "mismatch", path: p, detail: `artifact ${a.name} of ${id} is not a readable segment: ${r.problem}` }); continue; }
        }
        const header = segments.get(a.sha256);
        const key = `${a.name}\0${a.sha256}`;
        if (!header || named.has(key)) continue; // unreadable: reported above
        named.add(key);
        const wrong = artifactMismatch(header, a.name);
        if (wrong) problems.push({ kind: "mismatch", path: p, detail: `${wrong} (run ${id})` });
      }
    }
  }
  if (pointer.state === "bad") problems.push({ kind: "pointer", path: pointerPath(profileDir), detail: pointer.reason });
  else if (current !== undefined && !runIds.includes(current)) problems.push({ kind: "pointer", path: pointerPath(profileDir), detail: `names run '${current}', which does not exist` });
  if (pointer.state === "none" && runIds.length > 0) notes.push("no current-run pointer: no run has completed yet");
  if (current !== undefined && runIds.includes(current) && runLog.started.has(current) && !runLog.finished.has(current)) {
    notes.push(`current run ${current} has no finish line in runs.log (its writer stopped after the pointer; the next ingest adds it)`);
  }
  const unref = [...hashes].filter((h) => !referenced.has(h)).length;
  // A manifest that could not be read names objects this count cannot see: then they are not all leftovers.
  const unreadManifests = problems.some((x) => x.path.endsWith("manifest.json") && (x.kind === "manifest" || x.kind === "unreadable"));
  if (unref) {
    notes.push(unreadManifests
      ? `${unref} object(s) not referenced by any manifest that could be read (some may be the damaged manifests' own; rebuild, then runs prune, sorts them out)`
      : `${unref} object(s) not referenced by any run (left by an interrupted run; reused or pruned later)`);
  }
  return { ok: problems.length === 0, runs: runIds.length, objects: hashes.size, problems, notes };
}

/**
 * What a concurrent writer changes: the pointer, the run directories and runs.log's size (every
 * run appends to it). Equal before and after a verification: no writer ran meanwhile.
 */
export function storeState(profileDir: string): string {
  let pointer = "", runs = "", log = -1;
  try { pointer = readRegular(pointerPath(profileDir), MAX_POINTER_BYTES).toString("utf8"); } catch {} // a longer one is damage (pointerState)
  try { runs = readdirSync(runsDir(profileDir)).sort().join(","); } catch {}
  try { log = statSync(runLogPath(profileDir)).size; } catch {}
  return `${pointer}\0${runs}\0${log}`;
}

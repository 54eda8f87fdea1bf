/**
 * Run manifests and the current-run pointer. A manifest is canonical JSON (sorted keys, 2-space
 * indent, each artifact and file record on one line: manifestText) with no wall-clock time and no
 * absolute path, so the same inputs give the same bytes.
 */
import { closeSync, readSync } from "node:fs";
import { openRegular, readRegular } from "../shared/fs.ts";
import * as v from "valibot";
import { AgError, ExitCode } from "../shared/errors.ts";
import { canonicalJson } from "../shared/json.ts";
import { sha256Hex } from "../shared/hash.ts";
import { quoted, quotedBytes } from "../shared/printable.ts";
import type { StoreSchemaFact } from "../policy/compat.ts";
import { manifestPath, notADirectory, pointerPath, RUN_ID, SHA256, storeDirs } from "./layout.ts";

const sha = v.pipe(v.string(), v.regex(SHA256));
const count = v.pipe(v.number(), v.integer(), v.minValue(0));

export const FileRecordSchema = v.object({
  path: v.string(),
  sha256: v.optional(sha),
  bytes: count,
  status: v.picklist(["ok", "skipped"]),
  reason: v.optional(v.string()),
  /** Problems found in an ingested file that did not stop it (e.g. invalid front matter), as "line: message". */
  warnings: v.optional(v.array(v.string())),
});
export type FileRecord = v.InferOutput<typeof FileRecordSchema>;

export const ArtifactSchema = v.object({ name: v.string(), sha256: sha, bytes: count, counts: v.optional(v.record(v.string(), count)) });
export type Artifact = v.InferOutput<typeof ArtifactSchema>;
/** A manifest's outputs_hash: the sha256 of its artifacts' canonical JSON. */
export const outputsHash = (artifacts: Artifact[]): string => sha256Hex(canonicalJson(artifacts));

export const ManifestSchema = v.object({
  schema_version: v.string(),
  auditgraph_version: v.string(),
  run_id: v.pipe(v.string(), v.regex(RUN_ID)),
  profile: v.string(),
  config_hash: sha,
  inputs_hash: sha,
  outputs_hash: sha,
  counts: v.record(v.string(), count),
  files: v.array(FileRecordSchema),
  artifacts: v.array(ArtifactSchema),
  /** Problems of the run that are not about one file (e.g. a git repository that cannot be read), one line each. */
  warnings: v.optional(v.array(v.string())),
});
export type Manifest = v.InferOutput<typeof ManifestSchema>;

export type PointerState =
  | { state: "none" } // no pointer file: no run has completed yet
  | { state: "ok"; runId: string }
  | { state: "bad"; problem: string; reason: string }; // present but unreadable, or not a run id (problem: the whole message; reason: without the pointer's path)

/** A pointer holds a run id and a newline; one longer than this is not read (it is damaged). */
export const MAX_POINTER_BYTES = 4096;

/**
 * The current-run pointer as found. Only a missing file means "no run yet"; a pointer that cannot
 * be read (a directory, no permission) or that does not hold exactly one run id (surrounding
 * whitespace allowed) is damage, reported with the file's name and, quoted, what it holds.
 */
export function pointerState(profileDir: string): PointerState {
  const p = pointerPath(profileDir);
  const bad = (reason: string): PointerState => ({ state: "bad", reason, problem: `current-run pointer ${p} ${reason}` });
  let bytes: Buffer;
  try { bytes = readRegular(p, MAX_POINTER_BYTES); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { state: "none" };
    if (code === "ETOOBIG") return bad(`does not hold a run id: it is ${(e as { size: number }).size} bytes long`);
    if (code === "EISDIR") return bad("is a directory, not a file: move it out of the way");
    const notDir = code === "ENOTDIR" ? notADirectory(storeDirs(profileDir)) : undefined;
    return bad(`cannot be read (${code ?? (e as Error).message}${notDir ? `: ${notDir} is not a directory` : ""})`);
  }
  const id = bytes.toString("latin1").trim();
  if (RUN_ID.test(id)) return { state: "ok", runId: id };
  return bad(`does not hold a run id: ${bytes.length === 0 ? "it is empty" : `it holds ${quotedBytes(bytes)}`}`);
}

/**
 * The pointer's run id, or undefined when no run was ever completed. A damaged pointer is a
 * verification failure (exit 5) naming it.
 */
export function readPointer(profileDir: string): string | undefined {
  const p = pointerState(profileDir);
  if (p.state === "bad") throw pointerError(p.problem);
  return p.state === "ok" ? p.runId : undefined;
}

export const pointerError = (problem: string) =>
  new AgError(problem, { exitCode: ExitCode.verify, code: "pointer_invalid", hint: "run 'auditgraph verify' for a full report, or 'auditgraph rebuild' to write a new current run" });

export type ManifestRead =
  | { ok: true; manifest: Manifest; fact: StoreSchemaFact }
  | { ok: false; fact: StoreSchemaFact; problem: string };

/**
 * A manifest as written: canonical JSON (keys sorted) indented by two, except that each item of
 * `artifacts` and `files` is one compact line. At 100,000 files the indented records took a fifth
 * more bytes (17.7 MB instead of 14.0), which count against the footprint budget; a line per file
 * still reads and diffs as one. The same manifest always gives the same bytes. Readers parse it
 * as JSON, so a manifest indented throughout (as written before) reads the same.
 */
export function manifestText(m: Manifest, fileLines?: string[]): string {
  if (fileLines && fileLines.length !== m.files.length) throw new Error("manifestText: fileLines are not the manifest's files");
  const body = Object.keys(m).sort().flatMap((k) => {
    const value = (m as Record<string, unknown>)[k];
    if (value === undefined) return [];
    // `fileLines`: each file record's canonicalJson, when the caller has them already (ingest hashes them for inputs_hash).
    const lines = k === "files" ? fileLines : undefined;
    const text = (k === "files" || k === "artifacts") && Array.isArray(value) && value.length > 0
      ? `[\n${(lines ?? value.map((item) => canonicalJson(item))).map((line) => `    ${line}`).join(",\n")}\n  ]`
      : canonicalJson(value, 2).replace(/\n/g, "\n  ");
    return [`  ${JSON.stringify(k)}: ${text}`];
  });
  return `{\n${body.join(",\n")}\n}\n`;
}

/** Where a canonical manifest's `files` array opens and closes (a JSON string holds no raw newline). */
const OPEN_BYTES = Buffer.from('\n  "files": [');
const CLOSE_BYTES = Buffer.from('\n  ],\n  "inputs_hash"');
/** How far into a manifest its head (artifacts, counts) or its tail (what follows the files) may reach. */
const SPLIT_LIMIT = 8 * 1024 * 1024;

/**
 * A manifest without its `files` array, from positioned reads of its head (up to the array)
 * and its tail (from the array's end): at 100,000 files the manifest is 14 MB, and reading it
 * whole cost every read command 75-230 ms here, most of it the pages a fresh buffer faults in. The
 * array's bytes are read when first asked for (manifests are immutable once written). Undefined
 * when the markers are not where a canonical manifest has them (no files, a damaged or truncated
 * file, a head or tail past SPLIT_LIMIT): the caller reads and parses it whole, and reports what is
 * wrong.
 */
export function readSplit(p: string): { rest: string; files: () => string } | undefined {
  let fd: number, size: number;
  try { ({ fd, size } = openRegular(p)); } catch { return undefined; }
  try {
    const read = (from: number, length: number) => {
      const b = Buffer.allocUnsafe(length);
      return b.subarray(0, readSync(fd, b, 0, length, from));
    };
    let head = read(0, Math.min(size, 64 * 1024));
    let open = head.indexOf(OPEN_BYTES);
    while (open < 0 && head.length < Math.min(size, SPLIT_LIMIT)) {
      const more = read(0, Math.min(size, SPLIT_LIMIT, head.length * 4));
      if (more.length <= head.length) return undefined; // shorter than it said: read it whole
      head = more;
      open = head.indexOf(OPEN_BYTES);
    }
    if (open < 0) return undefined;
    const start = open + OPEN_BYTES.length;
    let tailFrom = Math.max(start, size - 64 * 1024);
    let tail = read(tailFrom, size - tailFrom);
    let close = tail.lastIndexOf(CLOSE_BYTES);
    while (close < 0 && tailFrom > start && size - tailFrom < SPLIT_LIMIT) {
      tailFrom = Math.max(start, size - Math.min(SPLIT_LIMIT, (size - tailFrom) * 4));
      tail = read(tailFrom, size - tailFrom);
      close = tail.lastIndexOf(CLOSE_BYTES);
    }
    if (close < 0) return undefined;
    const end = tailFrom + close + 4; // the files array's text is [start, end): its items and "\n  ]"
    const rest = head.subarray(0, start).toString("utf8") + "]" + tail.subarray(close + 4).toString("utf8");
    return {
      rest,
      files: () => {
        const f = openRegular(p).fd;
        try {
          const b = Buffer.allocUnsafe(end - start);
          return "[" + b.subarray(0, readSync(f, b, 0, b.length, start)).toString("utf8");
        } finally { closeSync(f); }
      },
    };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

const FilesSchema = v.array(FileRecordSchema);
/** The manifest with its file records checked by isFileRecords instead (the schema is the fallback that says what is wrong). */
const ManifestHeadSchema = v.object({ ...ManifestSchema.entries, files: v.array(v.unknown()) });

const RECORD_KEYS = new Set(Object.keys(FileRecordSchema.entries));
const HEAD_KEYS = new Set(Object.keys(ManifestSchema.entries));
const ARTIFACT_KEYS = new Set(Object.keys(ArtifactSchema.entries));
const isCount = (x: unknown) => typeof x === "number" && Number.isInteger(x) && x >= 0;
const isCounts = (x: unknown) => {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  for (const k in x) if (!isCount((x as Record<string, unknown>)[k])) return false;
  return true;
};
const isStrings = (x: unknown) => Array.isArray(x) && x.every((w) => typeof w === "string");

/**
 * Whether a manifest's fields other than its file records are what ManifestHeadSchema accepts,
 * with no other keys (so the value is what the schema would output), checked by hand: the schema
 * library's check was about a twentieth of a query's time (corpus-2000). When this says no, the
 * schema checks again and says what is wrong.
 */
function isManifestHead(data: unknown): boolean {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return false;
  const m = data as Record<string, unknown>;
  for (const k in m) if (!HEAD_KEYS.has(k)) return false;
  for (const k of ["schema_version", "auditgraph_version", "profile"]) if (typeof m[k] !== "string") return false;
  if (typeof m.run_id !== "string" || !RUN_ID.test(m.run_id)) return false;
  for (const k of ["config_hash", "inputs_hash", "outputs_hash"]) { const x = m[k]; if (typeof x !== "string" || !SHA256.test(x)) return false; }
  if (!isCounts(m.counts) || !Array.isArray(m.files) || !Array.isArray(m.artifacts) || (m.warnings !== undefined && !isStrings(m.warnings))) return false;
  for (const a of m.artifacts as unknown[]) {
    if (typeof a !== "object" || a === null || Array.isArray(a)) return false;
    for (const k in a) if (!ARTIFACT_KEYS.has(k)) return false;
    const { name, sha256, bytes, counts } = a as Record<string, unknown>;
    if (typeof name !== "string" || typeof sha256 !== "string" || !SHA256.test(sha256) || !isCount(bytes)) return false;
    if (counts !== undefined && !isCounts(counts)) return false;
  }
  return true;
}
/**
 * Whether every item is a valid file record (what FileRecordSchema accepts, with no other keys),
 * checked by hand: the schema library copies each of a 100,000-file manifest's records, which took
 * a third of an unchanged ingest there.
 */
function isFileRecords(files: unknown): files is FileRecord[] {
  if (!Array.isArray(files)) return false;
  for (const r of files) {
    if (typeof r !== "object" || r === null || Array.isArray(r)) return false;
    for (const k in r) if (!RECORD_KEYS.has(k)) return false;
    const { path, sha256, bytes, status, reason, warnings } = r as Record<string, unknown>;
    if (typeof path !== "string" || (status !== "ok" && status !== "skipped")) return false;
    if (!isCount(bytes)) return false;
    if (sha256 !== undefined && (typeof sha256 !== "string" || !SHA256.test(sha256))) return false;
    if (reason !== undefined && typeof reason !== "string") return false;
    if (warnings !== undefined && !isStrings(warnings)) return false;
  }
  return true;
}

/**
 * Reads and validates one run's manifest, reporting what was found in compat terms. With
 * `lazyFiles`, the `files` array is parsed and validated only when first read (read commands).
 */
export function readManifest(profileDir: string, runId: string, opts: { lazyFiles?: boolean } = {}): ManifestRead {
  if (!RUN_ID.test(runId)) return { ok: false, fact: { kind: "unreadable", reason: "bad run id" }, problem: `${quoted(runId)} is not a run id` };
  const p = manifestPath(profileDir, runId);
  let text: string;
  let lazy: (() => string) | undefined;
  const split = opts.lazyFiles ? readSplit(p) : undefined;
  if (split) {
    text = split.rest;
    lazy = split.files;
  } else {
    try { text = readRegular(p).toString("utf8"); } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return { ok: false, fact: { kind: "missing" }, problem: `manifest ${p} is missing` };
      const why = `cannot be read (${code ?? (e as Error).message})`;
      return { ok: false, fact: { kind: "unreadable", reason: `manifest ${why}` }, problem: `manifest ${p} ${why}` };
    }
  }
  let data: unknown;
  try { data = JSON.parse(text); } catch {
    const reason = text.trim() === "" ? "empty file" : "not JSON";
    return { ok: false, fact: { kind: "unreadable", reason }, problem: `manifest ${p} is not valid JSON (${reason === "empty file" ? "empty" : "truncated?"})` };
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return { ok: false, fact: { kind: "unreadable", reason: "not an object" }, problem: `manifest ${p} is not a JSON object` };
  }
  const sv = (data as Record<string, unknown>).schema_version;
  const kind = sv === null ? "null" : Array.isArray(sv) ? "an array" : `a ${typeof sv}`;
  const fact: StoreSchemaFact = typeof sv === "string" ? { kind: "version", version: sv }
    : sv === undefined ? { kind: "no_version" } : { kind: "unreadable", reason: `schema_version is ${kind}, not a string` };
  const fastFiles = lazy === undefined && isFileRecords((data as { files?: unknown } | null)?.files);
  let manifest: Manifest;
  if ((lazy !== undefined || fastFiles) && isManifestHead(data)) manifest = data as Manifest;
  else {
    const r = v.safeParse(fastFiles ? ManifestHeadSchema : ManifestSchema, data);
    if (!r.success) {
      const where = (r.issues[0].path ?? []).map((x) => x.key).join(".") || "(top level)";
      return { ok: false, fact, problem: `manifest ${p}: ${where}: ${r.issues[0].message}` };
    }
    manifest = r.output as Manifest;
  }
  if (lazy !== undefined) {
    const filesText = lazy;
    let files: FileRecord[] | undefined;
    Object.defineProperty(manifest, "files", {
      enumerable: true,
      get: () => {
        if (files) return files;
        let parsed: unknown;
        try { parsed = JSON.parse(filesText()); } catch { parsed = undefined; }
        if (isFileRecords(parsed)) return (files = parsed);
        const f = v.safeParse(FilesSchema, parsed);
        if (!f.success) throw new AgError(`manifest ${p}: files: not a valid list of file records`, { exitCode: ExitCode.verify, code: "manifest_invalid", hint: "run 'auditgraph verify' for a full report, or 'auditgraph rebuild'" });
        return (files = f.output);
      },
    });
  }
  return { ok: true, manifest, fact };
}

export type CurrentRun =
  | { state: "empty" }
  | { state: "ok"; runId: string; manifest: Manifest; fact: StoreSchemaFact }
  | { state: "broken"; runId: string; fact: StoreSchemaFact; problem: string };

export function readCurrentManifest(profileDir: string, opts: { lazyFiles?: boolean } = {}): CurrentRun {
  const runId = readPointer(profileDir);
  if (runId === undefined) return { state: "empty" };
  const r = readManifest(profileDir, runId, opts);
  return r.ok ? { state: "ok", runId, manifest: r.manifest, fact: r.fact } : { state: "broken", runId, fact: r.fact, problem: r.problem };
}

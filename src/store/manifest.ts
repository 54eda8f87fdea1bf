/**
 * Run manifests and the current-run pointer. A manifest is canonical JSON (sorted keys, 2-space
 * indent) with no wall-clock time and no absolute path, so the same inputs give the same bytes.
 */
import { readFileSync } from "node:fs";
import * as v from "valibot";
import { AgError, ExitCode } from "../shared/errors.ts";
import type { StoreSchemaFact } from "../policy/compat.ts";
import { manifestPath, pointerPath, RUN_ID, SHA256 } from "./layout.ts";

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

/** The pointer's run id, or undefined when no run was ever completed. */
export function readPointer(profileDir: string): string | undefined {
  let text: string;
  try { text = readFileSync(pointerPath(profileDir), "utf8"); } catch { return undefined; }
  return text.trim();
}

export type ManifestRead =
  | { ok: true; manifest: Manifest; fact: StoreSchemaFact }
  | { ok: false; fact: StoreSchemaFact; problem: string };

const FILES_OPEN = '\n  "files": [';
const FILES_CLOSE = '\n  ],\n  "inputs_hash"';

/**
 * The manifest's text without its `files` array (read commands need only the artifacts; a large
 * workspace's file list is most of the manifest), and that array's text. Manifests are written
 * canonically, so the array is found by its indentation; anything else is parsed whole.
 */
function splitFiles(text: string): { rest: string; files?: string } {
  const open = text.indexOf(FILES_OPEN);
  if (open < 0) return { rest: text };
  const start = open + FILES_OPEN.length;
  const close = text.indexOf(FILES_CLOSE, start);
  if (close < 0) return { rest: text };
  return { rest: text.slice(0, start) + "]" + text.slice(close + 4), files: "[" + text.slice(start, close + 4) };
}

const FilesSchema = v.array(FileRecordSchema);

/**
 * Reads and validates one run's manifest, reporting what was found in compat terms. With
 * `lazyFiles`, the `files` array is parsed and validated only when first read (read commands).
 */
export function readManifest(profileDir: string, runId: string, opts: { lazyFiles?: boolean } = {}): ManifestRead {
  if (!RUN_ID.test(runId)) return { ok: false, fact: { kind: "unreadable", reason: "bad run id" }, problem: `'${runId}' is not a run id` };
  const p = manifestPath(profileDir, runId);
  let text: string;
  try { text = readFileSync(p, "utf8"); } catch { return { ok: false, fact: { kind: "missing" }, problem: `manifest ${p} is missing` }; }
  let data: unknown;
  let lazy: string | undefined;
  if (opts.lazyFiles) {
    const split = splitFiles(text);
    if (split.files !== undefined) { text = split.rest; lazy = split.files; }
  }
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
  const r = v.safeParse(ManifestSchema, data);
  if (!r.success) {
    const where = (r.issues[0].path ?? []).map((x) => x.key).join(".") || "(top level)";
    return { ok: false, fact, problem: `manifest ${p}: ${where}: ${r.issues[0].message}` };
  }
  const manifest = r.output;
  if (lazy !== undefined) {
    const filesText = lazy;
    let files: FileRecord[] | undefined;
    Object.defineProperty(manifest, "files", {
      enumerable: true,
      get: () => {
        if (files) return files;
        let parsed: unknown;
        try { parsed = JSON.parse(filesText); } catch { parsed = undefined; }
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

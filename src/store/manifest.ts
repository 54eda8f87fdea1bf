/**
 * Run manifests and the current-run pointer. A manifest is canonical JSON (sorted keys, 2-space
 * indent) with no wall-clock time and no absolute path, so the same inputs give the same bytes.
 */
import { readFileSync } from "node:fs";
import * as v from "valibot";
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

/** Reads and validates one run's manifest, reporting what was found in compat terms. */
export function readManifest(profileDir: string, runId: string): ManifestRead {
  if (!RUN_ID.test(runId)) return { ok: false, fact: { kind: "unreadable", reason: "bad run id" }, problem: `'${runId}' is not a run id` };
  const p = manifestPath(profileDir, runId);
  let text: string;
  try { text = readFileSync(p, "utf8"); } catch { return { ok: false, fact: { kind: "missing" }, problem: `manifest ${p} is missing` }; }
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
  const r = v.safeParse(ManifestSchema, data);
  if (!r.success) {
    const where = (r.issues[0].path ?? []).map((x) => x.key).join(".") || "(top level)";
    return { ok: false, fact, problem: `manifest ${p}: ${where}: ${r.issues[0].message}` };
  }
  return { ok: true, manifest: r.output, fact };
}

export type CurrentRun =
  | { state: "empty" }
  | { state: "ok"; runId: string; manifest: Manifest; fact: StoreSchemaFact }
  | { state: "broken"; runId: string; fact: StoreSchemaFact; problem: string };

export function readCurrentManifest(profileDir: string): CurrentRun {
  const runId = readPointer(profileDir);
  if (runId === undefined) return { state: "empty" };
  const r = readManifest(profileDir, runId);
  return r.ok ? { state: "ok", runId, manifest: r.manifest, fact: r.fact } : { state: "broken", runId, fact: r.fact, problem: r.problem };
}

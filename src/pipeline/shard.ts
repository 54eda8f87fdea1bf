/**
 * Building one shard: read its files, record each (sha256, bytes, status, reason), and for the
 * readable ones normalize → redact → extract, reusing the previous run's entry for a file whose
 * content did not change. Produces the shard's two objects (index, text). Runs in a worker for
 * full runs and inline for small incremental ones; the result is the same either way.
 */
import { readFileSync } from "node:fs";
import type { Detector } from "../config/schema.ts";
import { ARTIFACT_SCHEMA_VERSION } from "../schema/version.ts";
import { sha256Hex } from "../shared/hash.ts";
import type { FileRecord } from "../store/manifest.ts";
import { objectPath } from "../store/layout.ts";
import { corrupt, encodeObject, encodeText, readObject, readObjectText, type EncodedObject } from "../store/objects.ts";
import { docId, extractFile, type FileEntry } from "./extract.ts";
import type { SkipReason } from "./scan.ts";
import { makeRedactor, normalizeText } from "./text.ts";

export const SHARDS = 64;
export const shardOf = (path: string) => parseInt(docId(path).slice(4, 6), 16) % SHARDS;
export const shardName = (kind: "index" | "text", n: number) => `${kind}/${String(n).padStart(2, "0")}`;

export type IndexShard = { schema_version: string; kind: "index"; shard: number; files: Record<string, FileEntry> };
export type TextShard = { schema_version: string; kind: "text"; shard: number; files: Record<string, string> };

/**
 * A text shard is stored as one JSON header line ({schema_version, kind, shard, files: [[path,
 * length]]}, lengths in UTF-16 code units) followed by the texts back to back: no JSON escaping
 * of megabytes of text on write, and a plain slice on read.
 */
function encodeTextShard(t: TextShard): EncodedObject {
  const paths = Object.keys(t.files);
  const header = { schema_version: t.schema_version, kind: t.kind, shard: t.shard, files: paths.map((p) => [p, t.files[p]!.length]) };
  return encodeText(JSON.stringify(header) + "\n" + paths.map((p) => t.files[p]).join(""));
}

export function readTextShard(profileDir: string, sha: string): TextShard {
  const raw = readObjectText(profileDir, sha);
  const nl = raw.indexOf("\n");
  let header: { schema_version: string; shard: number; files: [string, number][] };
  try { header = JSON.parse(raw.slice(0, nl)); } catch { throw corrupt(objectPath(profileDir, sha)); }
  const files: Record<string, string> = {};
  let at = nl + 1;
  for (const [p, len] of header.files) { files[p] = raw.slice(at, at + len); at += len; }
  return { schema_version: header.schema_version, kind: "text", shard: header.shard, files };
}

export type ShardTask = {
  shard: number;
  profileDir: string;
  /** Sorted by path. `prevSha`: the file's sha256 in the previous run, if its entry may be reused. */
  files: { path: string; abs: string; bytes: number; prevSha?: string }[];
  /** The previous run's objects for this shard, if entries may be reused. */
  prev?: { index: string; text: string };
  settings: { maxBytes: number; chunkTokens: number; overlapTokens: number; redaction: { enabled: boolean; detectors: Detector[] } };
};

export type ShardResult = {
  shard: number;
  records: FileRecord[];
  objects?: { index: EncodedObject; text: EncodedObject; counts: Record<string, number> };
  processed: number;
  reused: number;
};

const utf8 = new TextDecoder("utf-8", { fatal: true });

export type ReadResult = { sha256?: string; bytes: number; skip?: SkipReason; text?: string };

/** Reads one source file and classifies it; never throws. */
export function readSource(abs: string, statBytes: number, maxBytes: number): ReadResult {
  let buf: Buffer;
  try { buf = readFileSync(abs); } catch (e) {
    return { bytes: statBytes, skip: (e as NodeJS.ErrnoException).code === "ENOENT" ? "vanished" : "unreadable" };
  }
  const sha = sha256Hex(buf);
  if (buf.length > maxBytes) return { sha256: sha, bytes: buf.length, skip: "too_large" };
  if (buf.length === 0) return { sha256: sha, bytes: 0, skip: "empty" };
  if (buf.indexOf(0) >= 0) return { sha256: sha, bytes: buf.length, skip: "binary" };
  try { return { sha256: sha, bytes: buf.length, text: utf8.decode(buf) }; } catch {
    return { sha256: sha, bytes: buf.length, skip: "invalid_utf8" };
  }
}

export const toRecord = (path: string, r: ReadResult): FileRecord => ({
  path, bytes: r.bytes, status: r.skip ? "skipped" : "ok", ...(r.sha256 ? { sha256: r.sha256 } : {}), ...(r.skip ? { reason: r.skip } : {}),
});

export function buildShard(task: ShardTask): ShardResult {
  const { settings: st } = task;
  const redact = makeRedactor(st.redaction);
  let prev: { index: IndexShard; text: TextShard } | undefined;
  const old = () => (prev ??= task.prev
    ? { index: readObject<IndexShard>(task.profileDir, task.prev.index), text: readTextShard(task.profileDir, task.prev.text) }
    : { index: { files: {} } as IndexShard, text: { files: {} } as TextShard });
  const index: IndexShard = { schema_version: ARTIFACT_SCHEMA_VERSION, kind: "index", shard: task.shard, files: {} };
  const text: TextShard = { schema_version: ARTIFACT_SCHEMA_VERSION, kind: "text", shard: task.shard, files: {} };
  const records: FileRecord[] = [];
  const counts = { files: 0, chunks: 0, nodes: 0, edges: 0 };
  let processed = 0;
  let reused = 0;
  for (const f of task.files) {
    const r = readSource(f.abs, f.bytes, st.maxBytes);
    records.push(toRecord(f.path, r));
    if (r.text === undefined) continue;
    let entry: FileEntry | undefined;
    let body: string | undefined;
    if (f.prevSha && f.prevSha === r.sha256) {
      entry = old().index.files[f.path];
      body = old().text.files[f.path];
    }
    if (!entry || body === undefined) {
      body = redact(normalizeText(r.text));
      entry = extractFile(f.path, r.sha256!, body, { size: st.chunkTokens, overlap: st.overlapTokens });
      processed++;
    } else reused++;
    index.files[f.path] = entry;
    text.files[f.path] = body;
    counts.files++;
    counts.chunks += entry.chunks.length;
    // As entryGraph would give (technologies and references counted once per file mentioning them).
    const owned = entry.sections.length + entry.claims.length + entry.chunks.length + (entry.decision ? 1 : 0);
    counts.nodes += 1 + owned + entry.techs.length + entry.refs.length;
    counts.edges += owned + entry.techs.length + entry.refs.length;
  }
  if (counts.files === 0) return { shard: task.shard, records, processed, reused };
  return { shard: task.shard, records, objects: { index: encodeObject(index), text: encodeTextShard(text), counts }, processed, reused };
}

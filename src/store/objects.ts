/**
 * The content-addressed object store. An object is zstd-compressed bytes (JSON, or a JSON header
 * line followed by raw text) named by the sha256 of its stored bytes, written once (temp + rename)
 * and never modified; runs share objects.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AgError, ExitCode } from "../shared/errors.ts";
import { TEMP_PREFIX, readRegular } from "../shared/fs.ts";
import { sha256Hex } from "../shared/hash.ts";
import { objectPath } from "./layout.ts";

const ZSTD_LEVEL = 3; // fixed: the same input always gives the same bytes

export type EncodedObject = { sha256: string; bytes: number; data: Uint8Array };
/** An object whose bytes wait in a temp file (not yet fsynced) until the run is written: renamed into place, or removed. */
export type SpilledObject = { sha256: string; bytes: number; tempPath: string };

export function encodeText(text: string): EncodedObject {
  const data = Bun.zstdCompressSync(new TextEncoder().encode(text), { level: ZSTD_LEVEL });
  return { sha256: sha256Hex(data), bytes: data.length, data };
}

export const encodeObject = (value: unknown): EncodedObject => encodeText(JSON.stringify(value));

let spilled = 0;
/** Tells this thread's temp names from other threads' (workers spill too): random, because node:worker_threads' threadId costs every read command a module load. */
const THREAD_TAG = Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, "0")).join("");
/**
 * Writes an object's bytes to a new temp file in `dir` (a staging directory inside the profile
 * directory, so the later rename stays on one filesystem) and keeps only its name, so that a run's
 * objects do not wait in memory. Unique per process and thread (workers spill too).
 */
export function spillObject(o: EncodedObject, dir: string): SpilledObject {
  spilled = (spilled + 1) % 1e9;
  const tempPath = join(dir, `${TEMP_PREFIX}${o.sha256}.${process.pid}.${THREAD_TAG}.${spilled}`);
  writeFileSync(tempPath, o.data, { flag: "wx", mode: 0o644 });
  return { sha256: o.sha256, bytes: o.bytes, tempPath };
}

/**
 * Whether an object's file is present: a name check only (the store's objects are immutable and were
 * hashed when written). Objects that may have been damaged since are told apart by objectState.
 */
export const hasObject = (profileDir: string, sha: string) => existsSync(objectPath(profileDir, sha));

/**
 * What the store holds under an object's name, read and hashed in full: `absent` (no such file, or
 * no fan-out directory), `sound` (the bytes hash to the name), `damaged` (other bytes, or something
 * that cannot be read as a file: a directory, no permission). A run checks the objects it is about
 * to write this way, so that one it builds again replaces a damaged copy instead of trusting it.
 */
export function objectState(profileDir: string, sha: string): "absent" | "sound" | "damaged" {
  let data: Uint8Array;
  try { data = readRegular(objectPath(profileDir, sha)); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ENOENT" || code === "ENOTDIR" ? "absent" : "damaged";
  }
  return sha256Hex(data) === sha ? "sound" : "damaged";
}

const DAMAGE_HINT = "run 'auditgraph verify' for a full report; 'auditgraph rebuild' writes a new run with the objects rebuilt from the sources";
export const corrupt = (p: string) =>
  new AgError(`object ${p} is corrupt`, { exitCode: ExitCode.verify, code: "object_corrupt", hint: DAMAGE_HINT });
export const missing = (p: string) =>
  new AgError(`object ${p} is missing`, { exitCode: ExitCode.verify, code: "object_missing", hint: DAMAGE_HINT });
/** A missing object (no file, no fan-out directory), or one that cannot be read (a directory, no permission). */
export function unreadable(p: string, err: unknown): AgError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") return missing(p);
  return new AgError(`object ${p} cannot be read (${code ?? (err as Error).message})`, { exitCode: ExitCode.verify, code: "object_unreadable", hint: DAMAGE_HINT });
}
/** An object whose contents are not what the manifest names it as (a segment of another kind or shard). */
export const misplaced = (p: string, what: string) =>
  new AgError(`object ${p} is not what the manifest says: ${what}`, { exitCode: ExitCode.verify, code: "object_mismatch", hint: DAMAGE_HINT });

/** Reads and decompresses an object; a missing or corrupt object is a verification failure (exit 5). */
export function readObjectText(profileDir: string, sha: string): string {
  const p = objectPath(profileDir, sha);
  let data: Uint8Array;
  try { data = readRegular(p); } catch (e) { throw unreadable(p, e); }
  try { return new TextDecoder("utf-8", { fatal: true }).decode(Bun.zstdDecompressSync(data)); } catch { throw corrupt(p); }
}

export function readObject<T>(profileDir: string, sha: string): T {
  const text = readObjectText(profileDir, sha);
  try { return JSON.parse(text) as T; } catch { throw corrupt(objectPath(profileDir, sha)); }
}

/**
 * The content-addressed object store. An object is zstd-compressed JSON named by the sha256 of
 * its stored bytes, written once (temp + rename) and never modified; runs share objects.
 */
import { existsSync, readFileSync } from "node:fs";
import { AgError, ExitCode } from "../shared/errors.ts";
import { sha256Hex } from "../shared/hash.ts";
import { objectPath } from "./layout.ts";

const ZSTD_LEVEL = 3; // fixed: the same input always gives the same bytes

export type EncodedObject = { sha256: string; bytes: number; data: Uint8Array };

export function encodeObject(value: unknown): EncodedObject {
  const data = Bun.zstdCompressSync(new TextEncoder().encode(JSON.stringify(value)), { level: ZSTD_LEVEL });
  return { sha256: sha256Hex(data), bytes: data.length, data };
}

export const hasObject = (profileDir: string, sha: string) => existsSync(objectPath(profileDir, sha));

/** Reads and decodes an object; a missing or corrupt object is a verification failure (exit 5). */
export function readObject<T>(profileDir: string, sha: string): T {
  const p = objectPath(profileDir, sha);
  let data: Uint8Array;
  try { data = readFileSync(p); } catch {
    throw new AgError(`object ${p} is missing`, { exitCode: ExitCode.verify, code: "object_missing", hint: "run 'auditgraph verify' for a full report" });
  }
  try {
    return JSON.parse(new TextDecoder().decode(Bun.zstdDecompressSync(data))) as T;
  } catch {
    throw new AgError(`object ${p} is corrupt`, { exitCode: ExitCode.verify, code: "object_corrupt", hint: "run 'auditgraph verify' for a full report" });
  }
}

/**
 * `bun run build --previous DIR`: delta patches from the previous release's executables (taken
 * out of its archives in DIR, checked against its SHA256SUMS and release.json) to this build's.
 * The patch format is src/shared/delta.ts's; `auditgraph upgrade` applies it.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { ReleaseManifestSchema, type Program, type ReleaseManifest, type Target } from "../../src/schema/release.ts";
import { makePatch, readPatchHeader } from "../../src/shared/delta.ts";
import { configError } from "../../src/shared/errors.ts";
import { sha256Hex } from "../../src/shared/hash.ts";
import { readTarGzEntry } from "./archive.ts";

export interface PreviousRelease {
  dir: string;
  version: string;
  manifest: ReleaseManifest;
  /** name → sha256, from DIR/SHA256SUMS. */
  sums: Map<string, string>;
}

export const patchName = (program: Program, target: string, fromVersion: string): string => `${program}-${target}.from-${fromVersion}.patch`;

/** Reads and checks DIR's release.json and SHA256SUMS (the archives are hashed when used). */
export function readPrevious(dir: string, building: string): PreviousRelease {
  const where = (f: string) => join(dir, f);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw configError(`--previous ${dir}: not a directory`);
  for (const f of ["release.json", "SHA256SUMS"]) {
    if (!existsSync(where(f))) throw configError(`--previous ${dir}: no ${f}`, "pass the directory holding the previous release's assets (archives, release.json, SHA256SUMS)");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(where("release.json"), "utf8"));
  } catch (err) {
    throw configError(`${where("release.json")}: not valid JSON (${(err as Error).message.split("\n")[0]})`);
  }
  const parsed = v.safeParse(ReleaseManifestSchema, raw);
  if (!parsed.success) throw configError(`${where("release.json")}: ${v.getDotPath(parsed.issues[0]) ?? ""} ${parsed.issues[0].message}`);
  const manifest = parsed.output;
  const sums = new Map<string, string>();
  for (const line of readFileSync(where("SHA256SUMS"), "utf8").split("\n")) {
    if (!line) continue;
    const m = /^([0-9a-f]{64})  (\S+)$/.exec(line);
    if (!m) throw configError(`${where("SHA256SUMS")}: malformed line ${JSON.stringify(line.slice(0, 80))}`);
    sums.set(m[2]!, m[1]!);
  }
  for (const a of manifest.assets) {
    if (a.name !== "SHA256SUMS" && a.name !== "SHA256SUMS.minisig" && sums.has(a.name) && sums.get(a.name) !== a.sha256) {
      throw configError(`--previous ${dir}: ${a.name} has one sha256 in release.json and another in SHA256SUMS`);
    }
  }
  if (!/^[0-9A-Za-z][0-9A-Za-z.+-]*$/.test(manifest.version)) throw configError(`${where("release.json")}: version ${JSON.stringify(manifest.version)} cannot go into a file name`);
  if (manifest.version === building) {
    throw configError(`--previous ${dir} is version ${manifest.version}, the version being built`, "bump package.json's version, or pass the release before it");
  }
  return { dir, version: manifest.version, manifest, sums };
}

/** The previous release's executable of `program` for `target`; undefined when it had no such archive. */
export function previousExecutable(prev: PreviousRelease, program: Program, target: Target): { archive: string; bytes: Uint8Array } | undefined {
  const archive = `${program}-${target.name}.${target.archive}`;
  const listed = prev.manifest.assets.find((a) => a.name === archive);
  if (!listed) return undefined;
  const path = join(prev.dir, archive);
  if (!existsSync(path)) throw configError(`--previous ${prev.dir}: ${archive} is listed in release.json but missing`);
  const data = new Uint8Array(readFileSync(path));
  const sha = sha256Hex(data);
  if (sha !== listed.sha256 || sha !== prev.sums.get(archive)) {
    throw configError(`--previous ${prev.dir}: ${archive} has sha256 ${sha}, not the ${listed.sha256} its release.json and SHA256SUMS list`);
  }
  let bytes: Uint8Array | undefined;
  try {
    bytes = readTarGzEntry(data, program);
  } catch (err) {
    throw configError(`--previous ${prev.dir}: ${archive}: ${(err as Error).message}`);
  }
  if (!bytes) throw configError(`--previous ${prev.dir}: ${archive} holds no ${program}`);
  return { archive, bytes };
}

/** A patch worth shipping is at most this fraction of the archive; a bigger one (a new Bun runtime) is left out. */
export const MAX_PATCH_FRACTION = 0.5;

export interface Delta {
  name: string;
  bytes: Uint8Array;
  patch: { from_version: string; source_sha256: string; source_size: number; result_sha256: string; result_size: number };
}

/**
 * The patch from the previous release's `program` to `newExe`, or a reason it is not made: no
 * previous archive for this target, or a patch over MAX_PATCH_FRACTION of `archiveSize`.
 */
export function makeDelta(o: { prev: PreviousRelease; program: Program; target: Target; version: string; newExe: Uint8Array; archiveSize: number }): Delta | { skipped: string } {
  const old = previousExecutable(o.prev, o.program, o.target);
  if (!old) return { skipped: `${o.prev.version} has no ${o.program}-${o.target.name} archive` };
  const bytes = makePatch(old.bytes, o.newExe, { program: o.program, target: o.target.name, from: o.prev.version, to: o.version });
  if (bytes.length > o.archiveSize * MAX_PATCH_FRACTION) {
    return { skipped: `the patch from ${o.prev.version} would be ${bytes.length} bytes, over ${MAX_PATCH_FRACTION * 100}% of the ${o.archiveSize}-byte archive (did the Bun runtime change?)` };
  }
  const h = readPatchHeader(bytes);
  return {
    name: patchName(o.program, o.target.name, o.prev.version),
    bytes,
    patch: { from_version: o.prev.version, source_sha256: h.source.sha256, source_size: h.source.size, result_sha256: h.result.sha256, result_size: h.result.size },
  };
}

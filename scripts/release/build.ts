/**
 * The release build, in order:
 *   1. read the source (version, commit, commit time), the target files and the signing key;
 *   2. per target and program: compile, fix the darwin code signature, smoke-check (--check), archive;
 *   3. install.sh (copied), auditgraph.rb (rendered from the manifest), SHA256SUMS, its .minisig;
 *   4. release.json, validated; then the staging directory replaces the output directory.
 * Bad input fails before anything is written; a failure later leaves the output directory as it was.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import * as v from "valibot";
import { ReleaseManifestSchema, type Program, type ReleaseAsset, type ReleaseManifest, type Target } from "../../src/schema/release.ts";
import { ARTIFACT_SCHEMA_VERSION } from "../../src/schema/version.ts";
import { AgError } from "../../src/shared/errors.ts";
import { fsyncDir } from "../../src/shared/fs.ts";
import { canonicalJson } from "../../src/shared/json.ts";
import { tarGz } from "./archive.ts";
import { checksum, renderSums } from "./checksums.ts";
import { compile, killCompiles } from "./compile.ts";
import { makeDelta, readPrevious, type PreviousRelease } from "./delta.ts";
import { renderFormula } from "./homebrew.ts";
import { adhocSign, verifySignature } from "./macho/codesign.ts";
import { parseSecretKey, publicKeyId, keyIdHex, signMinisign, type SecretKey } from "./minisign.ts";
import { smokeCheck } from "./smoke.ts";
import { readSource, type SourceInfo } from "./source.ts";
import { loadTargets, selectTargets } from "./targets.ts";

export interface BuildOptions {
  root: string;
  /** Target names; empty means every target file. */
  targets: string[];
  outDir: string;
  check: boolean;
  /** The release's download base for the formula's URLs (default: PROJECT.downloadBase). */
  baseUrl?: string;
  env?: Record<string, string | undefined>;
  log?: (line: string) => void;
  /** The previous release's assets (`--previous DIR`): also write a delta patch per executable from it. */
  previous?: string;
}

export interface BuildResult {
  outDir: string;
  manifest: ReleaseManifest;
  signed: boolean;
}

function signingKey(root: string, env: BuildOptions["env"], log: (l: string) => void): SecretKey | undefined {
  const text = env?.AUDITGRAPH_MINISIGN_SECRET_KEY;
  if (!text) return undefined;
  const key = parseSecretKey(text, env?.AUDITGRAPH_MINISIGN_PASSWORD);
  const pubPath = join(root, "config", "minisign.pub");
  const committed = existsSync(pubPath) ? publicKeyId(readFileSync(pubPath, "utf8"), "config/minisign.pub") : undefined;
  if (committed !== keyIdHex(key.keyId)) {
    log(`warning: signing with key ${keyIdHex(key.keyId)}, but config/minisign.pub is key ${committed ?? "(missing)"}: users of the README's key cannot verify this build`);
  }
  return key;
}

const UNSIGNED = [
  "**************************************************************************",
  "* UNSIGNED BUILD: AUDITGRAPH_MINISIGN_SECRET_KEY is not set, so there is *",
  "* no SHA256SUMS.minisig. Do not publish these assets as a release.       *",
  "**************************************************************************",
];

/** Fixes a darwin executable's code signature if its page hashes do not match; fails if it stays invalid. */
export function darwinSignature(bytes: Uint8Array, name: string, program: Program, log: (l: string) => void): Uint8Array {
  const before = verifySignature(bytes);
  if (before.valid) return bytes;
  log(`${name}: code signature invalid (${before.problems[0]}); re-signing ad hoc`);
  let signed: Uint8Array;
  try {
    signed = adhocSign(bytes, program);
  } catch (err) {
    throw new AgError(`${name}: code signature invalid (${before.problems[0]}) and cannot be re-signed: ${(err as Error).message}`, { code: "signature_invalid" });
  }
  const after = verifySignature(signed);
  if (!after.valid) throw new AgError(`${name}: code signature still invalid after re-signing: ${after.problems[0]}`, { code: "signature_invalid" });
  return signed;
}

/** Writes one asset into the staging directory and describes it for release.json. */
function emit(staging: string, name: string, data: string | Uint8Array, built?: { program: Program; target: Target }): ReleaseAsset {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  writeFileSync(join(staging, name), bytes);
  const t = built?.target;
  return {
    ...checksum(name, bytes),
    ...(built ? { program: built.program } : {}),
    target: t?.name ?? null,
    os: t?.os ?? null,
    arch: t?.arch ?? null,
    libc: t?.libc ?? null,
    size: bytes.length,
  };
}

async function buildOne(o: { source: SourceInfo; target: Target; program: Program; work: string; staging: string; check: boolean; log: (l: string) => void; previous?: PreviousRelease }): Promise<{ asset: ReleaseAsset; patch?: ReleaseAsset; checks?: string[] }> {
  const { source, target, program } = o;
  const name = `${program}-${target.name}`;
  const exe = join(o.work, name, program); // the basename is embedded in the binary: keep it constant
  mkdirSync(dirname(exe), { recursive: true });
  await compile(source.root, program, target, source, exe);
  let bytes: Uint8Array = new Uint8Array(readFileSync(exe));
  if (target.os === "darwin") {
    const fixed = darwinSignature(bytes, name, program, o.log);
    if (fixed !== bytes) writeFileSync(exe, (bytes = fixed), { mode: 0o755 });
  }
  const checks = o.check ? smokeCheck(exe, program, target, source, bytes) : undefined;
  const entries = [
    { name: program, data: bytes, mode: 0o755 },
    { name: "LICENSE", data: readFileSync(join(source.root, "LICENSE")), mode: 0o644 },
    { name: "README.md", data: readFileSync(join(source.root, "README.md")), mode: 0o644 },
  ];
  const asset = emit(o.staging, `${name}.${target.archive}`, tarGz(entries, source.epoch), { program, target });
  rmSync(dirname(exe), { recursive: true, force: true });
  let patch: ReleaseAsset | undefined;
  if (o.previous) {
    const d = makeDelta({ prev: o.previous, program, target, version: source.version, newExe: bytes, archiveSize: asset.size });
    if ("skipped" in d) o.log(`${name}: no delta patch: ${d.skipped}`);
    else patch = { ...emit(o.staging, d.name, d.bytes, { program, target }), patch: d.patch };
  }
  return { asset, patch, checks };
}

/** Moves `staging` to `outDir`, replacing what was there only once the new one is complete. */
function publish(staging: string, outDir: string): void {
  const old = `${staging}.old`;
  const had = existsSync(outDir);
  if (had) renameSync(outDir, old);
  try {
    renameSync(staging, outDir);
  } catch (err) {
    if (had) renameSync(old, outDir);
    throw err;
  }
  if (had) rmSync(old, { recursive: true, force: true });
  fsyncDir(dirname(outDir));
}

export async function buildRelease(opts: BuildOptions): Promise<BuildResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const root = resolve(opts.root);
  const outDir = resolve(opts.outDir);
  const targets = selectTargets(loadTargets(join(root, "dist-targets")), opts.targets);
  const source = readSource(root);
  const key = signingKey(root, opts.env ?? process.env, log);
  const previous = opts.previous === undefined ? undefined : readPrevious(resolve(opts.previous), source.version);
  if (source.dirty) log(`warning: the working tree has uncommitted changes; building version ${source.version}`);

  mkdirSync(dirname(outDir), { recursive: true });
  // Interrupted: leave nothing behind (the output directory was never touched). The handlers go in
  // before the first directory is made: a signal in between would otherwise end the process with
  // the default action and leave the staging directory.
  let staging: string | undefined;
  let work: string | undefined;
  const cleanUp = () => {
    if (staging) rmSync(staging, { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    killCompiles();
    cleanUp();
    process.exit(128 + (signal === "SIGINT" ? 2 : 15));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  staging = mkdtempSync(join(dirname(outDir), `.${basename(outDir)}.tmp-`));
  chmodSync(staging, 0o755);
  work = mkdtempSync(join(tmpdir(), "auditgraph-build-"));
  try {
    const assets: ReleaseAsset[] = [];
    for (const target of targets) {
      for (const program of target.programs) {
        const started = performance.now();
        const r = await buildOne({ source, target, program, work, staging, check: opts.check, log, previous });
        assets.push(r.asset);
        log(`${r.asset.name}: built in ${((performance.now() - started) / 1000).toFixed(1)} s${r.checks ? `; ${r.checks.join("; ")}` : ""}`);
        if (r.patch) {
          assets.push(r.patch);
          log(`${r.patch.name}: ${r.patch.size} bytes, ${((100 * r.patch.size) / r.asset.size).toFixed(2)}% of ${r.asset.name}`);
        }
      }
    }
    assets.push(emit(staging, "install.sh", readFileSync(join(root, "scripts", "install.sh"))));
    const manifestOf = (list: ReleaseAsset[]): ReleaseManifest => ({
      name: "auditgraph",
      version: source.version,
      schema_version: ARTIFACT_SCHEMA_VERSION,
      commit: source.commit,
      source_date_epoch: source.epoch,
      assets: [...list].sort((a, b) => (a.name < b.name ? -1 : 1)),
    });
    assets.push(emit(staging, "auditgraph.rb", renderFormula(manifestOf(assets), { baseUrl: opts.baseUrl })));
    const sums = renderSums(assets);
    assets.push(emit(staging, "SHA256SUMS", sums));
    if (key) {
      const sig = signMinisign(key, new TextEncoder().encode(sums), `timestamp:${source.epoch}\tfile:SHA256SUMS\thashed`);
      assets.push(emit(staging, "SHA256SUMS.minisig", sig));
    } else {
      for (const line of UNSIGNED) log(line);
    }

    const manifest = manifestOf(assets);
    const valid = v.safeParse(ReleaseManifestSchema, manifest);
    if (!valid.success) throw new AgError(`release.json does not match its schema: ${v.getDotPath(valid.issues[0]) ?? ""} ${valid.issues[0].message}`);
    writeFileSync(join(staging, "release.json"), canonicalJson(manifest, 2) + "\n");
    publish(staging, outDir);
    return { outDir, manifest, signed: Boolean(key) };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    cleanUp();
  }
}

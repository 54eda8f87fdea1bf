/**
 * `auditgraph upgrade`: plan (find the release, verify SHA256SUMS's signature, pick the delta or
 * the archive), then apply (download, check, stage next to the executable, run the staged
 * `version --json`, keep the current executable as the previous one, rename the new one over it).
 * Until that last rename nothing the user runs has changed; any failure removes the staged file.
 */
import { chmodSync, closeSync, copyFileSync, fsyncSync, linkSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { TARGET, VERSION } from "../shared/build-info.ts";
import { sha256Hex } from "../shared/hash.ts";
import { alive, isDirectoryAt, lockHolderText, lockWaitMs, releaseLock, tryLock } from "../shared/lock-file.ts";
import { parsePublicKey, projectKey, SignatureError, verifyMinisign, type PublicKey } from "./minisign.ts";
import { download, findRelease, parseSums, resolveSource, UpgradeError, type ReleaseInfo, type Source } from "./release.ts";
import { extractFile } from "./tar.ts";

type Env = Record<string, string | undefined>;

export { UpgradeError };

export interface UpgradeOptions {
  version?: string;
  channel?: string;
  noDelta?: boolean;
  /** --minisign-key: a base64 key line, or a .pub file. */
  key?: string;
  env?: Env;
  /** The executable to replace (default: this process's). */
  exe?: string;
  log?: (line: string) => void;
}

export interface Plan {
  exe: string;
  /** The executable's identity when the plan was made (see identity): the one this upgrade replaces. */
  exeIdentity: string;
  current: string;
  target: string;
  source: Source;
  version: string;
  dir: string;
  info?: ReleaseInfo;
  /** "newer", "same", "older" (relative to the running version). */
  relation: "newer" | "same" | "older";
  /** The artifact schema the new release writes (release.json), when it says. */
  schemaVersion?: string;
  sums: Map<string, string>;
  signer: string;
  method: "delta" | "archive";
  asset: { name: string; sha256: string; size?: number };
  /** The archive, when the delta is chosen (the fallback). */
  archive: { name: string; sha256: string; size?: number };
  patch?: { name: string; sha256: string; size?: number; resultSha256?: string };
}

/** Compares dotted versions (x.y.z[-pre]) by semver precedence, enough for release versions. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core, pre] = v.replace(/^v/, "").split(/-(.*)/s) as [string, string | undefined];
    return { nums: core.split(".").map((n) => Number(n) || 0), pre };
  };
  const x = parse(a), y = parse(b);
  for (let i = 0; i < Math.max(x.nums.length, y.nums.length); i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d) return Math.sign(d);
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  const xs = x.pre.split("."), ys = y.pre.split(".");
  for (let i = 0; i < Math.max(xs.length, ys.length); i++) {
    const p = xs[i], q = ys[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    if (p === q) continue;
    const pn = /^\d+$/.test(p), qn = /^\d+$/.test(q);
    if (pn && qn) return Math.sign(Number(p) - Number(q));
    if (pn !== qn) return pn ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return 0;
}

export function loadKey(key: string | undefined, env: Env): PublicKey {
  const k = key || env.AUDITGRAPH_MINISIGN_KEY;
  if (!k) return projectKey();
  let text = k;
  if (!/^[A-Za-z0-9+/]{56}$/.test(k.trim())) {
    try { text = readFileSync(k, "utf8"); } catch {
      throw new UpgradeError(`--minisign-key: '${k}' is neither a minisign public key nor a readable .pub file`, "usage");
    }
  }
  try { return parsePublicKey(text); } catch (e) {
    throw new UpgradeError(`--minisign-key: ${(e as Error).message}`, "usage");
  }
}

/** sha256 of a file, read in 4 MiB slices (no 100 MB buffer just to hash it). */
function fileSha256(path: string): string {
  const h = new Bun.CryptoHasher("sha256");
  const buf = new Uint8Array(4 << 20);
  const fd = openSync(path, "r");
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally { closeSync(fd); }
  return h.digest("hex");
}

/** A delta patch's entry in release.json (src/schema/release.ts ReleaseAssetSchema `patch`). */
interface PatchFacts { from_version?: string; source_sha256?: string; source_size?: number; result_sha256?: string; result_size?: number }
const patchFacts = (asset: Record<string, unknown> | undefined): PatchFacts => {
  const p = asset?.patch;
  return p && typeof p === "object" && !Array.isArray(p) ? (p as PatchFacts) : {};
};

/** Finds the release, verifies SHA256SUMS and decides how to get there. Reads only. */
export async function plan(opts: UpgradeOptions = {}): Promise<Plan> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => {});
  const exe = opts.exe ?? process.execPath;
  const exeIdentity = identity(exe); // before anything is fetched: another upgrade may swap it meanwhile
  if (exe === process.execPath && !isRunning(exe)) throw replacedMeanwhile(exe);
  const key = loadKey(opts.key, env);
  const source = resolveSource({ channel: opts.channel }, env);
  const { info, version, dir } = await findRelease(source, opts.version);
  const c = compareVersions(version, VERSION);
  const relation = c > 0 ? "newer" : c === 0 ? "same" : "older";

  const sumsBytes = (await download(source, `${dir}/SHA256SUMS`))!;
  const sig = await download(source, `${dir}/SHA256SUMS.minisig`, { optional: true });
  if (!sig) throw new UpgradeError(`release ${version} has no SHA256SUMS.minisig, so it cannot be verified`, "unsigned");
  let signer: string;
  try {
    signer = (await verifyMinisign(sumsBytes, new TextDecoder().decode(sig), key)).keyId;
  } catch (e) {
    if (e instanceof SignatureError) throw new UpgradeError(`the signature of ${dir}/SHA256SUMS does not verify: ${e.message}`, "bad_signature", "the release was not signed by the expected key; a mirror that re-signs passes its key with --minisign-key");
    throw e;
  }
  log(`verified the minisign signature of SHA256SUMS (key ${signer})`);
  const sums = parseSums(new TextDecoder().decode(sumsBytes));

  const archiveName = `auditgraph-${TARGET}.tar.gz`;
  const archiveSha = sums.get(archiveName);
  if (!archiveSha) throw new UpgradeError(`release ${version} has no ${archiveName} in SHA256SUMS (no build for ${TARGET})`, "no_build");
  const assetOf = (name: string) => info?.assets.find((a) => a.name === name);
  const archive = { name: archiveName, sha256: archiveSha, size: assetOf(archiveName)?.size };

  let patch: Plan["patch"];
  const patchName = `auditgraph-${TARGET}.from-${VERSION}.patch`;
  const patchSha = sums.get(patchName);
  if (!opts.noDelta && patchSha && relation !== "same") {
    // release.json says which executable the patch applies to; without it, applyPatch checks (and the archive is the fallback)
    const a = assetOf(patchName);
    const facts = patchFacts(a);
    let applies = true;
    if (facts.source_sha256) {
      let size = -1;
      try { size = statSync(exe).size; } catch {}
      let mine: string | undefined;
      if (facts.source_size === undefined || facts.source_size === size) try { mine = fileSha256(exe); } catch {}
      applies = mine === facts.source_sha256;
    }
    if (applies) patch = { name: patchName, sha256: patchSha, size: a?.size, resultSha256: facts.result_sha256 };
    else log(`${patchName} applies to another executable than ${exe}; using the archive`);
  }
  const method = patch ? "delta" : "archive";
  return {
    exe, exeIdentity, current: VERSION, target: TARGET, source, version, dir, info, relation,
    schemaVersion: info?.schema_version, sums, signer, method, asset: patch ?? archive, archive, patch,
  };
}

const STAGE_PREFIX = (exe: string) => `.${basename(exe)}.upgrade-`;
export const previousPath = (exe: string) => join(dirname(exe), `.${basename(exe)}.previous`);

/** Removes staged files left by upgrades that were killed (their process is gone). */
function sweepStaged(exe: string): void {
  const prefix = STAGE_PREFIX(exe);
  let names: string[] = [];
  try { names = readdirSync(dirname(exe)); } catch { return; }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const pid = Number(n.slice(prefix.length).split("-")[0]);
    // Another live process's (EPERM: another user's) is left; one with our own pid is an earlier process's.
    if (!(pid > 0 && pid !== process.pid && alive(pid))) { try { unlinkSync(join(dirname(exe), n)); } catch {} }
  }
}

async function fetchChecked(p: Plan, a: { name: string; sha256: string }): Promise<Uint8Array> {
  const bytes = (await download(p.source, `${p.dir}/${a.name}`, { timeoutMs: 15 * 60_000 }))!;
  const got = sha256Hex(bytes);
  if (got !== a.sha256) {
    throw new UpgradeError(`${a.name} does not match SHA256SUMS (expected ${a.sha256}, got ${got})`, "checksum_mismatch", "the download was corrupted or tampered with; try again, or report it if it persists");
  }
  return bytes;
}

function fromArchive(name: string, gz: Uint8Array): Uint8Array {
  let tar: Uint8Array;
  try { tar = Bun.gunzipSync(gz as Uint8Array<ArrayBuffer>); } catch (e) {
    throw new UpgradeError(`${name} is not a gzip archive: ${(e as Error).message}`, "bad_archive");
  }
  let exe: Uint8Array | undefined;
  try { exe = extractFile(tar, "auditgraph"); } catch (e) {
    throw new UpgradeError(`${name}: ${(e as Error).message}`, "bad_archive");
  }
  if (!exe) throw new UpgradeError(`${name} holds no auditgraph executable`, "bad_archive");
  return exe;
}

/** Writes `bytes` to a new staged file next to `exe` (same file system: the swap is a rename). */
function stage(exe: string, bytes: Uint8Array): string {
  const staged = join(dirname(exe), `${STAGE_PREFIX(exe)}${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  let fd: number | undefined;
  try {
    fd = openSync(staged, "wx", 0o755);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    chmodSync(staged, 0o755);
  } catch (e) {
    if (fd !== undefined) try { closeSync(fd); } catch {}
    try { unlinkSync(staged); } catch {}
    throw new UpgradeError(`cannot write the new executable next to ${exe}: ${(e as Error).message}`, "write_failed", "free some disk space and try again");
  }
  return staged;
}

/** Runs `<file> version --json`; returns what it says, or throws with why it would not run. */
export function probe(file: string, env: Env): { version: string; target: string; schema_version?: string } {
  const r = Bun.spawnSync([file, "version", "--json"], { env: { ...env, AUDITGRAPH_NO_UPDATE_CHECK: "1" }, stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  if (r.exitCode !== 0) {
    const why = (r.stderr.toString().trim().split("\n")[0] || (r.signalCode ? `killed by ${r.signalCode}` : `exit ${r.exitCode}`));
    throw new UpgradeError(`${file} does not run on this machine (${why})`, "does_not_run");
  }
  try {
    const j = JSON.parse(r.stdout.toString());
    if (typeof j.version === "string" && typeof j.target === "string") return j;
  } catch {}
  throw new UpgradeError(`${file} version --json printed no version`, "does_not_run");
}

function fsyncDir(dir: string): void {
  try { const fd = openSync(dir, "r"); try { fsyncSync(fd); } finally { closeSync(fd); } } catch {}
}

/** `to` becomes another name of `from` (a hard link), or a copy with its mode where links are refused. */
function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
    chmodSync(to, statSync(from).mode & 0o7777);
  }
}

/** A file's identity (device, inode, size, change time): what a rename over it changes. */
function identity(path: string): string {
  try { const st = statSync(path); return `${st.dev}:${st.ino}:${st.size}:${st.ctimeMs}`; } catch { return "gone"; }
}

/**
 * Whether `exe` is still the file this process runs (Linux: /proc/self/exe names the running
 * inode even after a rename over its path). An upgrade started before another one swapped the
 * executable must not plan from the old version against the new file. Elsewhere: assumed so.
 */
function isRunning(exe: string): boolean {
  let running;
  try { running = statSync("/proc/self/exe"); } catch { return true; }
  try { const st = statSync(exe); return st.dev === running.dev && st.ino === running.ino; } catch { return false; }
}

const replacedMeanwhile = (exe: string) =>
  new UpgradeError(`${exe} was replaced while this upgrade ran (another upgrade?); nothing was changed`, "changed_meanwhile", "run 'auditgraph version' to see what is installed now");

export const swapLockPath = (exe: string) => join(dirname(exe), `.${basename(exe)}.swap-lock`);

/**
 * Runs `fn` holding `.<exe>.swap-lock` beside the executable (shared/lock-file.ts, as the workspace
 * lock: taken atomically, a stale one taken over safely), so that the check that the executable is
 * the one planned against and the swap are one step among concurrent upgrades and rollbacks. A live
 * holder is waited for (lockWaitMs, 30 s unless AUDITGRAPH_LOCK_WAIT_MS says otherwise; it holds
 * the lock for two renames); a lock whose process is gone (killed mid-swap, or a pid since reused)
 * is taken over.
 */
function withSwapLock<T>(exe: string, fn: () => T): T {
  const lock = swapLockPath(exe);
  if (isDirectoryAt(lock)) throw new UpgradeError(`${lock} is a directory, where the upgrade lock goes; nothing was changed`, "busy", `move ${lock} out of the way (no auditgraph process makes a directory there)`);
  const failed = (e: unknown) => new UpgradeError(`cannot take the upgrade lock ${lock}: ${(e as Error).message}; nothing was changed`, "write_failed");
  const waitMs = lockWaitMs();
  const deadline = Date.now() + waitMs;
  for (;;) {
    const got = tryLock(lock, failed);
    if (got === true) break;
    if (Date.now() >= deadline) throw new UpgradeError(`another upgrade (${lockHolderText(got)}) held ${lock} for ${waitMs / 1000} s; nothing was changed`, "busy", `if no upgrade is running, remove ${lock}`);
    Bun.sleepSync(25);
  }
  try {
    return fn();
  } finally {
    releaseLock(lock);
  }
}

/**
 * Keeps a copy of `exe` as `keep` (a hard link when the file system allows), then renames `staged`
 * over `exe`: each step is one rename, so the path always names a complete executable.
 */
function swap(exe: string, staged: string, keep: string, env: Env): void {
  const tmp = `${keep}.tmp-${process.pid}`;
  try { unlinkSync(tmp); } catch {}
  linkOrCopy(exe, tmp);
  renameSync(tmp, keep);
  // rename(2) does nothing when both names are links to one file (keep already was this executable)
  try { unlinkSync(tmp); } catch {}
  crashAt(env, "kept");
  renameSync(staged, exe);
  fsyncDir(dirname(exe));
  crashAt(env, "swapped");
}

export interface Applied {
  from: string;
  to: string;
  method: "delta" | "archive";
  downloaded: number;
  exe: string;
  previous: string;
}

/**
 * Test hook: AUDITGRAPH_UPGRADE_CRASH_AT=<step> kills the process (SIGKILL) at that step, so the
 * tests can show what each crash leaves. Steps: downloaded, staged, probed, kept, swapped.
 */
const crashAt = (env: Env, step: string) => {
  if (env.AUDITGRAPH_UPGRADE_CRASH_AT === step) process.kill(process.pid, "SIGKILL");
};

/** Downloads, checks, stages and swaps in the planned release. A failure leaves `exe` as it was. */
export async function apply(p: Plan, opts: { env?: Env; log?: (line: string) => void } = {}): Promise<Applied> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => {});
  sweepStaged(p.exe);
  let method = p.method;
  let downloaded = 0;
  let bytes: Uint8Array | undefined;
  if (p.patch) {
    log(`downloading ${p.patch.name}${p.patch.size ? ` (${p.patch.size} bytes)` : ""}`);
    const patch = await fetchChecked(p, p.patch);
    downloaded += patch.length;
    try {
      const { applyPatch } = await import("../shared/delta.ts");
      const patched: Uint8Array = applyPatch(readFileSync(p.exe), patch);
      bytes = patched;
      if (p.patch.resultSha256 && sha256Hex(patched) !== p.patch.resultSha256) throw new Error("the patched executable's sha256 differs from release.json's");
    } catch (e) {
      log(`the delta did not apply (${(e as Error).message.split("\n")[0]}); using the archive`);
      bytes = undefined;
      method = "archive";
    }
  }
  if (!bytes) {
    log(`downloading ${p.archive.name}${p.archive.size ? ` (${p.archive.size} bytes)` : ""}`);
    const gz = await fetchChecked(p, p.archive);
    downloaded += gz.length;
    bytes = fromArchive(p.archive.name, gz);
  }
  crashAt(env, "downloaded");
  const staged = stage(p.exe, bytes);
  try {
    crashAt(env, "staged");
    const got = probe(staged, env);
    if (got.version !== p.version || got.target !== p.target) {
      throw new UpgradeError(`the new executable reports ${got.version} (${got.target}), expected ${p.version} (${p.target})`, "wrong_version");
    }
    crashAt(env, "probed");
    const previous = previousPath(p.exe);
    withSwapLock(p.exe, () => {
      // The executable this upgrade replaces (as when planned): if another upgrade swapped it
      // meanwhile, this one must not keep that one's result as the previous version.
      if (identity(p.exe) !== p.exeIdentity) throw replacedMeanwhile(p.exe);
      try {
        swap(p.exe, staged, previous, env);
      } catch (e) {
        throw new UpgradeError(`cannot replace ${p.exe}: ${(e as Error).message}`, "write_failed");
      }
    });
    return { from: p.current, to: p.version, method, downloaded, exe: p.exe, previous };
  } finally {
    try { unlinkSync(staged); } catch {}
  }
}

/**
 * `--rollback`: swaps the kept previous executable back in (and keeps this one as the previous).
 * `dryRun`: every check, then what would be done, with nothing changed (`--rollback --dry-run` / `--check`).
 */
export function rollback(opts: { exe?: string; env?: Env; dryRun?: boolean } = {}): { from: string; to: string; exe: string } {
  const env = opts.env ?? process.env;
  const exe = opts.exe ?? process.execPath;
  const previous = previousPath(exe);
  const exeIdentity = identity(exe); // another rollback or upgrade may swap it meanwhile
  try { statSync(previous); } catch {
    throw new UpgradeError(`there is no previous version to roll back to (${previous} does not exist)`, "no_previous");
  }
  const got = probe(previous, env);
  if (got.target !== TARGET) throw new UpgradeError(`${previous} is a ${got.target} build, not ${TARGET}`, "wrong_version");
  if (opts.dryRun) return { from: VERSION, to: got.version, exe };
  withSwapLock(exe, () => {
    // Two rollbacks at once would swap twice (back where they started, both saying so): the second
    // finds the executable is not the one it started with (where /proc cannot say it, too).
    if ((exe === process.execPath && !isRunning(exe)) || identity(exe) !== exeIdentity) throw replacedMeanwhile(exe);
    const tmp = `${previous}.tmp-${process.pid}`;
    try { unlinkSync(tmp); } catch {}
    linkOrCopy(exe, tmp);
    try {
      renameSync(previous, exe);
    } catch (e) {
      try { unlinkSync(tmp); } catch {}
      throw new UpgradeError(`cannot replace ${exe}: ${(e as Error).message}`, "write_failed");
    }
    renameSync(tmp, previous);
    try { unlinkSync(tmp); } catch {} // see swap()
    fsyncDir(dirname(exe));
  });
  return { from: VERSION, to: got.version, exe };
}

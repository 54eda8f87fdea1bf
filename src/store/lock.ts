/**
 * The workspace write lock: `.pkg/lock`, holding the owner's pid. Writers (ingest, rebuild, prune)
 * hold it; readers never need it because a run becomes visible only through the pointer and
 * objects are immutable. A second writer waits up to `waitMs`, then fails with a clear message.
 *
 * Taking it is atomic: the pid is written to a temp file (`.pkg/.tmp-lock.<pid>.<n>`), which is then
 * hard-linked to `.pkg/lock` (a link never replaces an existing name), so the lock file is never seen
 * without its pid. On a filesystem without hard links the lock is created exclusively and the pid
 * written right after.
 *
 * A lock is stale, and taken over, when its pid is gone (no such process; our own pid when this
 * process does not hold the lock; on Linux, a process that started after the lock was written: the
 * pid was reused, as a container's writer is pid 1 each time), or when it holds no pid (empty or garbage:
 * a writer killed between creating it and writing its pid, on the fallback path or by an older
 * binary) and is older than STALE_EMPTY_MS. Taking over first claims the stale file: a hard link
 * to it named after its inode (`.pkg/.tmp-lock-claim.<inode>`), which only one writer can make. The
 * claimer deletes the lock only when the claim is that same file (the lock was not replaced before
 * the claim): the same inode, mtime and contents, since a new lock can get the inode number the
 * stale one freed (checking the number alone let two writers hold the lock about once in 20
 * meetings of 8 writers), then the claim. Renaming the lock aside instead (as before) let a writer move a live
 * lock that had just replaced the stale one, and, when putting it back failed because a third
 * writer had locked meanwhile, delete it: two writers then held the lock. A claim left by a writer
 * killed while claiming is removed once older than STALE_CLAIM_MS.
 */
import { closeSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { AgError, DISK_FULL_HINT, ExitCode, isDiskFull, usageError, whyWriteFailed } from "../shared/errors.ts";
import { TEMP_PREFIX, tempNameFor, readRegular } from "../shared/fs.ts";
import { checkStoreDirs, lockPath, pkgDir } from "./layout.ts";

/** A lock without a pid older than this is what a killed writer left (a live one writes its pid at once). */
export const STALE_EMPTY_MS = 2_000;

const alive = (pid: number) => {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === "EPERM"; }
};

/**
 * Whether the process `pid` started after `atMs` (Linux: its start time in /proc, from boot): then it
 * is not the writer that made a lock at `atMs`, whose pid it reuses (a container's writer is pid 1
 * every time). False when it cannot be told (no /proc: macOS).
 */
function startedAfter(pid: number, atMs: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]); // field 22, starttime
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(btime)) return false;
    // USER_HZ is 100 on Linux; boot time is in whole seconds: two seconds of slack.
    return (btime + ticks / 100) * 1000 > atMs + 2000;
  } catch { return false; }
}

/** The locks this process holds (a lock naming our pid that is not one of them was left by an earlier process with our pid). */
const held = new Set<string>();

/** A lock's owner is gone: no such process, this process when it does not hold that lock, or a process started after the lock was made. */
const ownerGone = (path: string, pid: number, lockMtimeMs: number) =>
  pid === process.pid ? !held.has(path) : !alive(pid) || startedAfter(pid, lockMtimeMs);

export type Lock = { release(): void };

const LINKLESS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV", "EMLINK"]);

/**
 * Creates the lock file holding our pid, atomically when the filesystem has hard links; false when
 * it already exists.
 */
function create(root: string, path: string, retry = true): boolean {
  const tmp = tempNameFor(path); // .pkg/.tmp-lock.<pid>.<n>
  try {
    writeFileSync(tmp, `${process.pid}\n`, { flag: "wx", mode: 0o644 });
  } catch (e) {
    // The name is taken: a leftover of a dead process that had our pid. Removed, and tried once more.
    if ((e as NodeJS.ErrnoException).code === "EEXIST" && retry) {
      try { unlinkSync(tmp); } catch {}
      return create(root, path, false);
    }
    // A full disk creates the file but cannot write the pid: nothing is left behind, and the error says so.
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") { try { unlinkSync(tmp); } catch {} }
    throw lockWriteFailed(path, e);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (!LINKLESS.has(code ?? "")) throw e;
  } finally {
    try { unlinkSync(tmp); } catch {}
  }
  // No hard links here: exclusive create, then the pid (a kill in between leaves an empty lock, stale after STALE_EMPTY_MS).
  let fd: number;
  try { fd = openSync(path, "wx", 0o644); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
  try { writeSync(fd, `${process.pid}\n`); } catch (e) {
    closeSync(fd);
    try { unlinkSync(path); } catch {}
    throw lockWriteFailed(path, e);
  }
  closeSync(fd);
  return true;
}

/** Writing the lock failed (a full disk, a read-only store): exit 1, the store untouched. */
const lockWriteFailed = (path: string, err: unknown) =>
  new AgError(`cannot take the workspace lock ${path}: ${whyWriteFailed(err)}; nothing was changed`, {
    exitCode: ExitCode.internal, code: "write_failed",
    hint: isDiskFull(err) ? `${DISK_FULL_HINT} (a writer, 'runs prune' too, needs a few bytes for the lock)` : undefined,
  });

/**
 * What the lock file says: its owner's pid (NaN when it holds none), its inode and age; "gone" when
 * it was released meanwhile, "unknown" when it cannot be read (it is then left alone).
 */
type Seen = { owner: number; ino: number; mtimeMs: number; text: string; ageMs: number };
function inspect(path: string): Seen | "gone" | "unknown" {
  try {
    const st = statSync(path);
    const text = readRegular(path).toString("utf8");
    const owner = /^\s*\d+\s*$/.test(text) ? parseInt(text, 10) : NaN;
    return { owner, ino: st.ino, mtimeMs: st.mtimeMs, text, ageMs: Date.now() - st.mtimeMs };
  } catch (e) { return (e as NodeJS.ErrnoException).code === "ENOENT" ? "gone" : "unknown"; }
}

/** A claim on a stale lock older than this was left by a writer killed while taking over. */
const STALE_CLAIM_MS = 10_000;

function takeOver(root: string, path: string, seen: Seen): void {
  const claim = join(pkgDir(root), `${TEMP_PREFIX}lock-claim.${seen.ino}`);
  try {
    linkSync(path, claim);
  } catch (e) {
    // Another writer claims this inode (or one killed while claiming left its claim), or the lock is gone.
    if ((e as { code?: string }).code === "EEXIST") dropStaleClaim(claim);
    return;
  }
  try {
    // The claim is what the lock was when claimed: the stale file, or a live lock that replaced it.
    // An inode number is reused at once: the lock another writer made after the stale one went can
    // have the stale one's number. So the same inode is also the same mtime and contents.
    const st = statSync(claim);
    if (st.ino === seen.ino && st.mtimeMs === seen.mtimeMs && readRegular(claim).toString("utf8") === seen.text) unlinkSync(path);
  } catch {} finally {
    try { unlinkSync(claim); } catch {}
  }
}

/** Removes a claim on a stale lock that a writer killed while taking over left (older than STALE_CLAIM_MS). */
function dropStaleClaim(claim: string): void {
  try { if (Date.now() - statSync(claim).ctimeMs > STALE_CLAIM_MS) unlinkSync(claim); } catch {}
}

/** A lock attempt's temp file (tempNameFor of the lock): the pid of its writer. */
const LOCK_TEMP = new RegExp(`^${TEMP_PREFIX.replace(/\./g, "\\.")}lock\\.(\\d+)\\.`);

/** Temp files of lock attempts whose process is gone (a writer killed between writing its pid and linking it), and stale claims. */
function sweepLockTemps(root: string): void {
  let names: string[] = [];
  try { names = readdirSync(pkgDir(root)); } catch { return; }
  for (const n of names) {
    const m = LOCK_TEMP.exec(n);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) { try { unlinkSync(join(pkgDir(root), n)); } catch {} }
    else if (n.startsWith(`${TEMP_PREFIX}lock-claim.`)) dropStaleClaim(join(pkgDir(root), n));
  }
}

/**
 * How long a writer waits for the lock: `AUDITGRAPH_LOCK_WAIT_MS` (whole milliseconds), else 30 s.
 * A value that is not one is a usage error: read as a number it was NaN, and the writer waited
 * for ever.
 */
function lockWaitMs(): number {
  const env = process.env.AUDITGRAPH_LOCK_WAIT_MS;
  if (env === undefined || env === "") return 30_000;
  if (!/^\d{1,10}$/.test(env)) throw usageError(`AUDITGRAPH_LOCK_WAIT_MS must be a whole number of milliseconds; got '${env}'`);
  return Number(env);
}

export async function acquireLock(root: string, waitMs = lockWaitMs()): Promise<Lock> {
  checkStoreDirs([pkgDir(root)]); // a file named .pkg: exit 5 naming it
  // A root that cannot hold the store (read-only, not ours): the same one line as a lock that cannot be written.
  try { mkdirSync(pkgDir(root), { recursive: true }); } catch (e) { throw lockWriteFailed(lockPath(root), e); }
  const path = lockPath(root);
  // A directory where the lock file goes is never released: say so at once, not after the wait.
  let isDir = false;
  try { isDir = statSync(path).isDirectory(); } catch {} // a link to a directory too
  if (isDir) {
    throw new AgError(`the workspace lock ${path} is a directory, where the lock file goes: no writer can take the lock`, {
      exitCode: ExitCode.verify, code: "lock_is_directory", hint: `move ${path} out of the way (no auditgraph process makes a directory there)`,
    });
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (create(root, path)) {
      sweepLockTemps(root);
      let released = false;
      held.add(path);
      // Released on process.exit too (an interrupted writer, cli/main.ts), not left for the next one to find stale.
      const onExit = () => { if (!released) { released = true; held.delete(path); try { unlinkSync(path); } catch {} } };
      process.once("exit", onExit);
      return { release() { process.off("exit", onExit); onExit(); } };
    }
    const seen = inspect(path);
    if (seen === "gone") continue; // released meanwhile: try again at once
    const hasPid = seen !== "unknown" && Number.isInteger(seen.owner) && seen.owner > 0;
    if (seen !== "unknown" && (hasPid ? ownerGone(path, seen.owner, seen.mtimeMs) : seen.ageMs > STALE_EMPTY_MS)) {
      takeOver(root, path, seen);
      continue;
    }
    if (Date.now() >= deadline) {
      const who = seen === "unknown" ? "the lock file cannot be read" : hasPid ? `pid ${seen.owner}` : "no pid written yet";
      throw new AgError(`workspace ${root} is locked by another auditgraph process (${who}, lock ${path})`, {
        exitCode: ExitCode.internal, code: "locked", hint: "wait for it to finish; if no auditgraph process is running, delete the lock file",
      });
    }
    await Bun.sleep(50);
  }
}

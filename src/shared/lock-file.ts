/**
 * A lock file holding its owner's pid, shared by the workspace write lock (store/lock.ts) and the
 * executable's swap lock (upgrade/upgrade.ts). Callers loop on tryLock until it is taken or their
 * wait (lockWaitMs) is over, and give it up with releaseLock.
 *
 * Taking it is atomic: the pid is written to a temp file beside it (`.tmp-<name>.<pid>.<n>`), which
 * is then hard-linked to the lock (a link never replaces an existing name), so the lock file is
 * never seen without its pid. On a filesystem without hard links the lock is created exclusively
 * and the pid written right after.
 *
 * A lock is stale, and taken over, when its pid is gone (no such process; our own pid when this
 * process does not hold the lock; on Linux, a process that started after the lock was written: the
 * pid was reused, as a container's process is pid 1 each time), or when it holds no pid (empty or
 * garbage: a process killed between creating it and writing its pid) and is older than
 * STALE_EMPTY_MS. A process that cannot be signalled for lack of permission (EPERM) is alive.
 * Taking over first claims the stale file: a hard link to it named after its inode
 * (`.tmp-<name>-claim.<inode>`), which only one process can make. The claimer deletes the lock only
 * when the claim is that same file (the lock was not replaced before the claim): the same inode,
 * mtime and contents, since a new lock can get the inode number the stale one freed (checking the
 * number alone let two writers hold the lock about once in 20 meetings of 8 writers), then the
 * claim. Renaming the lock aside instead (as before) let a writer move a live lock that had just
 * replaced the stale one, and, when putting it back failed because a third writer had locked
 * meanwhile, delete it: two writers then held the lock. Deleting a stale lock by its name after
 * judging it stale (as the swap lock first did) deleted the live lock another process had just
 * taken over meanwhile. A claim left by a process killed while claiming is removed once older than
 * STALE_CLAIM_MS.
 */
import { closeSync, linkSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { usageError } from "./errors.ts";
import { TEMP_PREFIX, readRegular, tempNameFor, tempPidOf } from "./fs.ts";

/** A lock without a pid older than this is what a killed process left (a live one writes its pid at once). */
export const STALE_EMPTY_MS = 2_000;
/** A claim on a stale lock older than this was left by a process killed while taking over. */
const STALE_CLAIM_MS = 10_000;

/** Whether process `pid` runs (EPERM: it does, as another user). */
export const alive = (pid: number): boolean => {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === "EPERM"; }
};

/**
 * Whether the process `pid` started after `atMs` (Linux: its start time in /proc, from boot): then it
 * is not the process that made a lock at `atMs`, whose pid it reuses. False when it cannot be told
 * (no /proc: macOS).
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

const LINKLESS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV", "EMLINK"]);

/**
 * Creates the lock file holding our pid, atomically when the filesystem has hard links; false when
 * it already exists. A temp file or lock that cannot be written throws `writeFailed(err)`.
 */
function createLockFile(path: string, writeFailed: (err: unknown) => Error, retry = true): boolean {
  const tmp = tempNameFor(path); // .tmp-<name>.<pid>.<n>
  try {
    writeFileSync(tmp, `${process.pid}\n`, { flag: "wx", mode: 0o644 });
  } catch (e) {
    // The name is taken: a leftover of a dead process that had our pid. Removed, and tried once more.
    if ((e as NodeJS.ErrnoException).code === "EEXIST" && retry) {
      try { unlinkSync(tmp); } catch {}
      return createLockFile(path, writeFailed, false);
    }
    // A full disk creates the file but cannot write the pid: nothing is left behind, and the error says so.
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") { try { unlinkSync(tmp); } catch {} }
    throw writeFailed(e);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (!LINKLESS.has(code ?? "")) throw writeFailed(e);
  } finally {
    try { unlinkSync(tmp); } catch {}
  }
  // No hard links here: exclusive create, then the pid (a kill in between leaves an empty lock, stale after STALE_EMPTY_MS).
  let fd: number;
  try { fd = openSync(path, "wx", 0o644); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw writeFailed(e);
  }
  try { writeSync(fd, `${process.pid}\n`); } catch (e) {
    closeSync(fd);
    try { unlinkSync(path); } catch {}
    throw writeFailed(e);
  }
  closeSync(fd);
  return true;
}

/**
 * What the lock file says: its owner's pid (NaN when it holds none), its inode and age; "gone" when
 * it was released meanwhile, "unknown" when it cannot be read (it is then left alone).
 */
export type SeenLock = { owner: number; ino: number; mtimeMs: number; text: string; ageMs: number };
function inspectLock(path: string): SeenLock | "gone" | "unknown" {
  try {
    const st = statSync(path);
    const text = readRegular(path).toString("utf8");
    const owner = /^\s*\d+\s*$/.test(text) ? parseInt(text, 10) : NaN;
    return { owner, ino: st.ino, mtimeMs: st.mtimeMs, text, ageMs: Date.now() - st.mtimeMs };
  } catch (e) { return (e as NodeJS.ErrnoException).code === "ENOENT" ? "gone" : "unknown"; }
}

/** The owner's pid when the lock holds one. */
const lockOwner = (seen: SeenLock): number | undefined => (Number.isInteger(seen.owner) && seen.owner > 0 ? seen.owner : undefined);

/** Whether a lock as seen was left by a process that is gone (see above). */
function lockIsStale(path: string, seen: SeenLock): boolean {
  const pid = lockOwner(seen);
  if (pid === undefined) return seen.ageMs > STALE_EMPTY_MS;
  return pid === process.pid ? !held.has(path) : !alive(pid) || startedAfter(pid, seen.mtimeMs);
}

/** Removes the stale lock as seen, unless it was replaced meanwhile (see above); the caller tries again. */
function takeOverLock(path: string, seen: SeenLock): void {
  const claim = join(dirname(path), `${TEMP_PREFIX}${basename(path)}-claim.${seen.ino}`);
  try {
    linkSync(path, claim);
  } catch (e) {
    // Another process claims this inode (or one killed while claiming left its claim), or the lock is gone.
    if ((e as { code?: string }).code === "EEXIST") dropStaleClaim(claim);
    return;
  }
  try {
    // The claim is what the lock was when claimed: the stale file, or a live lock that replaced it.
    // An inode number is reused at once: the lock another process made after the stale one went can
    // have the stale one's number. So the same inode is also the same mtime and contents.
    const st = statSync(claim);
    if (st.ino === seen.ino && st.mtimeMs === seen.mtimeMs && readRegular(claim).toString("utf8") === seen.text) unlinkSync(path);
  } catch {} finally {
    try { unlinkSync(claim); } catch {}
  }
}

/** Removes a claim on a stale lock that a process killed while taking over left (older than STALE_CLAIM_MS). */
function dropStaleClaim(claim: string): void {
  try { if (Date.now() - statSync(claim).ctimeMs > STALE_CLAIM_MS) unlinkSync(claim); } catch {}
}

/** Beside the lock: temp files of attempts whose process is gone (killed between writing its pid and linking it), and stale claims. */
function sweepLockTemps(path: string): void {
  const dir = dirname(path);
  const claim = `${TEMP_PREFIX}${basename(path)}-claim.`;
  let names: string[] = [];
  try { names = readdirSync(dir); } catch { return; }
  for (const n of names) {
    const pid = tempPidOf(path, n);
    if (pid !== undefined) { if (pid > 0 && pid !== process.pid && !alive(pid)) { try { unlinkSync(join(dir, n)); } catch {} } }
    else if (n.startsWith(claim)) dropStaleClaim(join(dir, n));
  }
}

/**
 * One attempt at the lock: true when taken (and marked held, the dead attempts beside it swept);
 * else what holds it, a live owner's lock as seen or "unknown" (it cannot be read). A lock that is
 * released meanwhile, or stale and taken over, is tried again at once. The caller waits and asks again.
 */
export function tryLock(path: string, writeFailed: (err: unknown) => Error): true | SeenLock | "unknown" {
  for (;;) {
    if (createLockFile(path, writeFailed)) {
      held.add(path);
      sweepLockTemps(path);
      return true;
    }
    const seen = inspectLock(path);
    if (seen === "gone") continue;
    if (seen !== "unknown" && lockIsStale(path, seen)) { takeOverLock(path, seen); continue; }
    return seen;
  }
}

/** Whether a directory (or a link to one) is where the lock file goes: it is never released, the caller says so at once. */
export function isDirectoryAt(path: string): boolean {
  try { return statSync(path).isDirectory(); } catch { return false; }
}

/** Gives up a lock tryLock took. */
export function releaseLock(path: string): void {
  held.delete(path);
  try { unlinkSync(path); } catch {}
}

/** Who holds a lock as tryLock saw it, for a message. */
export const lockHolderText = (seen: SeenLock | "unknown"): string =>
  seen === "unknown" ? "the lock file cannot be read" : lockOwner(seen) !== undefined ? `pid ${lockOwner(seen)}` : "no pid written yet";

/**
 * How long a writer waits for a lock (the workspace's, the executable's swap lock):
 * `AUDITGRAPH_LOCK_WAIT_MS` (whole milliseconds), else 30 s. A value that is not one is a usage
 * error: read as a number it was NaN, and the writer waited for ever.
 */
export function lockWaitMs(): number {
  const env = process.env.AUDITGRAPH_LOCK_WAIT_MS;
  if (env === undefined || env === "") return 30_000;
  if (!/^\d{1,10}$/.test(env)) throw usageError(`AUDITGRAPH_LOCK_WAIT_MS must be a whole number of milliseconds; got '${env}'`);
  return Number(env);
}

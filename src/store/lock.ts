/**
 * The workspace write lock: `.pkg/lock`, holding the owner's pid. Writers (ingest, rebuild, prune)
 * hold it; readers never need it because a run becomes visible only through the pointer and
 * objects are immutable. A second writer waits up to `waitMs`, then fails with a clear message.
 *
 * Taking it (atomically: `.pkg/.tmp-lock.<pid>.<n>` linked to `.pkg/lock`), telling a stale lock and taking one over are shared/lock-file.ts's (the executable's
 * swap lock uses them too); what is the store's here: where the lock is, how long a writer waits,
 * the messages, and the release on exit.
 */
import { mkdirSync, statSync, unlinkSync } from "node:fs";
import { AgError, DISK_FULL_HINT, ExitCode, isDiskFull, usageError, whyWriteFailed } from "../shared/errors.ts";
import { createLockFile, inspectLock, lockIsStale, lockOwner, markHeld, sweepLockTemps, takeOverLock, unmarkHeld } from "../shared/lock-file.ts";
import { checkStoreDirs, lockPath, pkgDir } from "./layout.ts";

export { STALE_EMPTY_MS } from "../shared/lock-file.ts";

export type Lock = { release(): void };

/** Writing the lock failed (a full disk, a read-only store): exit 1, the store untouched. */
const lockWriteFailed = (path: string, err: unknown) =>
  new AgError(`cannot take the workspace lock ${path}: ${whyWriteFailed(err)}; nothing was changed`, {
    exitCode: ExitCode.internal, code: "write_failed",
    hint: isDiskFull(err) ? `${DISK_FULL_HINT} (a writer, 'runs prune' too, needs a few bytes for the lock)` : undefined,
  });

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
    if (createLockFile(path, (e) => lockWriteFailed(path, e))) {
      sweepLockTemps(path);
      let released = false;
      markHeld(path);
      // Released on process.exit too (an interrupted writer, cli/main.ts), not left for the next one to find stale.
      const onExit = () => { if (!released) { released = true; unmarkHeld(path); try { unlinkSync(path); } catch {} } };
      process.once("exit", onExit);
      return { release() { process.off("exit", onExit); onExit(); } };
    }
    const seen = inspectLock(path);
    if (seen === "gone") continue; // released meanwhile: try again at once
    if (seen !== "unknown" && lockIsStale(path, seen)) {
      takeOverLock(path, seen);
      continue;
    }
    if (Date.now() >= deadline) {
      const pid = seen === "unknown" ? undefined : lockOwner(seen);
      const who = seen === "unknown" ? "the lock file cannot be read" : pid !== undefined ? `pid ${pid}` : "no pid written yet";
      throw new AgError(`workspace ${root} is locked by another auditgraph process (${who}, lock ${path})`, {
        exitCode: ExitCode.internal, code: "locked", hint: "wait for it to finish; if no auditgraph process is running, delete the lock file",
      });
    }
    await Bun.sleep(50);
  }
}

/**
 * The workspace write lock: `.pkg/lock`, holding the owner's pid. Writers (ingest, rebuild, prune)
 * hold it; readers never need it because a run becomes visible only through the pointer and
 * objects are immutable. A second writer waits up to `waitMs`, then fails with a clear message.
 *
 * Taking it (atomically: `.pkg/.tmp-lock.<pid>.<n>` linked to `.pkg/lock`), telling a stale lock and taking one over are shared/lock-file.ts's (the executable's
 * swap lock uses them too); what is the store's here: where the lock is, how long a writer waits,
 * the messages, and the release on exit. How long it waits is lockWaitMs (AUDITGRAPH_LOCK_WAIT_MS).
 */
import { mkdirSync } from "node:fs";
import { AgError, DISK_FULL_HINT, ExitCode, isDiskFull, whyWriteFailed } from "../shared/errors.ts";
import { isDirectoryAt, lockHolderText, lockWaitMs, releaseLock, tryLock } from "../shared/lock-file.ts";
import { checkStoreDirs, lockPath, pkgDir } from "./layout.ts";

export { STALE_EMPTY_MS } from "../shared/lock-file.ts";

export type Lock = { release(): void };

/** Writing the lock failed (a full disk, a read-only store): exit 1, the store untouched. */
const lockWriteFailed = (path: string, err: unknown) =>
  new AgError(`cannot take the workspace lock ${path}: ${whyWriteFailed(err)}; nothing was changed`, {
    exitCode: ExitCode.internal, code: "write_failed",
    hint: isDiskFull(err) ? `${DISK_FULL_HINT} (a writer, 'runs prune' too, needs a few bytes for the lock)` : undefined,
  });

export async function acquireLock(root: string, waitMs = lockWaitMs()): Promise<Lock> {
  checkStoreDirs([pkgDir(root)]); // a file named .pkg: exit 5 naming it
  // A root that cannot hold the store (read-only, not ours): the same one line as a lock that cannot be written.
  try { mkdirSync(pkgDir(root), { recursive: true }); } catch (e) { throw lockWriteFailed(lockPath(root), e); }
  const path = lockPath(root);
  // A directory where the lock file goes is never released: say so at once, not after the wait.
  if (isDirectoryAt(path)) {
    throw new AgError(`the workspace lock ${path} is a directory, where the lock file goes: no writer can take the lock`, {
      exitCode: ExitCode.verify, code: "lock_is_directory", hint: `move ${path} out of the way (no auditgraph process makes a directory there)`,
    });
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    const got = tryLock(path, (e) => lockWriteFailed(path, e));
    if (got === true) {
      let released = false;
      // Released on process.exit too (an interrupted writer, cli/main.ts), not left for the next one to find stale.
      const onExit = () => { if (!released) { released = true; releaseLock(path); } };
      process.once("exit", onExit);
      return { release() { process.off("exit", onExit); onExit(); } };
    }
    if (Date.now() >= deadline) {
      throw new AgError(`workspace ${root} is locked by another auditgraph process (${lockHolderText(got)}, lock ${path})`, {
        exitCode: ExitCode.internal, code: "locked", hint: "wait for it to finish; if no auditgraph process is running, delete the lock file",
      });
    }
    await Bun.sleep(50);
  }
}

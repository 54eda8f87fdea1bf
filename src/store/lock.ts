/**
 * The workspace write lock: `.pkg/lock`, created exclusively, holding the owner's pid. Writers
 * (ingest, rebuild, prune) hold it; readers never need it because a run becomes visible only
 * through the pointer and objects are immutable. A lock whose pid is gone is stale and taken over.
 * A second writer waits up to `waitMs`, then fails with a clear message.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { AgError, ExitCode } from "../shared/errors.ts";
import { lockPath, pkgDir } from "./layout.ts";

const alive = (pid: number) => {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === "EPERM"; }
};

export type Lock = { release(): void };

export async function acquireLock(root: string, waitMs = Number(process.env.AUDITGRAPH_LOCK_WAIT_MS ?? 30_000)): Promise<Lock> {
  mkdirSync(pkgDir(root), { recursive: true });
  const path = lockPath(root);
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(path, "wx", 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return { release() { if (!released) { released = true; try { unlinkSync(path); } catch {} } } };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    let owner = NaN;
    try { owner = parseInt(readFileSync(path, "utf8"), 10); } catch {}
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
      try { unlinkSync(path); } catch {}
      continue;
    }
    if (Date.now() >= deadline) {
      throw new AgError(`workspace ${root} is locked by another auditgraph process (pid ${Number.isNaN(owner) ? "unknown" : owner}, lock ${path})`, {
        exitCode: ExitCode.internal, code: "locked", hint: "wait for it to finish; if no auditgraph process is running, delete the lock file",
      });
    }
    await Bun.sleep(50);
  }
}

/**
 * One release build shared by every test file that needs release assets. Builds (unsigned) are
 * cached per process and on disk under the system temp dir, keyed by the source state (HEAD,
 * uncommitted changes, untracked files) and the target list, so a second test file, or a second
 * `bun test` run on the same tree, reuses them. The source state is read once per process: every
 * test file of one run sees the same build, even if the tree changes meanwhile. Entries unused
 * for 15 minutes are pruned. Test processes running at once build a source state once (a lock).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildRelease } from "../../scripts/release/build.ts";
import { git } from "../../scripts/release/source.ts";

export const REPO_ROOT = join(import.meta.dir, "..", "..");
const CACHE = join(tmpdir(), "auditgraph-release-build");
const MAX_IDLE_MS = 15 * 60 * 1000; // each entry is ~0.5 GB, and a changed tree is a new entry
const MAX_BUILD_MS = 12 * 60 * 1000; // a build lock older than this is a dead process's
const inProcess = new Map<string, Promise<string>>();
let runState: string | undefined;

/** A digest of everything a build reads from the working tree. */
function sourceStateKey(root: string): string {
  const h = new Bun.CryptoHasher("sha256");
  h.update(git(root, ["rev-parse", "HEAD"]));
  h.update(git(root, ["diff", "HEAD", "--binary"]));
  for (const f of git(root, ["ls-files", "--others", "--exclude-standard", "-z"]).split("\0").filter(Boolean).sort()) {
    h.update(`\0${f}\0`);
    try {
      h.update(readFileSync(join(root, f)));
    } catch {}
  }
  return h.digest("hex");
}

/** Takes the build lock (a directory holding the holder's pid); false when another process holds it. */
function takeLock(lock: string): boolean {
  try {
    mkdirSync(lock);
  } catch {
    return false;
  }
  writeFileSync(join(lock, "pid"), String(process.pid));
  return true;
}

/** Whether process `pid` still runs (a lock's holder). */
function alive(pid: number): boolean {
  if (!(pid > 0)) return true; // the holder has not written its pid yet
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function prune(keep: string): void {
  for (const name of existsSync(CACHE) ? readdirSync(CACHE) : []) {
    const p = join(CACHE, name);
    if (p === keep) continue;
    try {
      if (Date.now() - statSync(p).mtimeMs > MAX_IDLE_MS) rmSync(p, { recursive: true, force: true });
    } catch {}
  }
}

/** Builds the given targets from this checkout (or reuses a build of the same source state); returns the out dir. */
export function releaseBuild(targets: string[]): Promise<string> {
  const names = [...new Set(targets)].sort();
  runState ??= sourceStateKey(REPO_ROOT);
  const key = new Bun.CryptoHasher("sha256").update(runState).update(names.join(",")).digest("hex").slice(0, 24);
  let pending = inProcess.get(key);
  if (!pending) {
    pending = (async () => {
      const out = join(CACHE, key);
      mkdirSync(CACHE, { recursive: true });
      prune(out);
      // One build per source state across the test processes of a run (bun test --parallel): the
      // first takes a lock directory and builds, the others wait for its result. A lock whose
      // holder has exited (or that is older than MAX_BUILD_MS) is taken over.
      const lock = `${out}.building`;
      while (!existsSync(join(out, "release.json"))) {
        if (takeLock(lock)) {
          try {
            // built aside, then renamed: a build another process finished first wins (rename onto it fails)
            if (!existsSync(join(out, "release.json"))) {
              const mine = `${out}.${process.pid}`;
              await buildRelease({ root: REPO_ROOT, targets: names, outDir: mine, check: false, env: {}, log: () => {} });
              try {
                renameSync(mine, out);
              } catch {
                rmSync(mine, { recursive: true, force: true });
              }
            }
          } finally {
            rmSync(lock, { recursive: true, force: true });
          }
          break;
        }
        try {
          if (Date.now() - statSync(lock).mtimeMs > MAX_BUILD_MS || !alive(Number(readFileSync(join(lock, "pid"), "utf8")))) rmSync(lock, { recursive: true, force: true });
        } catch {}
        await Bun.sleep(500);
      }
      const now = new Date();
      utimesSync(out, now, now);
      return out;
    })();
    inProcess.set(key, pending);
    pending.catch(() => inProcess.delete(key));
  }
  return pending;
}

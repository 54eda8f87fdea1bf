/**
 * One release build shared by every test file that needs release assets. Builds (unsigned) are
 * cached per process and on disk under the system temp dir, keyed by the source state (HEAD,
 * uncommitted changes, untracked files) and the target list, so a second test file, or a second
 * `bun test` run on the same tree, reuses them. The source state is read once per process: every
 * test file of one run sees the same build, even if the tree changes meanwhile. Entries unused
 * for 15 minutes are pruned. Test processes running at once build a source state once (a lock).
 * tests/helpers/release-pair.ts shares its two releases the same way (sharedDir).
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

/**
 * A digest of everything a build reads from the working tree. Untracked files at the top level are
 * left out: no build reads them, and a log written there while the tests run (`./.ci/run > LOG`)
 * gave every test process its own key, so the release builds were made once per process (the
 * suite took 10-11 minutes instead of 6).
 */
function sourceStateKey(root: string): string {
  const h = new Bun.CryptoHasher("sha256");
  h.update(git(root, ["rev-parse", "HEAD"]));
  h.update(git(root, ["diff", "HEAD", "--binary"]));
  for (const f of git(root, ["ls-files", "--others", "--exclude-standard", "-z"]).split("\0").filter((f) => f.includes("/")).sort()) {
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

function prune(cache: string, keep: string): void {
  for (const name of existsSync(cache) ? readdirSync(cache) : []) {
    const p = join(cache, name);
    if (p === keep) continue;
    try {
      if (Date.now() - statSync(p).mtimeMs > MAX_IDLE_MS) rmSync(p, { recursive: true, force: true });
    } catch {}
  }
}

/** The source state of this checkout, read once per process: every test file of a run sees the same. */
export function runSourceState(): string {
  return (runState ??= sourceStateKey(REPO_ROOT));
}

/**
 * The directory `key` under `cache`, made once across the test processes of a run by `make` (which
 * creates the directory it is given, with the file `done` in it), or reused; cached per process.
 * Other entries of `cache` unused for MAX_IDLE_MS are pruned.
 */
export function sharedDir(cache: string, key: string, done: string, make: (dir: string) => Promise<void>): Promise<string> {
  const out = join(cache, key);
  let pending = inProcess.get(out);
  if (!pending) {
    pending = (async () => {
      mkdirSync(cache, { recursive: true });
      prune(cache, out);
      // One build per source state across the test processes of a run (bun test --parallel): the
      // first takes a lock directory and builds, the others wait for its result. A lock whose
      // holder has exited (or that is older than MAX_BUILD_MS) is taken over.
      const lock = `${out}.building`;
      while (!existsSync(join(out, done))) {
        if (takeLock(lock)) {
          try {
            // built aside, then renamed: a build another process finished first wins (rename onto it fails)
            if (!existsSync(join(out, done))) {
              const mine = `${out}.${process.pid}`;
              try {
                await make(mine);
              } catch (err) {
                rmSync(mine, { recursive: true, force: true });
                throw err;
              }
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
    inProcess.set(out, pending);
    pending.catch(() => inProcess.delete(out));
  }
  return pending;
}

/** Builds the given targets from this checkout (or reuses a build of the same source state); returns the out dir. */
export function releaseBuild(targets: string[]): Promise<string> {
  const names = [...new Set(targets)].sort();
  const key = new Bun.CryptoHasher("sha256").update(runSourceState()).update(names.join(",")).digest("hex").slice(0, 24);
  return sharedDir(CACHE, key, "release.json", async (dir) => {
    await buildRelease({ root: REPO_ROOT, targets: names, outDir: dir, check: false, env: {}, log: () => {} });
  });
}

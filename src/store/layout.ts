/**
 * Where things live under `<root>/.pkg/`. See docs/architecture.md ("The pipeline and the store").
 *
 *   .pkg/lock                                  workspace write lock (pid inside)
 *   .pkg/profiles/<p>/current                  pointer: the current run id (written last)
 *   .pkg/profiles/<p>/runs/<run_id>/manifest.json
 *   .pkg/profiles/<p>/objects/<2hex>/<sha256>  immutable zstd-compressed JSON, named by the sha256 of its bytes
 *   .pkg/profiles/<p>/runs.log                 append-only JSONL with wall-clock times (never hashed)
 *   .pkg/profiles/<p>/exports/                 where `export --out` may write inside the store (nothing else writes there)
 *   .pkg/profiles/<p>/cache/stat.zst           stat cache, zstd JSON: size, mtime, inode, ctime per file (never hashed, safe to delete)
 *   .pkg/profiles/<p>/cache/words.zst          words cache: the dictionaries' words and the shards holding each (query/words.ts; never hashed, safe to delete)
 *   .pkg/profiles/<p>/cache/filters.bin        filters cache: every index shard's bloom filters in one file (query/filters.ts; never hashed, safe to delete)
 */
import { statSync } from "node:fs";
import { dirname, join } from "node:path";
import { AgError, ExitCode } from "../shared/errors.ts";

export const RUN_ID = /^run_[0-9a-f]{32}$/;
export const SHA256 = /^[0-9a-f]{64}$/;

export const pkgDir = (root: string) => join(root, ".pkg");
export const lockPath = (root: string) => join(root, ".pkg", "lock");
export const pointerPath = (profileDir: string) => join(profileDir, "current");
export const runsDir = (profileDir: string) => join(profileDir, "runs");
export const manifestPath = (profileDir: string, runId: string) => join(profileDir, "runs", runId, "manifest.json");
export const objectsDir = (profileDir: string) => join(profileDir, "objects");
export const objectPath = (profileDir: string, sha: string) => join(profileDir, "objects", sha.slice(0, 2), sha);
export const runLogPath = (profileDir: string) => join(profileDir, "runs.log");
export const statCachePath = (profileDir: string) => join(profileDir, "cache", "stat.zst");
export const wordsCachePath = (profileDir: string) => join(profileDir, "cache", "words.zst");
export const filtersCachePath = (profileDir: string) => join(profileDir, "cache", "filters.bin");
export const exportsDir = (profileDir: string) => join(profileDir, "exports");
/** Where an older binary kept the stat cache uncompressed (removed when the cache is next written). */
export const oldStatCachePath = (profileDir: string) => join(profileDir, "cache", "stat.json");

/** The store's directories down to a profile's: `.pkg/`, `.pkg/profiles/`, `.pkg/profiles/<p>/`. */
export const storeDirs = (profileDir: string) => [dirname(dirname(profileDir)), dirname(profileDir), profileDir];
/** A profile's own directories: `runs/`, `objects/`, `cache/` (exports/ is export's to check: store/exports.ts). */
export const profileDirs = (profileDir: string) => [runsDir(profileDir), objectsDir(profileDir), join(profileDir, "cache")];

/** Whether a path exists and is not a directory (a file, a link to one); missing or not ours to judge: false. */
function presentNotDir(path: string): boolean {
  try { return !statSync(path).isDirectory(); } catch { return false; }
}

/**
 * The first of `dirs` (outermost first: see storeDirs) that exists but is not a directory (a file,
 * a link to one), or undefined.
 */
export const notADirectory = (dirs: string[]): string | undefined => dirs.find(presentNotDir);

/** A store directory that is not a directory: nothing can be read or written there (exit 5). */
export function checkStoreDirs(dirs: string[]): void {
  const bad = notADirectory(dirs);
  if (bad === undefined) return;
  throw new AgError(`store directory ${bad} is not a directory: the store cannot be read or written`, {
    exitCode: ExitCode.verify, code: "store_not_directory",
    hint: `move ${bad} out of the way (auditgraph keeps its store in the directory .pkg of the workspace root; ingest makes it)`,
  });
}

/**
 * A profile's layout, checked before anything reads or writes it (exit 5 naming the path): its
 * directories down from `.pkg/` and its own (runs/, objects/, cache/) must be directories where
 * they exist, and its current-run pointer must not be one. A file or directory in the wrong place
 * is the user's to move: nothing is removed, and nothing is written beside it that would fail later.
 */
export function checkProfile(profileDir: string): void {
  checkStoreDirs([...storeDirs(profileDir), ...profileDirs(profileDir)]);
  const p = pointerPath(profileDir);
  let isDir = false;
  try { isDir = statSync(p).isDirectory(); } catch {}
  if (isDir) throw new AgError(`current-run pointer ${p} is a directory, not a file: the store's current run cannot be read or written`, {
    exitCode: ExitCode.verify, code: "store_not_directory",
    hint: `move ${p} out of the way, then run 'auditgraph rebuild' to write a new current run`,
  });
}

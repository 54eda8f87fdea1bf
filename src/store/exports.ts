/**
 * Where `export --out` may write, and the write itself. The store under `<root>/.pkg/` is written by
 * ingest, rebuild and prune only: an export landing on its pointer, a manifest or an object would
 * damage it (every read then exits 5). Inside `.pkg/` an export may go only under the profile's
 * `exports/` directory (README: "Upgrades and the disk budget"), which the budget counts. Paths are
 * compared after resolving the symbolic links of the directories that exist, so a link into the
 * store is refused as the store's own path is.
 */
import { realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { AgError, DISK_FULL_HINT, ExitCode, describeError, isDiskFull, usageError, whyWriteFailed } from "../shared/errors.ts";
import { atomicWriteFile, inside, TEMP_PREFIX } from "../shared/fs.ts";
import { exportsDir, pkgDir } from "./layout.ts";

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code ?? "";

/** The real path of `p` (symbolic links resolved) when it exists; else `p` below its parent's real path. */
function real(p: string): string {
  try { return realpathSync.native(p); } catch {}
  const up = dirname(p);
  return up === p ? p : join(real(up), basename(p));
}

/**
 * The absolute path an export to `out` writes, after checking it can be used: not empty, not a
 * directory, every existing parent a directory, and not inside the store but under the profile's
 * `exports/`. A usage error (exit 2) naming the path and why otherwise. With it, for the budget:
 * whether the file lands inside the profile's directory (by real paths, as the check decides) and
 * the size of the file it replaces.
 */
export function exportTarget(root: string, profileDir: string, out: string): { abs: string; inProfile: boolean; replaced: number } {
  if (out === "") throw usageError("--out needs a file path");
  if (out.endsWith("/") || out.endsWith(sep)) throw usageError(`--out ${out} ends with '${sep}': give the path of a file, not of a directory`);
  const abs = resolve(out);
  let st;
  try { st = statSync(abs); } catch {} // a link to a directory counts as one: the directory was meant
  if (st?.isDirectory()) throw usageError(`--out ${abs} is a directory: give the path of a file (in it, or elsewhere)`);
  // The deepest parent that exists must be a directory (one that does not exist yet is made).
  for (let d = dirname(abs); ; d = dirname(d)) {
    let ds;
    try { ds = statSync(d); } catch (err) {
      if ((errno(err) === "ENOENT" || errno(err) === "ENOTDIR") && dirname(d) !== d) continue;
      break; // cannot be looked at (permissions): the write says why
    }
    if (!ds.isDirectory()) throw usageError(`--out ${abs} cannot be written: ${d} is not a directory`);
    break;
  }
  // Inside the store (by real paths): only under this profile's exports/ directory.
  const target = join(real(dirname(abs)), basename(abs));
  const store = real(pkgDir(root));
  const profile = real(profileDir);
  const exportsAt = exportsDir(profile);
  const inProfile = inside(profile, target);
  if (inside(store, target) || inProfile) {
    const allowed = inside(exportsAt, target) && target !== exportsAt;
    if (!allowed) {
      throw usageError(
        `--out ${abs} is inside the store (${target === abs ? store : `it resolves to ${target}`}), which only ingest, rebuild and prune write`,
        `write the export outside ${pkgDir(root)}, or under ${exportsDir(profileDir)}${sep}`,
      );
    }
    if (basename(abs).startsWith(TEMP_PREFIX)) {
      throw usageError(`--out ${abs}: a name starting with '${TEMP_PREFIX}' inside the store is a temp file, which the next ingest removes`);
    }
  }
  return { abs, inProfile, replaced: st?.isFile() ? st.size : 0 };
}

/** Codes of a write that fails because of the path given (not of the disk): a usage error. */
const PATH_PROBLEMS = new Set(["EACCES", "EPERM", "EROFS", "ENOTDIR", "EISDIR", "EEXIST", "ENAMETOOLONG", "ELOOP", "EINVAL"]);

/** Writes the export atomically; a path that cannot be written is a usage error, a failing disk exit 1. */
export function writeExport(abs: string, text: string): void {
  try {
    atomicWriteFile(abs, text);
  } catch (err) {
    if (PATH_PROBLEMS.has(errno(err))) throw usageError(`--out ${abs} cannot be written: ${describeError(err)}`);
    throw new AgError(`writing the export to ${abs} failed: ${whyWriteFailed(err)}; nothing was written there`, {
      exitCode: ExitCode.internal, code: "write_failed", hint: isDiskFull(err) ? DISK_FULL_HINT : undefined,
    });
  }
}

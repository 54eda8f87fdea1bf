/**
 * Where `export --out` may write, and the write itself. The store under `<root>/.pkg/` is written by
 * ingest, rebuild and prune only: an export landing on its pointer, a manifest or an object would
 * damage it (every read then exits 5). Inside `.pkg/` an export may go only under the profile's
 * `exports/` directory (README: "Upgrades and the disk budget"), which the budget counts. Paths are
 * compared after resolving the symbolic links of the directories that exist, so a link into the
 * store is refused as the store's own path is.
 */
import { lstatSync, readlinkSync, realpathSync, statSync, writeFileSync } from "node:fs";
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
 * `p` with the symbolic links of its last component followed (a dangling link gives the path it
 * points at, which the write creates), below its parent's real path. ELOOP past 40 links.
 */
function followLinks(p: string): string {
  for (let hops = 0; hops < 40; hops++) {
    let link: string | undefined;
    try { if (lstatSync(p).isSymbolicLink()) link = readlinkSync(p); } catch {}
    if (link === undefined) return join(real(dirname(p)), basename(p));
    p = resolve(dirname(p), link);
  }
  throw usageError(`--out ${p} cannot be written: too many levels of symbolic links`);
}

/** Where and how an export is written: `write` is the file itself (links followed); `direct`: a pipe or character device, written in place, not replaced. */
export type ExportTarget = { abs: string; write: string; direct: boolean; inProfile: boolean; replaced: number };

/**
 * The absolute path an export to `out` writes, after checking it can be used: not empty, not a
 * directory, every existing parent a directory, and not inside the store but under the profile's
 * `exports/`. A usage error (exit 2) naming the path and why otherwise. A symbolic link is
 * followed (the file it names is written, the link stays); a named pipe or a character device
 * (`/dev/stdout`, `/dev/null`) is written in place, never replaced by a file; a block device or a
 * socket is refused. With it, for the budget: whether the file lands inside the profile's
 * directory (by real paths, as the check decides) and the size of the file it replaces.
 */
export function exportTarget(root: string, profileDir: string, out: string): ExportTarget {
  if (out === "") throw usageError("--out needs a file path");
  if (out.endsWith("/") || out.endsWith(sep)) throw usageError(`--out ${out} ends with '${sep}': give the path of a file, not of a directory`);
  const abs = resolve(out);
  let st;
  try { st = statSync(abs); } catch {} // a link to a directory counts as one: the directory was meant
  if (st?.isDirectory()) throw usageError(`--out ${abs} is a directory: give the path of a file (in it, or elsewhere)`);
  const direct = !!st && (st.isFIFO() || st.isCharacterDevice());
  if (st && !st.isFile() && !direct) throw usageError(`--out ${abs} is ${st.isBlockDevice() ? "a block device" : st.isSocket() ? "a socket" : "not a regular file"}: give the path of a file`);
  // The deepest parent that exists must be a directory (one that does not exist yet is made).
  const target = direct ? real(abs) : followLinks(abs);
  for (let d = dirname(target); ; d = dirname(d)) {
    let ds;
    try { ds = statSync(d); } catch (err) {
      if ((errno(err) === "ENOENT" || errno(err) === "ENOTDIR") && dirname(d) !== d) continue;
      break; // cannot be looked at (permissions): the write says why
    }
    if (!ds.isDirectory()) throw usageError(`--out ${abs} cannot be written: ${d} is not a directory`);
    break;
  }
  // Inside the store (by real paths, the last link followed too): only under this profile's exports/ directory.
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
    if (basename(target).startsWith(TEMP_PREFIX)) {
      throw usageError(`--out ${abs}: a name starting with '${TEMP_PREFIX}' inside the store is a temp file, which the next ingest removes`);
    }
  }
  return { abs, write: target, direct, inProfile, replaced: st?.isFile() ? st.size : 0 };
}

/** Codes of a write that fails because of the path given (not of the disk): a usage error. */
const PATH_PROBLEMS = new Set(["EACCES", "EPERM", "EROFS", "ENOTDIR", "EISDIR", "EEXIST", "ENAMETOOLONG", "ELOOP", "EINVAL", "ENOENT", "ENXIO"]);

/**
 * Writes the export: atomically (a temp file beside it, renamed over it) to a file, in place to a
 * pipe or character device. A path that cannot be written is a usage error naming the path given,
 * a failing disk exit 1.
 */
export function writeExport(t: Pick<ExportTarget, "abs" | "write" | "direct">, text: string): void {
  try {
    if (t.direct) writeFileSync(t.write, text);
    else atomicWriteFile(t.write, text);
  } catch (err) {
    const why = describeError(err).replace(/, (open|rename|mkdir) '[^']*'$/, "");
    if (PATH_PROBLEMS.has(errno(err))) throw usageError(`--out ${t.abs} cannot be written: ${why}`);
    throw new AgError(`writing the export to ${t.abs} failed: ${whyWriteFailed(err)}; nothing was written there`, {
      exitCode: ExitCode.internal, code: "write_failed", hint: isDiskFull(err) ? DISK_FULL_HINT : undefined,
    });
  }
}

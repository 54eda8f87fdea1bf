/**
 * Where `export --out` may write, and the write itself. The store under `<root>/.pkg/` is written by
 * ingest, rebuild and prune only: an export landing on its pointer, a manifest or an object would
 * damage it (every read then exits 5). Inside `.pkg/` an export may go only under the profile's
 * `exports/` directory (README: "Upgrades and the disk budget"), which the budget counts. Paths are
 * compared after resolving the symbolic links of the directories that exist, so a link into the
 * store is refused as the store's own path is.
 */
import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { AgError, DISK_FULL_HINT, ExitCode, describeError, isDiskFull, usageError, whyWriteFailed } from "../shared/errors.ts";
import { atomicWriteFile, inside, tempPidOf, TEMP_PREFIX } from "../shared/fs.ts";
import { alive } from "../shared/lock-file.ts";
import { exportsDir, pkgDir } from "./layout.ts";

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code ?? "";

/** The real path of `p` (symbolic links resolved) when it exists; else `p` below its parent's real path. */
function real(p: string): string {
  try { return realpathSync.native(p); } catch {}
  const up = dirname(p);
  return up === p ? p : join(real(up), basename(p));
}

/** A descriptor of this process named by a path: `/dev/fd/N`, `/proc/self/fd/N`, `/proc/<this pid>/fd/N`. */
const FD_PATH = /^\/(?:proc\/(?:self|thread-self|(\d+))(?:\/task\/\d+)?\/fd|dev\/fd)\/(\d+)$/;
function ownFd(p: string): number | undefined {
  const m = FD_PATH.exec(p);
  if (!m || (m[1] !== undefined && Number(m[1]) !== process.pid)) return undefined;
  return Number(m[2]);
}

/**
 * `p` with the symbolic links of its last component followed, each relative one from its link's
 * real directory (a dangling link gives the path it points at, which the write creates), below its
 * parent's real path; or the descriptor of this process a link names (`/dev/stdout` is
 * `/proc/self/fd/1`), which is written as it is open: a pipe (whose "real path" `pipe:[…]` is no
 * path), or a file the shell opened, maybe to append (`>> log`), which a rename would replace.
 * ELOOP past 40 links.
 */
function followLinks(p: string): { path: string; fd?: number } {
  for (let hops = 0; hops < 40; hops++) {
    const fd = ownFd(p);
    if (fd !== undefined) return { path: p, fd };
    let link: string | undefined;
    try { if (lstatSync(p).isSymbolicLink()) link = readlinkSync(p); } catch {}
    if (link === undefined) return { path: join(real(dirname(p)), basename(p)) };
    p = resolve(real(dirname(p)), link);
  }
  throw usageError(`--out ${p} cannot be written: too many levels of symbolic links`);
}

/**
 * Where and how an export is written: `write` is the file itself (links followed); `fd` a descriptor
 * of this process (`/dev/stdout`), written where it stands; `direct`: one of those, a named pipe or
 * a character device, written in place, never replaced.
 */
export type ExportTarget = { abs: string; write: string; fd?: number; direct: boolean; inProfile: boolean; replaced: number; mode?: number };

/**
 * The absolute path an export to `out` writes, after checking it can be used: not empty, not a
 * directory, every existing parent a directory, and not inside the store but under the profile's
 * `exports/`. A usage error (exit 2) naming the path and why otherwise. A symbolic link is
 * followed (the file it names is written, the link stays); a descriptor of this process
 * (`/dev/stdout`, `/dev/fd/N`) is written as it is open, a named pipe or a character device
 * (`/dev/null`) in place, never replaced by a file; a block device or a socket is refused. With it, for the budget: whether the file lands inside the profile's
 * directory (by real paths, as the check decides) and the size of the file it replaces.
 */
export function exportTarget(root: string, profileDir: string, out: string): ExportTarget {
  if (out === "") throw usageError("--out needs a file path");
  if (out.endsWith("/") || out.endsWith(sep)) throw usageError(`--out ${out} ends with '${sep}': give the path of a file, not of a directory`);
  const abs = resolve(out);
  let st;
  try { st = statSync(abs); } catch {} // a link to a directory counts as one: the directory was meant
  if (st?.isDirectory()) throw usageError(`--out ${abs} is a directory: give the path of a file (in it, or elsewhere)`);
  const followed = followLinks(abs);
  const direct = followed.fd !== undefined || (!!st && (st.isFIFO() || st.isCharacterDevice()));
  if (st && !st.isFile() && !direct) throw usageError(`--out ${abs} is ${st.isBlockDevice() ? "a block device" : st.isSocket() ? "a socket" : "not a regular file"}: give the path of a file`);
  // What a descriptor is open on, when that is a path (a pipe's is not): the store check applies to it.
  let onPath: string | undefined;
  if (followed.fd !== undefined) try { onPath = realpathSync.native(`/proc/self/fd/${followed.fd}`); } catch {}
  const target = followed.fd === undefined ? followed.path : onPath?.startsWith("/") ? onPath : undefined;
  // The deepest parent that exists must be a directory (one that does not exist yet is made).
  for (let d = dirname(followed.path); followed.fd === undefined; d = dirname(d)) {
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
  const inProfile = target !== undefined && inside(profile, target);
  if (target !== undefined && (inside(store, target) || inProfile)) {
    const allowed = inside(exportsAt, target) && target !== exportsAt && followed.fd === undefined;
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
  if (followed.fd !== undefined) return { abs, write: abs, fd: followed.fd, direct: true, inProfile: false, replaced: 0 };
  return { abs, write: followed.path, direct, inProfile, replaced: st?.isFile() ? st.size : 0, ...(st?.isFile() ? { mode: st.mode & 0o777 } : {}) };
}

/**
 * Removes the temp files an export to `path` left when it was killed while writing (Ctrl-C,
 * SIGKILL, a power cut: `.tmp-<name>.<pid>.<n>` beside it, atomicWriteFile's names), those of a
 * process that is gone (or had this process's pid: one export per process) and not written for
 * STALE_TEMP_MS: an export killed there would otherwise leave a copy of its size beside the file
 * for good. A live process's temp file (another export to the same path) is left to it, and so is a
 * recent one whose pid is not seen here (an export in another pid namespace, a container's, still writing).
 */
const STALE_TEMP_MS = 60_000;
function sweepDeadTemps(path: string): void {
  const dir = dirname(path);
  let names: string[];
  try { names = readdirSync(dir); } catch { return; } // the write says what is wrong with the place
  for (const name of names) {
    const pid = tempPidOf(path, name);
    if (pid === undefined || (pid !== process.pid && alive(pid))) continue;
    try {
      const st = lstatSync(join(dir, name));
      if (st.isFile() && Date.now() - st.mtimeMs > STALE_TEMP_MS) unlinkSync(join(dir, name));
    } catch {}
  }
}

/** Codes of a write that fails because of the path given (not of the disk): a usage error. */
const PATH_PROBLEMS = new Set(["EACCES", "EPERM", "EROFS", "ENOTDIR", "EISDIR", "EEXIST", "ENAMETOOLONG", "ELOOP", "EINVAL", "ENOENT", "ENXIO", "EBADF"]);

/**
 * Writes the export: atomically (a temp file beside it, renamed over it) to a file, in place to a
 * pipe or character device. A file it replaces keeps its permission bits (an export shared by a
 * group, or kept private, stays so). A path that cannot be written is a usage error naming the
 * path given, a failing disk exit 1.
 */
export function writeExport(t: Pick<ExportTarget, "abs" | "write" | "direct" | "fd" | "mode">, text: string): void {
  if (t.fd === undefined && !t.direct) sweepDeadTemps(t.write);
  try {
    if (t.fd !== undefined) {
      const bytes = new TextEncoder().encode(text);
      for (let off = 0; off < bytes.length; ) off += writeSync(t.fd, bytes, off, bytes.length - off);
    } else if (t.direct) writeFileSync(t.write, text);
    else atomicWriteFile(t.write, text, t.mode === undefined ? {} : { mode: t.mode });
  } catch (err) {
    const why = describeError(err).replace(/, (open|rename|mkdir) '[^']*'$/, "");
    if (PATH_PROBLEMS.has(errno(err))) throw usageError(`--out ${t.abs} cannot be written: ${why}`);
    throw new AgError(`writing the export to ${t.abs} failed: ${whyWriteFailed(err)}; nothing was written there`, {
      exitCode: ExitCode.internal, code: "write_failed", hint: isDiskFull(err) ? DISK_FULL_HINT : undefined,
    });
  }
}

/**
 * Crash-safe file writes: write to a unique temp name in the same directory, fsync, rename.
 * A reader sees either the old file or the new one, never a torn one.
 */
import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname, basename, isAbsolute, join, relative, sep } from "node:path";

/**
 * Opens a file to read without waiting: a FIFO (or a device) in the place of a store's file would
 * otherwise block the open until something writes to it, and a server with it, deaf to signals.
 * Throws as openSync does; a directory is EISDIR, and anything else that is not a regular file an
 * error "not a regular file" (no errno code). Returns the descriptor and the size the check saw.
 * `noFollow`: a symbolic link is not followed (ELOOP), for a file that must be what a scan saw.
 */
export function openRegular(path: string, opts: { noFollow?: boolean } = {}): { fd: number; size: number } {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (opts.noFollow ? constants.O_NOFOLLOW : 0));
  let dir: boolean;
  try {
    const st = fstatSync(fd);
    if (st.isFile()) return { fd, size: st.size };
    dir = st.isDirectory();
  } catch (e) { closeSync(fd); throw e; }
  closeSync(fd);
  throw dir ? Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${path}'`), { code: "EISDIR" }) : new Error("not a regular file");
}

/**
 * A regular file's bytes (see openRegular); throws as readFileSync does, and for what is not a
 * regular file. With `maxBytes`, a larger file is not read: it throws an error with code
 * "ETOOBIG" and the file's `size` (a damaged pointer or cache of gigabytes must not be read whole).
 */
export function readRegular(path: string, maxBytes = Infinity): Buffer {
  const { fd, size } = openRegular(path);
  try {
    if (size > maxBytes) throw Object.assign(new Error(`${path} is ${size} bytes, more than ${maxBytes}`), { code: "ETOOBIG", size });
    return readFileSync(fd);
  } finally { closeSync(fd); }
}

/**
 * A regular file's bytes, or undefined when it is missing, cannot be read, is not a regular file
 * (see openRegular) or is larger than `maxBytes`.
 */
export function readRegularFile(path: string, maxBytes = Infinity): Buffer | undefined {
  try { return readRegular(path, maxBytes); } catch { return undefined; }
}

/**
 * The largest cache file (words, filters, stat cache) read: each is rebuilt from the run when it is
 * missing or damaged, and one this large can only be damage (the 20,000-file benchmark's are 1-3 MB).
 */
export const MAX_CACHE_BYTES = 256 * 1024 * 1024;

/** `abs` is `root` or below it (both absolute). */
export function inside(root: string, abs: string): boolean {
  const rel = relative(root, abs);
  return rel === "" || (rel !== ".." && !rel.startsWith(".." + sep) && !isAbsolute(rel));
}

let counter = 0;
/** Temp names start with ".tmp-" so sweepers and `verify` can recognise leftovers. */
export const TEMP_PREFIX = ".tmp-";

export function tempNameFor(path: string): string {
  counter = (counter + 1) % 1e9;
  return join(dirname(path), `${TEMP_PREFIX}${basename(path)}.${process.pid}.${counter}`);
}

/** The pid in `name` when it is one of tempNameFor(path)'s names (a file beside `path`), else undefined: what a sweeper asks of a leftover. */
export function tempPidOf(path: string, name: string): number | undefined {
  const prefix = `${TEMP_PREFIX}${basename(path)}.`;
  if (!name.startsWith(prefix)) return undefined;
  const m = /^(\d+)\.\d+$/.exec(name.slice(prefix.length));
  return m ? Number(m[1]) : undefined;
}

/** `mode`: the permission bits the file gets, whatever the umask (a file it replaces had them); else 0o644 less the umask. */
export function atomicWriteFile(path: string, data: string | Uint8Array, opts: { fsync?: boolean; mode?: number } = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  // A name taken is a leftover of a killed process that had our pid (a container's process is pid 1
  // each time): the next name is tried, never the leftover written over.
  let tmp = tempNameFor(path);
  let fd: number;
  for (let tries = 1; ; tries++) {
    try { fd = openSync(tmp, "wx", 0o644); break; } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || tries >= 100) throw e;
      tmp = tempNameFor(path);
    }
  }
  try {
    if (opts.mode !== undefined) fchmodSync(fd, opts.mode);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    if (opts.fsync !== false) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch {}
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    try { unlinkSync(tmp); } catch {}
    throw err;
  }
}

/** fsync a directory so that a rename inside it survives a power cut. Best effort. */
export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch {}
}

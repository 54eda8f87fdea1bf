/**
 * Scan: walk the include paths and list candidate files, never leaving the root.
 *
 * Excludes use Bun.Glob on workspace-relative POSIX paths (`**` spans directories; a directory
 * whose path matches with a trailing '/' is pruned). Symlinks are resolved; one whose target lies
 * outside the root is recorded as skipped and its target is never opened. A directory is visited
 * once (known by device and inode, confirmed by its real path), so symlink loops terminate (a link
 * to a directory that holds it is recorded as skipped `symlink_loop`), and the
 * store's real directory, or anything inside it (a link into it, an include path under it), never.
 * An include path is judged by its real path too (a parent of it may be a link out of the root). A directory that cannot be listed is recorded, under its own path, as
 * skipped `unreadable_directory`. An entry whose name is not valid UTF-8 cannot be named in the
 * store (paths are strings) nor opened by its decoded name: it is recorded as skipped
 * `invalid_name` under a printable path (escapedName). Nothing here reads file contents.
 */
import { lstatSync, readdirSync, realpathSync, statSync, type Stats } from "node:fs";
import { extname, join, relative, resolve, sep } from "node:path";
import { configError } from "../shared/errors.ts";
import { inside } from "../shared/fs.ts";
import { escapedName } from "../shared/printable.ts";
import type { Workspace } from "../config/load.ts";
import type { Profile } from "../config/schema.ts";
import { DEFAULT_MAX_DOCUMENT_BYTES, isDocumentPath } from "./documents/index.ts";

/** The size limit of a file: `max_document_bytes` for PDF and Word documents, else `max_file_size_bytes`. */
export const sizeLimit = (profile: Profile, path: string) =>
  isDocumentPath(path) ? profile.ingestion.max_document_bytes ?? DEFAULT_MAX_DOCUMENT_BYTES : profile.ingestion.max_file_size_bytes;

export type SkipReason =
  | "unsupported_extension" | "too_large" | "binary" | "invalid_utf8" | "empty"
  | "unreadable" | "vanished" | "symlink_outside_root" | "symlink_loop" | "broken_symlink" | "not_regular_file"
  // a directory whose entries cannot be listed (recorded under the directory's own path)
  | "unreadable_directory"
  // a name that is not valid UTF-8 (recorded under escapedName's printable form)
  | "invalid_name"
  // PDF and Word documents whose text could not be had (see pipeline/documents/)
  | "encrypted" | "no_text_layer" | "corrupt";

/** A file found by the scan: either a candidate to read, or already skipped with a reason. */
export type Found = {
  path: string; // workspace-relative POSIX path
  abs: string;
  bytes: number;
  mtimeMs: number;
  ino: number;
  /** Change time: set by the system on every write or metadata change, so a restored mtime (`touch -r`) does not hide an edit. */
  ctimeMs: number;
  skip?: SkipReason;
};

export function toPosix(rel: string): string {
  return sep === "/" ? rel : rel.split(sep).join("/");
}

/** Validates include paths (must stay inside the root) before anything is touched. */
/** Every include path inside the root; a config error naming where the path is written otherwise. */
export function checkIncludes(ws: Pick<Workspace, "root" | "profile" | "profileName" | "configAt">): void {
  for (const [i, p] of ws.profile.include_paths.entries()) {
    const abs = resolve(ws.root, p);
    const key = ["profiles", ws.profileName, "include_paths"];
    if (!inside(ws.root, abs)) throw configError(`${ws.configAt([...key, i])}: ${key.join(".")}[${i}]: include path '${p}' is outside the workspace root ${ws.root}`);
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });


/** A directory's names listed as bytes: those that are valid UTF-8 (decoded), and the others escaped, sorted. */
function invalidNames(dir: string): { valid: string[]; escaped: string[] } | undefined {
  let raw: Buffer[];
  try { raw = readdirSync(dir, { encoding: "buffer" }); } catch { return undefined; }
  const valid: string[] = [];
  const escaped: string[] = [];
  for (const b of raw) {
    try { valid.push(strictUtf8.decode(b)); } catch { escaped.push(escapedName(b)); }
  }
  return { valid, escaped: escaped.sort() };
}

export function scan(root: string, profile: Profile): Found[] {
  const realRoot = realpathSync(root);
  const excludes = profile.exclude_globs.map((g) => new Bun.Glob(g));
  const allowed = new Set(profile.ingestion.allowed_extensions.map((e) => e.toLowerCase()));
  const excluded = (rel: string) => excludes.some((g) => g.match(rel));
  // Directories are told apart by device and inode, from the stat already made, rather than by a
  // realpath each (several syscalls per directory). A number holds an inode exactly only below
  // 2^53, so a pair met twice is confirmed by the real paths before a directory is passed over.
  const seenDirs = new Map<string, string[]>(); // dev:ino -> the paths visited with it
  const dirKey = (st: Stats) => `${st.dev}:${st.ino}`;
  const realOrSelf = (p: string) => { try { return realpathSync(p); } catch { return p; } };
  // The store's real directory (`.pkg` may itself be a symlink to one inside the root).
  const storeDir = realOrSelf(join(realRoot, ".pkg"));
  let storeKey: string | undefined;
  try { storeKey = dirKey(statSync(storeDir)); } catch {}
  const out = new Map<string, Found>();

  const add = (rel: string, abs: string, st: Stats | undefined, skip?: SkipReason) => {
    if (out.has(rel)) return;
    let reason = skip;
    if (!reason && !allowed.has(extname(rel).toLowerCase())) reason = "unsupported_extension";
    if (!reason && st && st.size > sizeLimit(profile, rel)) reason = "too_large";
    const f: Found = { path: rel, abs, bytes: st?.size ?? 0, mtimeMs: st?.mtimeMs ?? 0, ino: st?.ino ?? 0, ctimeMs: st?.ctimeMs ?? 0 };
    if (reason) f.skip = reason;
    out.set(rel, f);
  };

  const visit = (abs: string, rel: string): void => {
    let st: Stats;
    try { st = lstatSync(abs); } catch (e) {
      // Vanished between readdir and lstat: nothing to record. Listed but not reachable (a directory
      // readable but not searchable, a path too long): recorded, not passed over in silence.
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      if (!rel || excluded(rel)) return;
      return add(rel, abs, undefined, "unreadable");
    }
    let linkedFrom: string | undefined; // where a link to a directory sits (its real parent)
    if (st.isSymbolicLink()) {
      let real: string;
      try { real = realpathSync(abs); } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        return add(rel, abs, undefined, code === "ELOOP" ? "symlink_loop" : "broken_symlink");
      }
      if (!inside(realRoot, real)) return add(rel, abs, undefined, "symlink_outside_root");
      // A link into the store (`notes/store -> ../.pkg/profiles/default`): never read, whatever the excludes say.
      if (inside(storeDir, real)) return;
      try { st = statSync(real); } catch { return add(rel, abs, undefined, "broken_symlink"); }
      linkedFrom = realOrSelf(join(abs, ".."));
      abs = real;
    }
    if (st.isDirectory()) {
      if (rel && excludes.some((g) => g.match(rel + "/"))) return;
      const key = dirKey(st);
      // Never ingest the store itself, whatever the excludes say.
      if (key === storeKey && realOrSelf(abs) === storeDir) return;
      const seen = seenDirs.get(key);
      if (!seen) seenDirs.set(key, [abs]);
      else {
        const real = realOrSelf(abs);
        if (seen.some((p) => realOrSelf(p) === real)) {
          // A link to a directory that holds it (`notes/sub/up -> ..`) is a loop: recorded, so the run
          // says what it did not follow. A link to a directory visited elsewhere adds nothing new.
          if (linkedFrom !== undefined && rel && !excluded(rel) && inside(real, linkedFrom)) add(rel, abs, undefined, "symlink_loop");
          return;
        }
        seen.push(abs);
      }
      let names: string[];
      try { names = readdirSync(abs); } catch (e) {
        // Gone since the lstat: nothing to record. Otherwise (no permission, an I/O error) its files
        // cannot be known: the directory itself is recorded as skipped, so the run says what it left out.
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
        return add(rel || ".", abs, undefined, "unreadable_directory");
      }
      // A name that is not valid UTF-8 is listed with U+FFFD in it (and lstat of that finds nothing):
      // only then is the directory listed again as bytes, to tell those names from real U+FFFDs.
      const invalid = names.some((n) => n.includes("\ufffd")) ? invalidNames(abs) : undefined;
      if (invalid) names = invalid.valid;
      for (const n of names.sort()) visit(join(abs, n), rel ? `${rel}/${n}` : n);
      for (const n of invalid?.escaped ?? []) {
        const r = rel ? `${rel}/${n}` : n;
        if (!excluded(r)) add(r, join(abs, n), undefined, "invalid_name");
      }
      return;
    }
    if (excluded(rel)) return;
    if (!st.isFile()) return add(rel, abs, undefined, "not_regular_file");
    add(rel, abs, st);
  };

  for (const p of profile.include_paths) {
    const abs = resolve(root, p);
    const rel = toPosix(relative(root, abs));
    if (rel !== "" && excluded(rel)) continue;
    // Its name is inside the root (checkIncludes), but a parent may be a link (`notes -> /elsewhere`
    // with `notes/sub` included): what it really is decides, as for any link met in the walk.
    // (One that does not resolve, missing or a dangling link, is visited as before: it records what it is.)
    let real: string;
    try { real = realpathSync(abs); } catch { visit(abs, rel); continue; }
    if (!inside(realRoot, real)) { if (rel !== "") add(rel, abs, undefined, "symlink_outside_root"); continue; }
    if (inside(storeDir, real)) continue;
    visit(abs, rel);
  }
  return [...out.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

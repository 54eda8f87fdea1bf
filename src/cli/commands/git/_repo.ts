// What the git commands share: the workspace, the repository holding a path, its HEAD, and errors as one line (exit 2).
import { existsSync, realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { AgError, ExitCode, usageError } from "../../../shared/errors.ts";
import { inside } from "../../../shared/fs.ts";
import { withWorkspace } from "../_args.ts";
import { warn } from "../../output.ts";

export type Target = {
  /** The repository, and where it is in the workspace ("" for the root). */
  repo: import("../../../git/repo.ts").Repo;
  repoPath: string;
  head: string;
  /** The path asked about, relative to the repository ("" for its root) and to the workspace. */
  inRepo: string;
  inWorkspace: string;
  max: number;
};

const posix = (p: string) => p.split(sep).join("/");

/** `p` with the symbolic links of its deepest existing part resolved (the rest as given). */
function realPrefix(p: string): string {
  try { return realpathSync(p); } catch {}
  const up = dirname(p);
  return up === p ? p : join(realPrefix(up), p.slice(up.length + (up.endsWith(sep) ? 0 : 1)));
}

export const gitError = (kind: string, message: string, hint?: string) =>
  new AgError(message, { exitCode: ExitCode.usage, code: `git_${kind}`, ...(hint ? { hint } : {}) });

/** Turns a repository problem (not a repository, worktree, shallow, unreadable…) into a one-line exit-2 error. */
export async function asUserError<T>(f: () => Promise<T>): Promise<T> {
  const { GitProblem } = await import("../../../git/repo.ts");
  try { return await f(); } catch (err) {
    if (err instanceof GitProblem) throw gitError(err.kind, err.message);
    throw err;
  }
}

/**
 * The repository holding PATH (a workspace-relative or absolute path inside the workspace; it may
 * no longer exist): the nearest directory from PATH up to the workspace root whose `.git` is a
 * directory. Shallow clones, worktrees, submodule checkouts and repositories without commits are
 * refused: their answers would be wrong or incomplete.
 */
export async function target(args: { root?: string; config?: string; profile?: string }, path: string | undefined): Promise<Target> {
  // An empty path (a script's unset "$FILE") is refused, as an empty --root is: it meant the whole repository.
  if (path !== undefined && path.trim() === "") throw usageError("PATH must not be empty", "give a file or directory of the workspace ('.' for the whole repository at the root)");
  const ws = await withWorkspace(args);
  // Bytes that are not UTF-8 reach a command as U+FFFD: the name is lost. Such a file is asked for
  // as the scan records it, each such byte as \xNN.
  if (path?.includes("\ufffd") && !existsSync(resolve(ws.root, path))) {
    throw usageError(`PATH ${JSON.stringify(path)} holds bytes that are not UTF-8 (shown as U+FFFD), so the file it names cannot be known`, "write each such byte as \\xNN, as ingest and runs show print the name (notes/caf\\xe9.md)");
  }
  const { GitProblem, inspectGitDir, Repo } = await import("../../../git/repo.ts");
  let abs = resolve(ws.root, path ?? ".");
  let rel = relative(ws.root, abs);
  // An absolute path spelled through a link to the workspace (a shell's $PWD keeps the link, the
  // root from the current directory is its real path), or the other way round: the same place.
  if (!inside(ws.root, abs)) {
    const realRoot = realPrefix(ws.root), real = realPrefix(abs);
    if (inside(realRoot, real)) { rel = relative(realRoot, real); abs = join(ws.root, rel); }
  }
  if (rel.startsWith("..") || isAbsolute(rel)) throw usageError(`path ${path} is outside the workspace ${ws.root}`, "give a path inside the workspace (relative paths are relative to the workspace root)");
  let dir = existsSync(abs) && statSync(abs).isDirectory() ? abs : dirname(abs);
  while (relative(ws.root, dir).startsWith("..")) dir = ws.root; // a path directly under the root
  for (;;) {
    const g = inspectGitDir(dir);
    if (g.kind === "file") {
      const hint = g.problem.kind === "submodule" ? "its history is the submodule's own repository: ask about a path of the superproject, or run git log inside the submodule" : undefined;
      throw gitError(g.problem.kind, g.problem.message, hint);
    }
    if (g.kind === "dir") break;
    if (dir === ws.root) {
      throw gitError("not_repository", `${path ? `${path} is not in a git repository` : `${ws.root} is not a git repository`} (no .git directory from ${path ? "there" : "the root"} up to the workspace root ${ws.root})`,
        path ? undefined : "give --path inside a repository of the workspace");
    }
    dir = dirname(dir);
  }
  // A repository reached through a symbolic link that leaves the workspace is not the workspace's
  // (ingest does not read it either).
  const realDir = realPrefix(dir);
  if (!inside(realPrefix(ws.root), realDir)) {
    throw usageError(`${path ?? "."} is in ${realDir}, reached through a symbolic link that leaves the workspace ${ws.root}`, "ask about a repository inside the workspace");
  }
  const repo = new Repo(dir, join(dir, ".git"));
  if (repo.shallow.size > 0) {
    throw gitError("shallow", `${dir} is a shallow clone (.git/shallow lists ${repo.shallow.size} grafted commit(s)): its history is incomplete, so the answer could be wrong`, "fetch the whole history first: git fetch --unshallow");
  }
  let head: string | undefined;
  try { head = await repo.head(); } catch (err) { if (err instanceof GitProblem) throw gitError(err.kind, err.message); throw err; }
  if (!head) {
    const branch = await repo.orphanBranch();
    if (branch) throw gitError("no_commits", `${dir}: the current branch ${branch} has no commits yet (the repository's commits are on other branches)`);
    throw gitError("no_commits", `${dir} is a git repository without commits yet`);
  }
  return { repo, repoPath: posix(relative(ws.root, dir)), head, inRepo: posix(relative(dir, abs)), inWorkspace: posix(rel), max: ws.git.max_commits };
}

export { isoTime as iso } from "../../../git/graph.ts";
export const short = (oid: string) => oid.slice(0, 10);
/** A repository path back to a workspace path. */
export const toWorkspace = (t: Target, p: string) => (t.repoPath === "" ? p : p === "" ? t.repoPath : `${t.repoPath}/${p}`);

/** The note for a walk that stopped at the budget (stderr, so stdout stays the answer). */
export function noteTruncated(t: Target, truncated: boolean, json: boolean): void {
  if (truncated && !json) warn(`only the newest ${t.max} commits were read (git.max_commits); older history is not included`);
}

export const gitPathArgs = {
  path: { type: "positional", description: "A file or directory, relative to the workspace root (or absolute, inside it)", required: true },
} as const;

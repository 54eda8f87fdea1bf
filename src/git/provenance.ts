/**
 * Git provenance for ingest: the repositories of a workspace (its root, each include path, and
 * each directory directly inside an include path, e.g. repos/<name>), walked within the
 * `git.max_commits` budget, as one canonical JSON artifact: commits (id, redacted subject, author,
 * author time, the workspace paths under the include paths they changed) and authors (a hash of
 * the lower-cased e-mail as identity, the name; the e-mail itself is not stored).
 *
 * Bad repositories never fail an ingest: a worktree or submodule checkout (`.git` is a file), a
 * repository without commits or one whose objects cannot be read (a corrupt pack) is left out
 * with one warning; a shallow clone is read up to its grafts with one warning; gitlinks
 * (submodules inside a repository) give one warning per repository. Warnings name workspace-relative
 * paths only, so the artifact is the same wherever the workspace lives.
 */
import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import { inside } from "../shared/fs.ts";
import { sha256Hex } from "../shared/hash.ts";
import { canonicalJson } from "../shared/json.ts";
import { walkHistory } from "./history.ts";
import { GitProblem, inspectGitDir, Repo, byCodeUnit } from "./repo.ts";

export { GIT_ARTIFACT } from "./graph.ts";
/**
 * 2: a commit whose author name differs from its author's (one e-mail, two names) carries its own.
 * 3: a subject is the message's first paragraph, as git's %s (repo.ts subjectOf); it was the first line.
 */
export const GIT_FORMAT = "auditgraph-git/3";
const MAX_SUBJECT = 200;

/**
 * [oid, subject, author key, author time (s), workspace paths changed, and the commit's own author
 * name (redacted) when it is not the name its author row carries (two people, one e-mail)]
 */
export type CommitRow = [string, string, string, number, string[], string?];
/** [author key, name, commits] */
export type AuthorRow = [string, string, number];
export type RepoRow = { path: string; head: string; commits: number; truncated: boolean; shallow: boolean };
export type GitArtifact = {
  format: string;
  /** What the artifact was built from (heads, budget, settings): equal keys give equal artifacts. */
  key: string;
  max_commits: number;
  repos: RepoRow[];
  authors: AuthorRow[];
  commits: CommitRow[];
  warnings: string[];
};

export const authorKey = (email: string) => sha256Hex(`author\0${email.trim().toLowerCase()}`).slice(0, 20);

type Found = { path: string; dir: string };

const isDir = (p: string) => { try { return statSync(p).isDirectory(); } catch { return false; } };
const realOrSelf = (p: string) => { try { return realpathSync(p); } catch { return p; } };
const label = (path: string) => (path === "" ? "." : path);

/** The candidate repositories of a workspace, in path order, with a warning for each `.git` file met. */
export function discoverRepos(root: string, includePaths: string[]): { repos: Found[]; warnings: string[] } {
  const candidates = new Set<string>([""]);
  for (const raw of includePaths) {
    let inc = raw.replace(/\\/g, "/").replace(/^\.\/+/, "").replace(/\/+$/, "");
    if (inc === ".") inc = "";
    if (inc.split("/").includes("..")) continue;
    const dir = inc === "" ? root : join(root, inc);
    if (!isDir(dir)) continue;
    if (inc !== "") candidates.add(inc);
    let names: string[] = [];
    try { names = readdirSync(dir); } catch {}
    for (const n of names) if (n !== ".git" && n !== ".pkg" && isDir(join(dir, n))) candidates.add(inc === "" ? n : `${inc}/${n}`);
  }
  const repos: Found[] = [];
  const warnings: string[] = [];
  const realRoot = realOrSelf(root);
  for (const path of [...candidates].sort(byCodeUnit)) {
    const dir = path === "" ? root : join(root, path);
    const g = inspectGitDir(dir);
    // Reached through a symbolic link that leaves the workspace: not the workspace's history (the
    // scan does not read such a link's files either).
    if (g.kind !== "none" && !inside(realRoot, realOrSelf(dir))) {
      warnings.push(`git: ${label(path)} is a link out of the workspace: its history is not read`);
      continue;
    }
    if (g.kind === "dir") repos.push({ path, dir });
    else if (g.kind === "file") {
      const what = g.problem.kind === "worktree" ? "a git worktree" : g.problem.kind === "submodule" ? "a git submodule checkout" : "a checkout whose .git is a file";
      warnings.push(`git: ${label(path)} is ${what} (.git is a file pointing elsewhere): its history is not read`);
    }
  }
  return { repos, warnings };
}

/**
 * The state the artifact depends on: each repository's HEAD and shallow list, the budget and the
 * settings. Not how the objects are stored: the same HEAD is the same history (objects are named by
 * their content), so a `git gc` or repack changes neither the key nor the artifact. A repository
 * that could not be read is read again whatever the key (see unreadable).
 */
async function stateKey(repos: Found[], maxCommits: number, includes: string[], salt: string, found: string[]): Promise<string> {
  const heads: [string, string, string][] = [];
  for (const r of repos) {
    let head = "?";
    try { head = (await new Repo(r.dir, join(r.dir, ".git")).head()) ?? "none"; } catch { head = "?"; }
    let shallow = "";
    try { shallow = readFileSync(join(r.dir, ".git", "shallow"), "utf8"); } catch {}
    heads.push([r.path, head, sha256Hex(shallow)]);
  }
  return sha256Hex(canonicalJson({ format: GIT_FORMAT, heads, max_commits: maxCommits, includes: [...includes].sort(byCodeUnit), salt, found }));
}

/** The warning of a repository whose history could not be read (damaged objects, a missing pack). */
const unreadableWarning = (path: string, why: string) => `git: ${label(path)}: the repository cannot be read (${why}): its history is left out`;
/** Whether an artifact left a repository out because it could not be read: it is not reused (the repository may be repaired since). */
const unreadable = (a: GitArtifact) => a.warnings.some((w) => / the repository cannot be read \(/.test(w));

export type ProvenanceInput = {
  root: string;
  includePaths: string[];
  maxCommits: number;
  redact: (text: string) => string;
  /** Settings that shape the artifact (the config hash), mixed into the key. */
  salt: string;
  /** The previous run's artifact text, when there is one (reused when its key is the same). */
  previous?: () => string | undefined;
};

export type Provenance = { text: string; artifact: GitArtifact; reused: boolean } | { text?: undefined; warnings: string[] };

/**
 * Builds (or reuses) the git artifact of a workspace. No repository with commits: no artifact,
 * only warnings. Any failure reading one repository drops that repository, with a warning.
 */
export async function buildProvenance(input: ProvenanceInput): Promise<Provenance> {
  const { repos, warnings } = discoverRepos(input.root, input.includePaths);
  if (repos.length === 0) {
    warnings.push("git: git.enabled is set but no git repository was found at the workspace root, an include path or directly inside one");
    return { warnings };
  }
  // What discovery found (repositories and .git files) is part of the key too: a new worktree must warn.
  const key = await stateKey(repos, input.maxCommits, input.includePaths, input.salt, [...repos.map((r) => r.path), ...warnings]);
  const prevText = input.previous?.();
  if (prevText) {
    try {
      const prev = JSON.parse(prevText) as GitArtifact;
      if (prev.format === GIT_FORMAT && prev.key === key && !unreadable(prev)) return { text: prevText, artifact: prev, reused: true };
    } catch { /* rebuilt below */ }
  }
  const includes = input.includePaths.map((p) => p.replace(/\\/g, "/").replace(/^\.\/+/, "").replace(/\/+$/, "")).map((p) => (p === "" ? "." : p));
  const underInclude = (p: string) => includes.some((inc) => inc === "." || p === inc || p.startsWith(inc + "/"));

  const rows: RepoRow[] = [];
  const commits = new Map<string, CommitRow>();
  const authors = new Map<string, AuthorRow>();
  const nameOf = new Map<string, string>();
  for (const found of repos) {
    const repo = new Repo(found.dir, join(found.dir, ".git"));
    const prefix = found.path === "" ? "" : found.path + "/";
    const mine: CommitRow[] = [];
    const submodules = new Set<string>();
    try {
      const head = await repo.head();
      if (!head) { warnings.push(`git: ${label(found.path)} is a git repository without commits yet: no history to read`); continue; }
      const walk = await walkHistory(repo, head, input.maxCommits);
      for (const c of walk.commits) {
        const parents = await Promise.all(c.parents.map((p) => repo.commit(p)));
        const paths: string[] = [];
        for (const ch of await repo.diff(parents[0]?.tree, c.tree)) {
          if (ch.gitlink) { submodules.add(prefix + ch.path); continue; }
          // A merge changed a path only when it differs from every parent.
          let fromAll = true;
          for (const p of parents.slice(1)) if ((await repo.entryAt(p.tree, ch.path))?.oid === ch.after) { fromAll = false; break; }
          const wp = prefix + ch.path;
          if (fromAll && underInclude(wp)) paths.push(wp);
        }
        mine.push([c.oid, input.redact(c.subject).slice(0, MAX_SUBJECT), authorKey(c.author.email), c.author.time, paths]);
        if (!nameOf.has(c.oid)) nameOf.set(c.oid, c.author.name);
      }
      const gm = await repo.entryAt((await repo.commit(head)).tree, ".gitmodules");
      if (gm && gm.type === "blob") {
        const text = new TextDecoder().decode(await repo.blob(gm.oid));
        for (const m of text.matchAll(/^\s*path\s*=\s*(.+?)\s*$/gm)) submodules.add(prefix + m[1]!);
      }
      if (repo.shallow.size > 0) warnings.push(`git: ${label(found.path)} is a shallow clone (.git/shallow): its history stops at ${repo.shallow.size} grafted commit(s)`);
      if (submodules.size > 0) {
        const list = [...submodules].sort(byCodeUnit);
        warnings.push(`git: ${label(found.path)} has submodule(s) ${list.slice(0, 5).join(", ")}${list.length > 5 ? ` and ${list.length - 5} more` : ""} (gitlinks): their history is not read`);
      }
      rows.push({ path: found.path, head, commits: walk.commits.length, truncated: walk.truncated, shallow: repo.shallow.size > 0 });
      repo.close();
    } catch (err) {
      repo.close();
      // No absolute path in a warning: the manifest must not depend on where the workspace lives.
      const msg = String((err as Error)?.message ?? err).split("\n")[0]!.split(found.dir).join(label(found.path)).split(input.root).join(".");
      const why = err instanceof GitProblem && err.kind === "unreadable" ? msg.replace(/^.*?: (cannot read .*?) \((.*)\); is the .*$/, "$1: $2") : msg;
      warnings.push(unreadableWarning(found.path, why));
      continue;
    }
    for (const row of mine) {
      const have = commits.get(row[0]);
      if (have) { have[4] = [...new Set([...have[4], ...row[4]])].sort(byCodeUnit); continue; }
      commits.set(row[0], row);
    }
  }
  // Authors: commit counts over the distinct commits; the name of each one's newest commit (walk order, repositories in path order).
  const c0 = [...commits.values()];
  for (const [oid, , akey] of c0) {
    const a = authors.get(akey);
    if (a) a[2]++;
    else authors.set(akey, [akey, input.redact(nameOf.get(oid) ?? ""), 1]);
  }
  for (const row of c0) {
    const own = input.redact(nameOf.get(row[0]) ?? "");
    if (own !== authors.get(row[2])![1]) row[5] = own;
  }
  warnings.sort(byCodeUnit); // by repository path ("git: <path> …")
  if (rows.length === 0) return { warnings };
  const artifact: GitArtifact = {
    format: GIT_FORMAT, key, max_commits: input.maxCommits, repos: rows,
    authors: [...authors.values()].sort((a, b) => byCodeUnit(a[0], b[0])), commits: c0, warnings,
  };
  return { text: canonicalJson(artifact), artifact, reused: false };
}

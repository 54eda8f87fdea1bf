/**
 * Reading a git repository without a `git` executable (isomorphic-git over node:fs): finding the
 * repository of a directory, refusing what cannot be read faithfully (a `.git` file: worktree or
 * submodule checkout), and cached reads of commits, trees and blobs. Everything above this file
 * (walk.ts, queries.ts, provenance.ts) sees only `Repo`.
 */
import * as fs from "node:fs";
import { join, resolve } from "node:path";
import { loadEntry } from "../shared/entries.ts";
import { AgError } from "../shared/errors.ts";
import { diffTrees, findInTree, ObjectReader, parseCommit, parseTree, type ParsedCommit } from "./objects.ts";

const EMPTY = new Uint8Array(0);

type IsoGit = typeof import("isomorphic-git").default;
let isogit: Promise<IsoGit> | undefined;
/** isomorphic-git, loaded when a repository is first read (src/git/isogit.ts, a module of its own in the executable). */
const lib = (): Promise<IsoGit> => (isogit ??= loadEntry<{ default: IsoGit }>("git/isogit.ts").then((m) => m.default));

/** What is wrong with a repository, for a warning (ingest) or a one-line error (the git commands). */
export type GitProblemKind = "not_repository" | "worktree" | "submodule" | "gitfile" | "shallow" | "no_commits" | "unreadable";

export class GitProblem extends Error {
  constructor(readonly kind: GitProblemKind, message: string) {
    super(message);
    this.name = "GitProblem";
  }
}

export type Person = { name: string; email: string; time: number };
export type Commit = { oid: string; parents: string[]; tree: string; author: Person; time: number; subject: string; message: string };
export type TreeEntry = { name: string; mode: string; oid: string; type: "blob" | "tree" | "commit" };
/** One changed path between two trees: the blob (or gitlink) ids before and after (absent: added / deleted). */
export type Change = { path: string; before?: string; after?: string; gitlink?: boolean };

/**
 * What `dir/.git` is: a directory (a repository), a file (a worktree or a submodule checkout,
 * whose objects live elsewhere), or nothing.
 */
export function inspectGitDir(dir: string): { kind: "none" } | { kind: "dir"; gitdir: string } | { kind: "file"; target: string; problem: GitProblem } {
  const p = join(dir, ".git");
  let st: fs.Stats;
  try { st = fs.lstatSync(p); } catch { return { kind: "none" }; }
  if (st.isDirectory()) return { kind: "dir", gitdir: p };
  let target = "";
  try { target = /^gitdir:\s*(.+?)\s*$/m.exec(fs.readFileSync(p, "utf8"))?.[1] ?? ""; } catch {}
  const abs = target ? resolve(dir, target) : "";
  const norm = abs.replace(/\\/g, "/");
  const problem = /\/worktrees\/[^/]+$/.test(norm)
    ? new GitProblem("worktree", `${dir} is a git worktree (.git is a file pointing to ${abs}); read the main checkout instead`)
    : /\/modules\//.test(norm)
      ? new GitProblem("submodule", `${dir} is a git submodule checkout (.git is a file pointing to ${abs}); its history is not read`)
      : new GitProblem("gitfile", `${dir}/.git is a file${abs ? ` pointing to ${abs}` : ""}, not a repository directory; its history is not read`);
  return { kind: "file", target: abs, problem };
}

/** One line about a read failure (isomorphic-git's InternalError keeps the real reason in data.message). */
const describe = (err: unknown) => {
  const inner = (err as { data?: { message?: unknown } })?.data?.message;
  const text = typeof inner === "string" && inner ? inner : err instanceof Error ? err.message : String(err);
  return text.split("\n")[0]!.trim();
};
/**
 * A commit's subject as `git log --format=%s` gives it: the message's first paragraph after any
 * blank lines, its lines joined by a space (the first line alone was empty for a message that
 * starts with a blank line, as `git commit --cleanup=verbatim` keeps it).
 */
export function subjectOf(message: string): string {
  const lines = message.split("\n");
  let i = 0;
  while (i < lines.length && lines[i]!.trim() === "") i++;
  const para: string[] = [];
  for (; i < lines.length && lines[i]!.trim() !== ""; i++) para.push(lines[i]!.trim());
  return para.join(" ");
}

/** A repository opened for reading, with per-object caches (objects are immutable). */
export class Repo {
  /** isomorphic-git's own cache (parsed pack indexes), shared by every read. */
  private readonly igCache = {};
  private readonly commits = new Map<string, Commit>();
  private readonly trees = new Map<string, TreeEntry[]>();
  private treeEntries = 0;
  /** Raw tree objects for path lookups (entryAt), which need one name of each tree, not all of them. */
  private readonly rawTrees = new Map<string, Uint8Array>();
  private rawBytes = 0;
  /** The fast path (objects.ts); isomorphic-git reads whatever it declines. */
  private readonly fast: ObjectReader;
  /** Commits whose parents are missing on purpose (`.git/shallow`): treated as roots. */
  readonly shallow: ReadonlySet<string>;

  private partialClone?: boolean;
  /**
   * A partial clone (a promisor remote in its config): objects may be missing on purpose, fetched by
   * git when needed. Read from the config the first time an object cannot be read (the only time it matters).
   */
  get partial(): boolean {
    if (this.partialClone === undefined) {
      let config = "";
      try { config = fs.readFileSync(join(this.gitdir, "config"), "utf8"); } catch {}
      this.partialClone = /^\s*(?:promisor\s*=\s*true|partialclonefilter\s*=)/im.test(config);
    }
    return this.partialClone;
  }

  constructor(readonly dir: string, readonly gitdir: string) {
    let shallow: string[] = [];
    try { shallow = fs.readFileSync(join(gitdir, "shallow"), "utf8").split("\n").map((s) => s.trim()).filter((s) => /^[0-9a-f]{40}$/.test(s)); } catch {}
    this.shallow = new Set(shallow);
    this.fast = new ObjectReader(gitdir);
  }

  /** Releases the pack files' descriptors. */
  close(): void { this.fast.close(); }

  /** Opens the repository whose `.git` is in `dir` (worktree/submodule checkouts and missing ones are GitProblems). */
  static open(dir: string): Repo {
    const g = inspectGitDir(dir);
    if (g.kind === "none") throw new GitProblem("not_repository", `${dir} is not a git repository (no .git)`);
    if (g.kind === "file") throw g.problem;
    return new Repo(dir, g.gitdir);
  }

  private unreadable(what: string, err: unknown): GitProblem | AgError {
    if (err instanceof AgError) return err; // not the repository's fault (an executable built without isomorphic-git)
    // A partial clone (`git clone --filter=blob:none`) leaves objects out until git fetches them: not damage.
    if (this.partial) return new GitProblem("unreadable", `${this.dir}: cannot read ${what} (${describe(err)}): the repository is a partial clone and the object was not fetched; \`git fetch --refetch\` or a full clone has it`);
    // A pack index the fast reader could not read says more than what isomorphic-git then tripped on.
    const damaged = this.fast.damaged[0];
    if (damaged) return new GitProblem("unreadable", `${this.dir}: cannot read ${what} (pack index ${damaged}); is the repository damaged (a corrupt pack)?`);
    return new GitProblem("unreadable", `${this.dir}: cannot read ${what} (${describe(err)}); is the repository damaged (a missing or corrupt object)?`);
  }

  /**
   * What makes the repository unreadable before any object is read: SHA-256 object names
   * (`extensions.objectformat`), and a HEAD that names neither a branch nor a commit (a damaged or
   * empty file, a ref outside refs/). Each read as "no commits" before.
   */
  private checkReadable(): void {
    let config = "";
    try { config = fs.readFileSync(join(this.gitdir, "config"), "utf8"); } catch {}
    if (/^\s*objectformat\s*=\s*sha256\s*$/im.test(config)) {
      throw new GitProblem("unreadable", `${this.dir} uses SHA-256 object names (extensions.objectformat = sha256 in .git/config), which auditgraph does not read`);
    }
    let head: string;
    try { head = fs.readFileSync(join(this.gitdir, "HEAD"), "utf8").trim(); } catch (err) {
      throw new GitProblem("unreadable", `${this.dir}: .git/HEAD cannot be read (${describe(err)}): the repository is damaged`);
    }
    const ref = /^ref:\s*(\S+)$/.exec(head)?.[1];
    const okRef = ref !== undefined && ref.startsWith("refs/") && !ref.split("/").some((p) => p === "" || p === "." || p === "..");
    if (!okRef && !/^[0-9a-f]{40}$/.test(head)) {
      const shown = JSON.stringify(head.length > 60 ? head.slice(0, 60) + "…" : head);
      throw new GitProblem("unreadable", `${this.dir}: .git/HEAD is ${head ? shown : "empty"}, neither a branch (ref: refs/…) nor a commit id: the repository is damaged`);
    }
  }

  /** HEAD's commit id, or undefined when the current branch has no commit yet. */
  async head(): Promise<string | undefined> {
    this.checkReadable();
    let oid: string;
    try { oid = await (await lib()).resolveRef({ fs, gitdir: this.gitdir, ref: "HEAD" }); } catch (err) {
      if ((err as { code?: string }).code === "NotFoundError") return undefined;
      throw this.unreadable("HEAD", err);
    }
    return /^[0-9a-f]{40}$/.test(oid) ? oid : undefined;
  }

  /** The checked-out branch when it has no commit but other branches do (`git checkout --orphan`), else undefined. */
  async orphanBranch(): Promise<string | undefined> {
    const g = await lib();
    const branch = await g.currentBranch({ fs, gitdir: this.gitdir, fullname: false }).catch(() => undefined);
    const all: string[] = await g.listBranches({ fs, gitdir: this.gitdir }).catch(() => []);
    return branch && all.some((b) => b !== branch) ? branch : undefined;
  }

  async commit(oid: string): Promise<Commit> {
    let c = this.commits.get(oid);
    if (c) return c;
    // The object's bytes from the fast reader, else from isomorphic-git; parsed here either way, as
    // leniently as git log reads a commit (isomorphic-git's own parser throws a TypeError on an
    // author line without a date or an e-mail).
    let raw: { type: string; data: Uint8Array } | undefined = this.fast.read(oid);
    if (!raw) {
      try {
        const o = await (await lib()).readObject({ fs, gitdir: this.gitdir, oid, format: "content", cache: this.igCache });
        raw = { type: o.type, data: o.object as Uint8Array };
      } catch (err) { throw this.unreadable(`commit ${oid}`, err); }
    }
    if (raw.type !== "commit") throw new GitProblem("unreadable", `${this.dir}: object ${oid} is a ${raw.type}, not a commit`);
    const k: ParsedCommit | undefined = parseCommit(raw.data);
    if (!k) throw new GitProblem("unreadable", `${this.dir}: commit ${oid} cannot be read (no valid tree or parent id in its headers)`);
    c = {
      oid,
      parents: this.shallow.has(oid) ? [] : [...k.parent],
      tree: k.tree,
      author: { name: k.author.name, email: k.author.email, time: k.author.timestamp },
      time: k.committer.timestamp,
      subject: subjectOf(k.message),
      message: k.message,
    };
    this.commits.set(oid, c);
    return c;
  }

  async tree(oid: string): Promise<TreeEntry[]> {
    let t = this.trees.get(oid);
    if (t) return t;
    const raw = this.fast.read(oid);
    let entries = raw?.type === "tree" ? parseTree(raw.data) : undefined;
    if (!entries) {
      try { entries = (await (await lib()).readTree({ fs, gitdir: this.gitdir, oid, cache: this.igCache })).tree; } catch (err) { throw this.unreadable(`tree ${oid}`, err); }
    }
    t = entries.map((e) => ({ name: e.path, mode: e.mode, oid: e.oid, type: e.type as TreeEntry["type"] }));
    // Bounded: a long walk reads each tree once or twice, and a large repository has millions of entries.
    if (this.treeEntries > 1_000_000) { this.trees.clear(); this.treeEntries = 0; }
    this.trees.set(oid, t);
    this.treeEntries += t.length;
    return t;
  }

  async blob(oid: string): Promise<Uint8Array> {
    const raw = this.fast.read(oid);
    if (raw?.type === "blob") return raw.data;
    try { return (await (await lib()).readBlob({ fs, gitdir: this.gitdir, oid, cache: this.igCache })).blob; } catch (err) { throw this.unreadable(`blob ${oid}`, err); }
  }

  /** The entry at a repository-relative POSIX path ("" = the root tree) of a tree, or undefined. */
  async entryAt(treeOid: string, path: string): Promise<{ oid: string; type: TreeEntry["type"] } | undefined> {
    if (path === "") return { oid: treeOid, type: "tree" };
    let cur: { oid: string; type: TreeEntry["type"] } = { oid: treeOid, type: "tree" };
    for (const part of path.split("/")) {
      if (cur.type !== "tree") return undefined;
      const e = await this.lookup(cur.oid, part);
      if (!e) return undefined;
      cur = e;
    }
    return cur;
  }

  /** A tree object's bytes through the fast path (cached, bounded), or undefined when only isomorphic-git can read it. */
  private rawTree(oid: string): Uint8Array | undefined {
    let raw = this.rawTrees.get(oid);
    if (!raw) {
      const o = this.fast.read(oid);
      if (o?.type !== "tree") return undefined;
      raw = o.data;
      if (this.rawBytes > 64 << 20) { this.rawTrees.clear(); this.rawBytes = 0; }
      this.rawTrees.set(oid, raw);
      this.rawBytes += raw.length;
    }
    return raw;
  }

  /** One name in a tree: from the parsed tree when cached, else scanning the raw object (cheaper than parsing it). */
  private async lookup(treeOid: string, name: string): Promise<{ oid: string; type: TreeEntry["type"] } | undefined> {
    const parsed = this.trees.get(treeOid);
    if (!parsed) {
      const raw = this.rawTree(treeOid);
      const hit = raw ? findInTree(raw, name) : null;
      if (hit !== null) return hit;
    }
    const e = (parsed ?? (await this.tree(treeOid))).find((x) => x.name === name);
    return e && { oid: e.oid, type: e.type };
  }

  /**
   * The blob and gitlink paths that differ between two trees (`before` undefined: an empty tree),
   * sorted by path; only subtrees whose ids differ are read. `under`: only paths inside this prefix.
   */
  async diff(before: string | undefined, after: string | undefined, under = ""): Promise<Change[]> {
    const out: Change[] = [];
    const walk = async (a: string | undefined, b: string | undefined, prefix: string): Promise<void> => {
      if (a === b) return;
      const ra = a ? this.rawTree(a) : EMPTY;
      const rb = b ? this.rawTree(b) : EMPTY;
      let items = ra && rb ? diffTrees(ra, rb) : null;
      if (!items) {
        // The slow way (objects isomorphic-git had to read): parsed trees, matched by name.
        const ta = a ? await this.tree(a) : [];
        const tb = b ? await this.tree(b) : [];
        const ma = new Map(ta.map((e) => [e.name, e]));
        const mb = new Map(tb.map((e) => [e.name, e]));
        items = [];
        for (const name of [...new Set([...ma.keys(), ...mb.keys()])].sort(byCodeUnit)) {
          const ea = ma.get(name), eb = mb.get(name);
          if (ea && eb && ea.oid === eb.oid && ea.type === eb.type) continue;
          items.push({ name, ...(ea ? { before: ea } : {}), ...(eb ? { after: eb } : {}) });
        }
      }
      for (const { name, before: ea, after: eb } of items) {
        const path = prefix + name;
        if (under && !(path === under || path.startsWith(under + "/") || under.startsWith(path + "/"))) continue;
        const subA = ea?.type === "tree" ? ea.oid : undefined;
        const subB = eb?.type === "tree" ? eb.oid : undefined;
        if (subA || subB) await walk(subA, subB, path + "/");
        const leafA = ea && ea.type !== "tree" ? ea : undefined;
        const leafB = eb && eb.type !== "tree" ? eb : undefined;
        if ((leafA || leafB) && !(leafA && leafB && leafA.oid === leafB.oid && leafA.type === leafB.type)) {
          if (under && !(path === under || path.startsWith(under + "/"))) continue;
          out.push({
            path,
            ...(leafA ? { before: leafA.oid } : {}),
            ...(leafB ? { after: leafB.oid } : {}),
            ...(leafA?.type === "commit" || leafB?.type === "commit" ? { gitlink: true } : {}),
          });
        }
      }
    };
    await walk(before, after, "");
    return out.sort((x, y) => byCodeUnit(x.path, y.path));
  }
}

export const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * History questions over one repository (pure reads through Repo): the budgeted commit walk, a
 * path's commits (`log`, `who`), the commit that first added a line (`introduced`) and a file's
 * history across renames (`history`). Deterministic for the same repository state: commits come
 * newest first by committer time, ties by id (as `git log` orders them), and never depend on the
 * order of files on disk.
 */
import { byCodeUnit, type Change, type Commit, type Repo } from "./repo.ts";

export const DEFAULT_MAX_COMMITS = 5000;

export type Walk = { commits: Commit[]; truncated: boolean };

/**
 * Commits reachable from `head`, newest first (committer time, then id), at most `max`. `follow`
 * picks the parents a commit's history goes on through (default: all of them).
 */
export async function walkHistory(repo: Repo, head: string, max: number, follow?: (c: Commit) => Promise<string[]>): Promise<Walk> {
  const heap: Commit[] = [];
  const before = (a: Commit, b: Commit) => a.time > b.time || (a.time === b.time && a.oid < b.oid);
  const push = (c: Commit) => {
    heap.push(c);
    for (let i = heap.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!before(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const pop = (): Commit => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length) {
      heap[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  };
  const seen = new Set<string>([head]);
  push(await repo.commit(head));
  const commits: Commit[] = [];
  while (heap.length && commits.length < max) {
    const c = pop();
    commits.push(c);
    for (const p of follow ? await follow(c) : c.parents) if (!seen.has(p)) { seen.add(p); push(await repo.commit(p)); }
  }
  return { commits, truncated: heap.length > 0 };
}

/**
 * Whether a commit changed `path` (a file or a directory), as `git log PATH` decides by default:
 * a root commit when the path exists in it; any other when the path differs from every parent
 * (a merge that took one side unchanged did not change it).
 */
export async function touches(repo: Repo, c: Commit, path: string): Promise<{ touched: boolean; here?: string; parent?: string }> {
  const here = (await repo.entryAt(c.tree, path))?.oid;
  if (c.parents.length === 0) return { touched: here !== undefined, ...(here ? { here } : {}) };
  const inParents: (string | undefined)[] = [];
  for (const p of c.parents) inParents.push((await repo.entryAt((await repo.commit(p)).tree, path))?.oid);
  const first = inParents[0];
  return { touched: inParents.every((o) => o !== here), ...(here ? { here } : {}), ...(first ? { parent: first } : {}) };
}

export type LogEntry = { oid: string; author: { name: string; email: string }; time: number; subject: string };
const entry = (c: Commit): LogEntry => ({ oid: c.oid, author: { name: c.author.name, email: c.author.email }, time: c.author.time, subject: c.subject });

/**
 * The commits that changed `path`, newest first, at most `limit`; `truncated`: the walk stopped at
 * the budget. History is simplified as `git log PATH` does by default: a merge whose `path` is the
 * same as one parent's (the first such) is walked through that parent only, so a side branch whose
 * change to it the merge threw away (`-s ours`) is not in the log.
 */
export async function pathLog(repo: Repo, head: string, path: string, opts: { max: number; limit?: number }): Promise<{ commits: LogEntry[]; examined: number; truncated: boolean }> {
  const follow = async (c: Commit): Promise<string[]> => {
    if (c.parents.length < 2) return c.parents;
    const here = (await repo.entryAt(c.tree, path))?.oid;
    for (const p of c.parents) if ((await repo.entryAt((await repo.commit(p)).tree, path))?.oid === here) return [p];
    return c.parents;
  };
  const w = await walkHistory(repo, head, opts.max, follow);
  const out: LogEntry[] = [];
  let examined = 0;
  for (const c of w.commits) {
    examined++;
    if ((await touches(repo, c, path)).touched) out.push(entry(c));
    if (opts.limit !== undefined && out.length >= opts.limit) break;
  }
  return { commits: out, examined, truncated: w.truncated && examined === w.commits.length };
}

export type Contributor = { name: string; email: string; commits: number; last: { oid: string; time: number; subject: string } };

/** Who changed `path`: one row per author e-mail (case-insensitive), most commits first, then latest change. */
export async function whoChanged(repo: Repo, head: string, path: string, max: number): Promise<{ authors: Contributor[]; commits: number; truncated: boolean }> {
  const log = await pathLog(repo, head, path, { max });
  const by = new Map<string, Contributor>();
  for (const c of log.commits) {
    const key = c.author.email.trim().toLowerCase();
    const row = by.get(key);
    if (row) { row.commits++; continue; }
    // The newest commit comes first: its name and time are the author's latest.
    by.set(key, { name: c.author.name, email: c.author.email, commits: 1, last: { oid: c.oid, time: c.time, subject: c.subject } });
  }
  const authors = [...by.values()].sort((a, b) => b.commits - a.commits || b.last.time - a.last.time || byCodeUnit(a.email.toLowerCase(), b.email.toLowerCase()));
  return { authors, commits: log.commits.length, truncated: log.truncated };
}

const utf8 = new TextDecoder("utf-8");
/** A blob's text, or undefined for binary content (a NUL in its first 8 KiB, as git decides). */
function textOf(b: Uint8Array): string | undefined {
  if (b.subarray(0, 8192).includes(0)) return undefined;
  return utf8.decode(b);
}
const linesOf = (t: string) => t.split("\n");
const counts = (lines: string[]) => {
  const m = new Map<string, number>();
  for (const l of lines) m.set(l, (m.get(l) ?? 0) + 1);
  return m;
};

export type Introduction = LogEntry & { path: string; line: number; text: string };

/**
 * The oldest commit (within the newest `max` commits, searched forward in time) whose change adds
 * a line containing `text` (a line counts as added when the file after the commit holds more
 * copies of it than the file before, which for a renamed file is the file it was renamed from
 * (renameSource); for a merge, than every parent). Paths in `under` only.
 */
export async function introduced(repo: Repo, head: string, text: string, opts: { max: number; under?: string }): Promise<{ found?: Introduction; examined: number; truncated: boolean }> {
  const w = await walkHistory(repo, head, opts.max);
  const oldestFirst = [...w.commits].reverse();
  const blobText = async (oid: string | undefined) => (oid ? textOf(await repo.blob(oid)) : "");
  for (const c of oldestFirst) {
    const parents = await Promise.all(c.parents.map((p) => repo.commit(p)));
    const changes: Change[] = await repo.diff(parents[0]?.tree, c.tree, opts.under ?? "");
    for (const ch of changes) {
      if (!ch.after || ch.gitlink) continue;
      const now = await blobText(ch.after);
      if (now === undefined || !now.includes(text)) continue;
      // A file new at this path may be a renamed one: "the file before" is then the one it came from
      // (renameSource looks at the whole commit, so a diff restricted to the new path finds it too).
      let before = ch.before;
      if (before === undefined && parents[0]) {
        const src = await renameSource(repo, c, ch.path, ch.after);
        if (src) before = (await repo.entryAt(parents[0].tree, src.from))?.oid;
      }
      const old = await blobText(before);
      if (old === undefined) continue;
      const olds = [counts(linesOf(old))];
      for (const p of parents.slice(1)) {
        const o = await blobText((await repo.entryAt(p.tree, ch.path))?.oid);
        olds.push(counts(linesOf(o ?? "")));
      }
      const lines = linesOf(now);
      for (let i = 0; i < lines.length; i++) {
        const l = lines[i]!;
        let added = l.includes(text);
        for (const m of olds) {
          const n = m.get(l) ?? 0;
          if (n > 0) { m.set(l, n - 1); added = false; }
        }
        if (added) return { found: { ...entry(c), path: ch.path, line: i + 1, text: l }, examined: w.commits.length, truncated: w.truncated };
      }
    }
  }
  return { examined: w.commits.length, truncated: w.truncated };
}

/** Renames are found by equal blob ids, else by line similarity of at least this much. */
export const RENAME_SIMILARITY = 0.5;
const MAX_RENAME_CANDIDATES = 100;
const MAX_RENAME_BYTES = 1 << 20;

/** A text's lines for similarity: the empty piece after a final newline is no line (it made any two one-line files 50% alike). */
const contentLines = (t: string) => {
  const l = linesOf(t);
  if (l.length > 1 && l[l.length - 1] === "") l.pop();
  return l;
};

/**
 * 2 × common lines / (lines before + lines after): 1 for equal texts, 0 for nothing in common. Over
 * texts already cut into their content lines (a renamed file's are cut once for all its candidates).
 */
function similarity(la: string[], lb: string[]): number {
  const m = counts(la);
  let common = 0;
  for (const l of lb) { const n = m.get(l) ?? 0; if (n > 0) { common++; m.set(l, n - 1); } }
  return (2 * common) / (la.length + lb.length);
}

/**
 * The deleted path a commit renamed to `path` (whose blob is `after`), or undefined: a deleted
 * blob with the same id, else the most similar deleted text file (ties: the smaller path).
 */
export async function renameSource(repo: Repo, c: Commit, path: string, after: string): Promise<{ from: string; similarity: number } | undefined> {
  if (c.parents.length === 0) return undefined;
  const parent = await repo.commit(c.parents[0]!);
  const deleted = (await repo.diff(parent.tree, c.tree)).filter((ch) => ch.before && !ch.after && !ch.gitlink && ch.path !== path);
  const exact = deleted.find((ch) => ch.before === after);
  if (exact) return { from: exact.path, similarity: 1 };
  const mine = await repo.blob(after);
  if (mine.length > MAX_RENAME_BYTES) return undefined;
  const text = textOf(mine);
  if (text === undefined) return undefined;
  const lines = contentLines(text);
  let best: { from: string; similarity: number } | undefined;
  for (const ch of deleted.slice(0, MAX_RENAME_CANDIDATES)) {
    const b = await repo.blob(ch.before!);
    if (b.length > MAX_RENAME_BYTES) continue;
    const t = textOf(b);
    if (t === undefined) continue;
    const s = similarity(contentLines(t), lines);
    if (s >= RENAME_SIMILARITY && (!best || s > best.similarity)) best = { from: ch.path, similarity: s };
  }
  return best;
}

export type HistoryEntry = LogEntry & { path: string; change: "added" | "modified" | "deleted" | "renamed"; from?: string; similarity?: number };

/** A file's commits newest first, following renames back (the path changes at each rename). */
export async function fileHistory(repo: Repo, head: string, path: string, max: number): Promise<{ commits: HistoryEntry[]; paths: string[]; truncated: boolean }> {
  const w = await walkHistory(repo, head, max);
  const out: HistoryEntry[] = [];
  const paths = [path];
  let cur = path;
  for (const c of w.commits) {
    const t = await touches(repo, c, cur);
    if (!t.touched) continue;
    if (t.here === undefined) { out.push({ ...entry(c), path: cur, change: "deleted" }); continue; }
    if (t.parent !== undefined) { out.push({ ...entry(c), path: cur, change: "modified" }); continue; }
    const src = (await repo.entryAt(c.tree, cur))?.type === "blob" ? await renameSource(repo, c, cur, t.here) : undefined;
    if (!src) { out.push({ ...entry(c), path: cur, change: "added" }); continue; }
    out.push({ ...entry(c), path: cur, change: "renamed", from: src.from, similarity: Math.round(src.similarity * 100) / 100 });
    cur = src.from;
    paths.push(cur);
  }
  return { commits: out, paths, truncated: w.truncated };
}

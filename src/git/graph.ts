/**
 * The git artifact as graph nodes and edges, for the run's index (query/run-index.ts): `commit`
 * and `author` nodes, `authored` (author → commit) and `modified` (commit → document) edges. A
 * `modified` edge exists only when its document was ingested in the same run (the artifact keeps
 * paths; the caller says which are documents), as `links_to` edges are resolved.
 */
import type { AuthorRow, CommitRow, GitArtifact } from "./provenance.ts";

/** The artifact's name in a run manifest. */
export const GIT_ARTIFACT = "git";

export type GitNode = { id: string; type: "commit" | "author"; name: string; attrs: Record<string, unknown> };
export type GitEdge = { source: string; target: string; type: "authored" | "modified" };

export const commitNodeId = (oid: string) => `commit_${oid}`;
export const authorNodeId = (key: string) => `author_${key}`;
const COMMIT = /^commit_([0-9a-f]{40})$/;
const AUTHOR = /^author_([0-9a-f]{20})$/;

/** The largest time, in seconds either side of 1970, that a JavaScript Date holds (100,000,000 days). */
const MAX_DATE_SECONDS = 8_640_000_000_000;
/**
 * A commit time (seconds) as ISO 8601 UTC. Git stores any integer; one past what a Date holds
 * (an author date in the year 3,170,843) is shown as the nearest one it holds, +275760-09-13: it
 * threw "Invalid Date" wherever the commit was read (export, list, the git commands).
 */
export const isoTime = (t: number) => new Date(Math.max(-MAX_DATE_SECONDS, Math.min(MAX_DATE_SECONDS, t)) * 1000).toISOString().replace(".000Z", "Z");

export class GitGraph {
  private readonly commits = new Map<string, CommitRow>();
  private readonly authors = new Map<string, AuthorRow>();
  private byPath?: Map<string, string[]>;
  private byAuthor?: Map<string, string[]>;

  constructor(readonly artifact: GitArtifact) {
    for (const c of artifact.commits) this.commits.set(c[0], c);
    for (const a of artifact.authors) this.authors.set(a[0], a);
  }

  static parse(text: string): GitGraph {
    const a = JSON.parse(text) as GitArtifact;
    if (!a || !Array.isArray(a.commits) || !Array.isArray(a.authors)) throw new Error("not a git artifact");
    return new GitGraph(a);
  }

  get commitCount(): number { return this.commits.size; }
  get authorCount(): number { return this.authors.size; }

  private commitNode(c: CommitRow): GitNode {
    const a = this.authors.get(c[2]);
    // The commit's own name when its author's row has another (one e-mail, two names).
    return { id: commitNodeId(c[0]), type: "commit", name: c[1], attrs: { oid: c[0], time: isoTime(c[3]), author: c[5] ?? a?.[1] ?? "", author_id: authorNodeId(c[2]) } };
  }

  private authorNode(a: AuthorRow): GitNode {
    return { id: authorNodeId(a[0]), type: "author", name: a[1], attrs: { commits: a[2] } };
  }

  /** A commit or author node without edges, or undefined (not a git id, or not in this run). */
  nodeOnly(id: string): GitNode | undefined {
    let m = COMMIT.exec(id);
    if (m) { const c = this.commits.get(m[1]!); return c && this.commitNode(c); }
    m = AUTHOR.exec(id);
    if (m) { const a = this.authors.get(m[1]!); return a && this.authorNode(a); }
    return undefined;
  }

  /** A commit or author with its edges; `docOf(path)`: the document id when the path was ingested in this run. */
  node(id: string, docOf: (path: string) => string | undefined): { node: GitNode; out: GitEdge[]; in: GitEdge[] } | undefined {
    const node = this.nodeOnly(id);
    if (!node) return undefined;
    if (node.type === "commit") {
      const c = this.commits.get(node.attrs.oid as string)!;
      const out: GitEdge[] = [];
      for (const p of c[4]) { const d = docOf(p); if (d) out.push({ source: id, target: d, type: "modified" }); }
      return { node, out, in: [{ source: authorNodeId(c[2]), target: id, type: "authored" }] };
    }
    const key = id.slice("author_".length);
    const out = (this.authorIndex().get(key) ?? []).map((oid): GitEdge => ({ source: id, target: commitNodeId(oid), type: "authored" }));
    return { node, out, in: [] };
  }

  /** The `modified` edges into a document (by its path). */
  modifiedInto(path: string, docIdOf: string): GitEdge[] {
    if (!this.byPath) {
      this.byPath = new Map();
      for (const c of this.commits.values()) for (const p of c[4]) { const l = this.byPath.get(p); if (l) l.push(c[0]); else this.byPath.set(p, [c[0]]); }
    }
    return (this.byPath.get(path) ?? []).map((oid) => ({ source: commitNodeId(oid), target: docIdOf, type: "modified" }));
  }

  private authorIndex(): Map<string, string[]> {
    if (!this.byAuthor) {
      this.byAuthor = new Map();
      for (const c of this.commits.values()) { const l = this.byAuthor.get(c[2]); if (l) l.push(c[0]); else this.byAuthor.set(c[2], [c[0]]); }
    }
    return this.byAuthor;
  }

  /** Every node (authors, then commits). */
  *nodes(): Generator<GitNode> {
    for (const a of this.authors.values()) yield this.authorNode(a);
    for (const c of this.commits.values()) yield this.commitNode(c);
  }

  /** Every edge, `modified` ones only to ingested documents. */
  edges(docOf: (path: string) => string | undefined): GitEdge[] {
    const out: GitEdge[] = [];
    for (const c of this.commits.values()) {
      const id = commitNodeId(c[0]);
      out.push({ source: authorNodeId(c[2]), target: id, type: "authored" });
      for (const p of c[4]) { const d = docOf(p); if (d) out.push({ source: id, target: d, type: "modified" }); }
    }
    return out;
  }

  /** How many `modified` edges resolve, given the run's ingested paths (for the manifest's counts). */
  resolvedModified(isDoc: (path: string) => boolean): number {
    let n = 0;
    for (const c of this.commits.values()) for (const p of c[4]) if (isDoc(p)) n++;
    return n;
  }
}

/**
 * The strings of a git artifact that came from the repositories (commit subjects, author names),
 * each with its node id and field: what the secret re-scan (`validate-store`) reads of it. Paths
 * are left out (file names are never redacted).
 */
export function* gitStrings(value: unknown): Generator<{ node: string; field: string; text: string }> {
  const a = value as Partial<GitArtifact> | null;
  for (const c of Array.isArray(a?.commits) ? a.commits : []) {
    if (!Array.isArray(c)) continue;
    if (typeof c[1] === "string") yield { node: commitNodeId(String(c[0])), field: "subject", text: c[1] };
    if (typeof c[5] === "string") yield { node: commitNodeId(String(c[0])), field: "author", text: c[5] }; // a commit's own author name (format 2)
  }
  for (const r of Array.isArray(a?.authors) ? a.authors : []) if (Array.isArray(r) && typeof r[1] === "string") yield { node: authorNodeId(String(r[0])), field: "name", text: r[1] };
}

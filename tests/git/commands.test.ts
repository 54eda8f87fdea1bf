// `auditgraph git who|log|introduced|history` on a real repository (packed and loose objects, a
// similar-content rename, three authors), their errors, and git provenance in the graph: commits and
// authors as nodes, byte-identical artifacts from two locations, reuse while HEAD is unchanged, the
// max_commits budget.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, tempDir } from "../helpers/cli.ts";
import { git, gitConfig, makeHistory } from "./fixture.ts";

let repo: string;
let ids: ReturnType<typeof makeHistory>;

beforeAll(() => {
  repo = tempDir("ag-git-");
  ids = makeHistory(repo);
}, 60_000);
afterAll(cleanup);

const oneLineError = (r: { code: number; stdout: string; stderr: string }) => {
  expect(r.code).toBe(2);
  expect(r.stderr).toStartWith("error: ");
  expect(r.stderr).not.toContain("    at ");
  return r.stderr.split("\n")[0]!;
};

describe("git commands", () => {
  test("who: authors of a path with commit counts and last change", () => {
    const r = cli(["git", "who", "notes/b.md", "--root", repo, "--json"]);
    expect(r.code).toBe(0);
    expect(r.json.commits).toBe(2);
    expect(r.json.truncated).toBe(false);
    expect(r.json.authors).toEqual([
      { name: "Bob", email: "bob@example.com", commits: 1, last_change: { id: `commit_${ids.c5}`, oid: ids.c5, time: "2024-01-05T10:00:00Z", subject: "Bob extends b" } },
      { name: "Alice", email: "alice@example.com", commits: 1, last_change: { id: `commit_${ids.c3}`, oid: ids.c3, time: "2024-01-03T10:00:00Z", subject: "Rename a to b" } },
    ]);
    const dir = cli(["git", "who", "notes", "--root", repo]);
    expect(dir.code).toBe(0);
    expect(dir.stdout.split("\n")[0]).toBe("3 author(s) of notes, 6 commit(s)");
    expect(dir.stdout).toContain(`      3  Alice <alice@example.com>  last 2024-01-06T10:00:00Z ${ids.c6.slice(0, 10)} Add d`);
  }, 60_000);

  test("log: a path's commits newest first, --limit", () => {
    const all = cli(["git", "log", "notes", "--root", repo, "--json"]);
    expect(all.json.commits.map((c: any) => c.oid)).toEqual([ids.c6, ids.c5, ids.c4, ids.c3, ids.c2, ids.c1]);
    const one = cli(["git", "log", "notes/b.md", "--limit", "1", "--root", repo, "--json"]);
    expect(one.json.commits).toEqual([{ id: `commit_${ids.c5}`, oid: ids.c5, time: "2024-01-05T10:00:00Z", author: { name: "Bob", email: "bob@example.com" }, subject: "Bob extends b" }]);
    const text = cli(["git", "log", "notes/c.md", "--root", repo]);
    expect(text.stdout).toBe(`2 commit(s) changed notes/c.md\n  ${ids.c4.slice(0, 10)}  2024-01-04T10:00:00Z  Carol <Carol@Example.com>  Carol: a second needle\n  ${ids.c1.slice(0, 10)}  2024-01-01T10:00:00Z  Alice <alice@example.com>  Add a and c\n`);
    for (const bad of ["0", "x"]) expect(oneLineError(cli(["git", "log", "notes", "--limit", bad, "--root", repo]))).toBe(`error: --limit must be an integer from 1 to 1000000, got '${bad}'`);
  }, 60_000);

  test("introduced: the oldest commit adding a line with the text, optionally under a path", () => {
    const r = cli(["git", "introduced", "NEEDLE", "--root", repo, "--json"]);
    expect(r.json.found).toMatchObject({ oid: ids.c2, path: "notes/a.md", line: 7, text: "NEEDLE one", author: { name: "Bob" } });
    const c = cli(["git", "introduced", "NEEDLE", "--path", "notes/c.md", "--root", repo, "--json"]);
    expect(c.json.found).toMatchObject({ oid: ids.c4, path: "notes/c.md", line: 4 });
    // The rename (c3) carried "NEEDLE one" over: it did not add it, also when only the new path is
    // searched (the file it came from is outside --path) or the walk starts at the rename.
    const renamed = cli(["git", "introduced", "NEEDLE one", "--path", "notes/b.md", "--root", repo, "--json"]);
    expect([renamed.code, renamed.json.found?.oid ?? null]).toEqual([0, null]);
    const none = cli(["git", "introduced", "no such text anywhere", "--root", repo]);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe("no commit among the 6 read adds a line containing 'no such text anywhere'\n");
    const text = cli(["git", "introduced", "epsilon", "--root", repo]);
    expect(text.stdout).toBe(`${ids.c5.slice(0, 10)}  2024-01-05T10:00:00Z  Bob <bob@example.com>  Bob extends b\n  notes/b.md:8: epsilon\n`);
  }, 60_000);

  test("log and who simplify history as git log PATH does: a side branch whose change a merge threw away (-s ours) is not there", () => {
    const r = tempDir("ag-git-ours-");
    git(r, ["init", "-q", "."]);
    writeFileSync(join(r, "x.md"), "# X\n\nbase\n");
    git(r, ["add", "-A"]);
    git(r, ["commit", "-q", "-m", "base"], { date: "2024-02-01T10:00:00Z" });
    git(r, ["checkout", "-q", "-b", "feat"]);
    writeFileSync(join(r, "x.md"), "# X\n\nbase\nbob's line\n");
    git(r, ["commit", "-q", "-am", "feat edits x"], { date: "2024-02-02T10:00:00Z", name: "Bob", email: "bob@example.com" });
    git(r, ["checkout", "-q", "main"]);
    git(r, ["merge", "-q", "-s", "ours", "--no-edit", "feat"], { date: "2024-02-03T10:00:00Z" });
    const real = git(r, ["log", "--format=%s", "--", "x.md"]).trim().split("\n");
    expect(real).toEqual(["base"]);
    const log = cli(["git", "log", "x.md", "--root", r, "--json"]).json;
    expect(log.commits.map((c: any) => c.subject)).toEqual(real);
    expect(cli(["git", "who", "x.md", "--root", r, "--json"]).json.authors.map((a: any) => a.name)).toEqual(["Alice"]);
  }, 60_000);

  test("history: follows the rename back to notes/a.md", () => {
    const r = cli(["git", "history", "notes/b.md", "--root", repo, "--json"]);
    expect(r.json.paths).toEqual(["notes/b.md", "notes/a.md"]);
    expect(r.json.commits.map((c: any) => [c.oid, c.change, c.path, c.from])).toEqual([
      [ids.c5, "modified", "notes/b.md", undefined],
      [ids.c3, "renamed", "notes/b.md", "notes/a.md"],
      [ids.c2, "modified", "notes/a.md", undefined],
      [ids.c1, "added", "notes/a.md", undefined],
    ]);
    expect(r.json.commits[1].similarity).toBeGreaterThanOrEqual(0.5);
    expect(r.json.commits[1].similarity).toBeLessThan(1);
  }, 60_000);

  test("history: a deleted one-line file is not the source of an unrelated new one-line file (git log --follow agrees)", () => {
    const r = oneCommitRepo("ag-onelines-", "notes/x.md", "hello\n");
    git(r, ["rm", "-q", "notes/x.md"]);
    mkdirSync(join(r, "notes"), { recursive: true }); // git rm took the emptied directory
    writeFileSync(join(r, "notes/y.md"), "world\n");
    git(r, ["add", "-A"]);
    git(r, ["commit", "-q", "-m", "delete x, add unrelated y"]);
    const h = cli(["git", "history", "notes/y.md", "--root", r, "--json"]);
    expect(h.code).toBe(0);
    expect(h.json.paths).toEqual(["notes/y.md"]);
    expect(h.json.commits.map((c: any) => [c.subject, c.change])).toEqual([["delete x, add unrelated y", "added"]]);
    expect(git(r, ["log", "--follow", "--format=%s", "--", "notes/y.md"]).trim()).toBe("delete x, add unrelated y");
  }, 60_000);

  test("errors: an orphan branch checked out in a repository with commits is named as such", () => {
    const r = oneCommitRepo("ag-orphan-", "notes/a.md", "# A\n");
    git(r, ["checkout", "-q", "--orphan", "fresh"]);
    const out = cli(["git", "log", "notes", "--root", r, "--json"]);
    expect(oneLineError(out)).toBe(`error: ${r}: the current branch fresh has no commits yet (the repository's commits are on other branches)`);
    expect(out.json).toMatchObject({ code: "git_no_commits", exit_code: 2 });
  }, 60_000);

  test("errors: outside the workspace, not a repository, no commits: one line, exit 2", () => {
    expect(oneLineError(cli(["git", "who", "../elsewhere.md", "--root", repo]))).toBe(`error: path ../elsewhere.md is outside the workspace ${repo}`);
    const plain = tempDir("ag-nogit-");
    expect(oneLineError(cli(["git", "who", "notes/a.md", "--root", plain]))).toBe(`error: notes/a.md is not in a git repository (no .git directory from there up to the workspace root ${plain})`);
    const empty = tempDir("ag-empty-");
    git(empty, ["init", "-q", "."]);
    const r = cli(["git", "log", "x.md", "--root", empty, "--json"]);
    expect(oneLineError(r)).toBe(`error: ${empty} is a git repository without commits yet`);
    expect(r.json).toMatchObject({ status: "error", code: "git_no_commits", exit_code: 2 });
  }, 60_000);
});

describe("git provenance in the graph", () => {
  const ingestAt = (dir: string, extra = "") => {
    mkdirSync(join(dir, "config"), { recursive: true });
    writeFileSync(join(dir, "config", "pkg.yaml"), gitConfig(extra));
    const r = cli(["ingest", "--root", dir, "--json"]);
    expect(r.code).toBe(0);
    return r;
  };
  const manifestOf = (dir: string, runId: string) => readFileSync(join(dir, ".pkg", "profiles", "default", "runs", runId, "manifest.json"), "utf8");

  test("two people with one e-mail are one author, and each commit keeps its own author name", () => {
    const r = tempDir("ag-git-shared-");
    git(r, ["init", "-q", "."]);
    writeFileSync(join(r, "n.md"), "# N\n\none\n");
    git(r, ["add", "-A"]);
    git(r, ["commit", "-q", "-m", "by carol"], { date: "2024-03-01T10:00:00Z", name: "Carol", email: "team@example.com" });
    const carol = git(r, ["rev-parse", "HEAD"]).trim();
    writeFileSync(join(r, "n.md"), "# N\n\none\ntwo\n");
    git(r, ["commit", "-q", "-am", "by bob"], { date: "2024-03-02T10:00:00Z", name: "Bob", email: "team@example.com" });
    const bob = git(r, ["rev-parse", "HEAD"]).trim();
    ingestAt(r);
    expect(cli(["list", "--type", "author", "--root", r, "--json"]).json.nodes.map((n: any) => [n.name, n.attrs.commits])).toEqual([["Bob", 2]]);
    expect(cli(["node", `commit_${carol}`, "--root", r, "--json"]).json.node.attrs.author).toBe("Carol");
    expect(cli(["node", `commit_${bob}`, "--root", r, "--json"]).json.node.attrs.author).toBe("Bob");
  }, 60_000);

  test("two locations give byte-identical manifests and git artifacts; nodes and edges are served", () => {
    const a = join(tempDir("ag-loc1-"), "deep", "ws");
    const b = tempDir("ag-loc2-");
    cpSync(repo, a, { recursive: true });
    cpSync(repo, b, { recursive: true });
    const ra = ingestAt(a);
    const rb = ingestAt(b);
    expect(ra.json.run_id).toBe(rb.json.run_id);
    const ma = manifestOf(a, ra.json.run_id);
    expect(ma).toBe(manifestOf(b, rb.json.run_id));
    const art = JSON.parse(ma).artifacts.find((x: any) => x.name === "git");
    expect(art.counts).toEqual({ commits: 6, authors: 3 });
    const obj = (d: string) => readFileSync(join(d, ".pkg", "profiles", "default", "objects", art.sha256.slice(0, 2), art.sha256));
    expect(obj(a).equals(obj(b))).toBe(true);
    const stored = new TextDecoder().decode(Bun.zstdDecompressSync(obj(a)));
    expect(stored).not.toContain("@example.com"); // e-mails are hashed, not stored
    expect(stored).not.toContain(a);
    expect(ra.json.counts).toMatchObject({ commits: 6, authors: 3 });

    const list = cli(["list", "--type", "author", "--root", a, "--json"]);
    expect(list.json.nodes.map((n: any) => [n.name, n.attrs.commits]).sort()).toEqual([["Alice", 3], ["Bob", 2], ["Carol", 1]]);
    const count = cli(["list", "--count-only", "--group-by", "type", "--type", "commit", "--root", a, "--json"]);
    expect(count.json.total).toBe(6);
    const docId = cli(["list", "--type", "document", "--where", "path=notes/b.md", "--root", a, "--json"]).json.nodes[0].id;
    const node = cli(["node", docId, "--root", a, "--json"]);
    expect(node.json.in_edges.filter((e: any) => e.type === "modified").map((e: any) => e.source).sort()).toEqual([`commit_${ids.c3}`, `commit_${ids.c5}`].sort());
    const commit = cli(["node", `commit_${ids.c3}`, "--root", a, "--json"]);
    expect(commit.json.node).toMatchObject({ type: "commit", name: "Rename a to b", attrs: { oid: ids.c3, time: "2024-01-03T10:00:00Z", author: "Alice" } });
    expect(commit.json.out_edges).toEqual([{ source: `commit_${ids.c3}`, target: docId, type: "modified" }]);
    const alice = commit.json.in_edges[0].source;
    const path = cli(["why-connected", alice, docId, "--root", a, "--json"]);
    expect(path.code).toBe(0);
    expect(path.json.paths[0].edges.map((e: any) => e.type)).toEqual(["authored", "modified"]);
    const nb = cli(["neighbors", alice, "--edge-type", "authored", "--root", a, "--json"]);
    expect(nb.json.nodes.map((n: any) => n.id).sort()).toEqual([ids.c1, ids.c3, ids.c6].map((c) => `commit_${c}`).sort());
    const exp = cli(["export", "--format", "json", "--root", a]);
    const g = JSON.parse(exp.stdout);
    expect(g.nodes.filter((n: any) => n.type === "commit")).toHaveLength(6);
    expect(g.edges.filter((e: any) => e.type === "authored")).toHaveLength(6);
    expect(cli(["verify", "--root", a]).code).toBe(0);

    // verify re-hashes the git artifact like any object; a damaged one is exit 5 for the commands reading it.
    const objB = join(b, ".pkg", "profiles", "default", "objects", art.sha256.slice(0, 2), art.sha256);
    const damaged = readFileSync(objB);
    damaged[damaged.length >> 1] ^= 0xff;
    writeFileSync(objB, damaged);
    const v = cli(["verify", "--root", b]);
    expect(v.code).toBe(5);
    expect(v.stdout + v.stderr).toContain(art.sha256);
    const broken = cli(["node", `commit_${ids.c3}`, "--root", b]);
    expect(broken.code).toBe(5);
    expect(broken.stderr.split("\n")[0]).toBe(`error: object ${objB} is corrupt`);

    // Unchanged HEAD: the same run. A new commit: a new run with one more commit.
    expect(ingestAt(a).json.unchanged).toBe(true);
    git(a, ["commit", "-q", "--allow-empty", "-m", "Empty"], { date: "2024-01-07T10:00:00Z" });
    const again = ingestAt(a);
    expect(again.json.unchanged).toBe(false);
    expect(again.json.counts.commits).toBe(7);
  }, 60_000);

  test("a repacked repository (git gc) with the same history: the same run, nothing rewritten", () => {
    const a = tempDir("ag-gc-");
    cpSync(repo, a, { recursive: true });
    const first = ingestAt(a);
    expect(first.code).toBe(0);
    git(a, ["gc", "-q", "--aggressive", "--prune=now"]);
    const again = ingestAt(a);
    expect(again.code).toBe(0);
    expect(again.json).toMatchObject({ run_id: first.json.run_id, unchanged: true });
    // A clone at another place, packed differently: the same run id.
    const b = join(tempDir("ag-gc-clone-"), "ws");
    git(a, ["clone", "-q", a, b]);
    expect(ingestAt(b).json.run_id).toBe(first.json.run_id);
  }, 60_000);

  test("git.max_commits bounds the walk, for ingest and for the commands", () => {
    const ws = tempDir("ag-budget-");
    cpSync(repo, ws, { recursive: true });
    const r = ingestAt(ws, "  max_commits: 2\n");
    expect(r.json.counts).toMatchObject({ commits: 2, authors: 2 });
    const log = cli(["git", "log", "notes", "--root", ws, "--json"]);
    expect(log.json.commits.map((c: any) => c.oid)).toEqual([ids.c6, ids.c5]);
    expect(log.json.truncated).toBe(true);
    const text = cli(["git", "log", "notes", "--root", ws]);
    expect(text.stderr).toContain("only the newest 2 commits were read (git.max_commits)");
    const bad = cli(["ingest", "--root", ws, "--config", join(tempDir(), "x.yaml")]);
    expect(bad.code).toBe(2);
    writeFileSync(join(ws, "config", "pkg.yaml"), "git:\n  enabled: true\n  max_commits: 0\n");
    const zero = cli(["ingest", "--root", ws]);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain("git.max_commits");
  }, 60_000);
});

/** A new repository whose one commit, "one", adds `path` with `text`. */
function oneCommitRepo(prefix: string, path: string, text: string): string {
  const r = tempDir(prefix);
  git(r, ["init", "-q", "."]);
  mkdirSync(join(r, "notes"), { recursive: true });
  writeFileSync(join(r, path), text);
  git(r, ["add", "-A"]);
  git(r, ["commit", "-q", "-m", "one"]);
  return r;
}

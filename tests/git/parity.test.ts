// The history core against the git executable on one repository with a merged branch, a file
// replaced by a directory, a non-ASCII name and delta-compressed packs: every commit's changed paths
// (tree diffs on raw trees, in git's order) and each path's log (git log -- PATH) must match.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cleanup, tempDir } from "../helpers/cli.ts";
import { Repo } from "../../src/git/repo.ts";
import { pathLog, walkHistory } from "../../src/git/history.ts";
import { git, write } from "./fixture.ts";

let root: string;

beforeAll(() => {
  root = tempDir("ag-gitparity-");
  const at = (day: number) => ({ date: `2024-03-${String(day).padStart(2, "0")}T12:00:00Z` });
  git(root, ["init", "-q", "."]);
  const big = Array.from({ length: 300 }, (_, i) => `line ${i} of a long note`).join("\n") + "\n";
  write(root, { "a.md": big, "dir/x.md": "# X\n", "ü.md": "# Ü\n", "b": "a file, later a directory\n", "dir-z/z.md": "z\n" });
  git(root, ["add", "-A"]);
  git(root, ["commit", "-q", "-m", "c1"], at(1));
  git(root, ["checkout", "-q", "-b", "feature"]);
  write(root, { "a.md": big.replace("line 7 of", "line SEVEN of") });
  git(root, ["commit", "-q", "-am", "f1"], at(2));
  write(root, { "dir/y.md": "# Y\n" });
  git(root, ["add", "-A"]);
  git(root, ["commit", "-q", "-m", "f2"], at(4));
  git(root, ["checkout", "-q", "main"]);
  write(root, { "dir/x.md": "# X\n\nmore\n", "ü.md": "# Ü\n\nnoch\n" });
  git(root, ["commit", "-q", "-am", "m1"], at(3));
  git(root, ["merge", "-q", "--no-ff", "-m", "merge feature", "feature"], at(5));
  git(root, ["rm", "-q", "b"]);
  write(root, { "b/c.md": "now a directory\n", "dir.md": "sorts between dir and dir-z\n" });
  git(root, ["add", "-A"]);
  git(root, ["commit", "-q", "-m", "b becomes a directory"], at(6));
  git(root, ["gc", "-q", "--aggressive"]);
  write(root, { "a.md": big.replace("line 9 of", "line NINE of") });
  git(root, ["commit", "-q", "-am", "loose"], at(7));
}, 60_000);
afterAll(cleanup);

test("changed paths of every commit and each path's log match git", async () => {
  const repo = Repo.open(root);
  const head = (await repo.head())!;
  const walk = await walkHistory(repo, head, 100);
  expect(walk.commits.map((c) => c.oid)).toEqual(git(root, ["log", "--format=%H"]).split("\n"));
  for (const c of walk.commits) {
    const parent = c.parents[0] ? (await repo.commit(c.parents[0])).tree : undefined;
    const ours = (await repo.diff(parent, c.tree)).map((ch) => ch.path);
    const theirs = git(root, ["-c", "core.quotePath=false", "diff-tree", "-r", "--no-commit-id", "--name-only", "--root", ...(c.parents.length > 1 ? [c.parents[0]!] : []), c.oid]).split("\n").filter(Boolean);
    expect(ours).toEqual([...theirs].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
  }
  for (const p of ["a.md", "dir", "dir/x.md", "dir/y.md", "ü.md", "b", "b/c.md", "dir.md", "dir-z"]) {
    const ours = (await pathLog(repo, head, p, { max: 100 })).commits.map((c) => c.oid);
    expect({ p, log: ours }).toEqual({ p, log: git(root, ["log", "--format=%H", "--", p]).split("\n").filter(Boolean) });
  }
  repo.close();
}, 60_000);

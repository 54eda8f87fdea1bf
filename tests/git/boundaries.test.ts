// What a repository is and where it is: one reached through a symbolic link that leaves the
// workspace is not read (ingest warns, the commands refuse it), a clone that borrows its objects
// (`git clone --shared`: objects/info/alternates) is read, and what cannot be read is said for
// what it is (SHA-256 object names, a damaged HEAD, a damaged pack index) instead of "no commits"
// or an engine's internals. Subjects are git's %s.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, expectOneLineError, tempDir } from "../helpers/cli.ts";
import { git, makeHistory, write } from "./fixture.ts";

let base: string;
let origin: string;

beforeAll(() => {
  base = tempDir("ag-gitbound-");
  origin = join(base, "origin");
  mkdirSync(origin);
  makeHistory(origin);
}, 60_000);
afterAll(cleanup);

test("a repository behind a link out of the workspace: ingest leaves it out with a warning, the commands refuse it", () => {
  const outside = join(base, "outside");
  mkdirSync(outside);
  git(outside, ["init", "-q", "."]);
  git(outside, ["commit", "-q", "--allow-empty", "-m", "outside secret"], { name: "Outsider", email: "o@example.org" });
  const ws = join(base, "ws-link");
  write(ws, { "notes/a.md": "# A\n", "config/pkg.yaml": "git:\n  enabled: true\nprofiles:\n  default:\n    include_paths: [notes, repos]\n" });
  mkdirSync(join(ws, "repos"));
  symlinkSync(outside, join(ws, "repos", "ext"));
  const r = cli(["ingest", "--root", ws, "--json"]);
  expect(r.code).toBe(0);
  expect(r.json.run_warnings).toContain("git: repos/ext is a link out of the workspace: its history is not read");
  const listed = cli(["list", "--type", "commit,author", "--root", ws, "--json"]);
  expect(JSON.stringify(listed.json)).not.toContain("Outsider");
  expect(JSON.stringify(listed.json)).not.toContain("outside secret");
  const log = cli(["git", "log", "repos/ext", "--root", ws]);
  expect(log.code).toBe(2);
  expect(expectOneLineError(log)).toContain("reached through a symbolic link that leaves the workspace");
});

test("an absolute path through a link to the workspace is the same place", () => {
  const link = join(base, "ws-alias");
  symlinkSync(origin, link);
  const viaReal = cli(["git", "log", "notes/b.md", "--root", origin, "--json"]);
  const viaLink = cli(["git", "log", join(link, "notes", "b.md"), "--root", origin, "--json"]);
  expect(viaLink.code).toBe(0);
  expect(viaLink.json.commits).toEqual(viaReal.json.commits);
  expect(viaReal.json.commits.length).toBeGreaterThan(0);
});

test("a clone that borrows its objects (git clone --shared) is read like its origin", () => {
  git(base, ["clone", "-q", "--shared", origin, "shared"]);
  const shared = join(base, "shared");
  expect(readdirSync(join(shared, ".git", "objects")).filter((n) => /^[0-9a-f]{2}$/.test(n))).toEqual([]);
  const mine = cli(["git", "history", "notes/b.md", "--root", shared, "--json"]);
  expect(mine.code, mine.stderr).toBe(0);
  expect(mine.json.commits).toEqual(cli(["git", "history", "notes/b.md", "--root", origin, "--json"]).json.commits);
});

test("SHA-256 object names, a damaged HEAD, a damaged pack index: each said for what it is", () => {
  const sha = join(base, "sha256");
  mkdirSync(sha);
  git(sha, ["init", "-q", "--object-format=sha256", "."]);
  write(sha, { "notes/a.md": "# A\n" });
  git(sha, ["add", "-A"]);
  git(sha, ["commit", "-q", "-m", "one"]);
  const s = cli(["git", "log", "notes/a.md", "--root", sha, "--json"]);
  expect(s.code).toBe(2);
  expect(s.json.code).toBe("git_unreadable");
  expect(s.json.message).toContain("uses SHA-256 object names");

  git(base, ["clone", "-q", origin, "badhead"]);
  const badhead = join(base, "badhead");
  for (const [content, said] of [["garbage\n", '.git/HEAD is "garbage"'], ["", ".git/HEAD is empty"], ["ref: refs/heads/../../config\n", "neither a branch"]] as const) {
    writeFileSync(join(badhead, ".git", "HEAD"), content);
    const h = cli(["git", "log", "notes", "--root", badhead, "--json"]);
    expect({ content, code: h.code, kind: h.json.code }).toEqual({ content, code: 2, kind: "git_unreadable" });
    expect(h.json.message).toContain(said);
  }

  git(base, ["clone", "-q", "--no-local", origin, "badidx"]);
  const badidx = join(base, "badidx");
  git(badidx, ["repack", "-adq"]);
  const packDir = join(badidx, ".git", "objects", "pack");
  const idx = readdirSync(packDir).find((n) => n.endsWith(".idx"))!;
  truncateSync(join(packDir, idx), 100);
  const i = cli(["git", "log", "notes/b.md", "--root", badidx]);
  expect(i.code).toBe(2);
  const line = expectOneLineError(i);
  expect(line).toContain(`pack index ${join(packDir, idx)}`);
  expect(line).not.toContain("out of range");
});

test("a subject is the message's first paragraph after blank lines, as git log --format=%s", () => {
  const repo = join(base, "subjects");
  mkdirSync(repo);
  git(repo, ["init", "-q", "."]);
  write(repo, { "notes/a.md": "one\n" });
  git(repo, ["add", "-A"]);
  git(repo, ["commit", "-q", "--cleanup=verbatim", "-m", "\n\nFix the parser\n\nThe body."]);
  write(repo, { "notes/a.md": "two\n" });
  git(repo, ["commit", "-q", "-a", "-m", "Line one\nline two\n\nbody"]);
  const ours = cli(["git", "log", "notes/a.md", "--root", repo, "--json"]).json.commits.map((c: { subject: string }) => c.subject);
  expect(ours).toEqual(git(repo, ["log", "--format=%s", "--", "notes/a.md"]).split("\n"));
  expect(ours).toEqual(["Line one line two", "Fix the parser"]);
});

test("an empty PATH is refused with a hint that works", () => {
  const r = cli(["git", "log", "", "--root", origin]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("'.' for the whole repository");
  expect(cli(["git", "log", ".", "--root", origin]).code).toBe(0);
});

test("git log --limit says when it left older commits out; git history refuses a directory", () => {
  const all = cli(["git", "log", "notes", "--root", origin, "--json"]).json.commits;
  expect(all.length).toBeGreaterThan(2);
  const two = cli(["git", "log", "notes", "--limit", "2", "--root", origin, "--json"]).json;
  expect(two).toMatchObject({ limited: true, truncated: false });
  expect(two.commits).toEqual(all.slice(0, 2));
  expect(cli(["git", "log", "notes", "--limit", String(all.length), "--root", origin, "--json"]).json.limited).toBe(false);
  expect(cli(["git", "log", "notes", "--limit", "2", "--root", origin]).stdout).toContain("(--limit 2; older ones did too)");
  for (const dir of ["notes", "."]) {
    const h = cli(["git", "history", dir, "--root", origin]);
    expect(h.code).toBe(2);
    expect(expectOneLineError(h)).toContain("is a directory: git history follows one file");
  }
});

test("a file whose name is not UTF-8 is asked for as ingest records it (\\xNN); lossy bytes are a usage error", () => {
  const repo = join(base, "names");
  mkdirSync(join(repo, "notes"), { recursive: true });
  git(repo, ["init", "-q", "."]);
  writeFileSync(Buffer.concat([Buffer.from(join(repo, "notes", "caf")), Buffer.from([0xe9]), Buffer.from(".md")]), "x\n");
  git(repo, ["add", "-A"]);
  git(repo, ["commit", "-q", "-m", "init"]);
  const log = cli(["git", "log", "notes/caf\\xe9.md", "--root", repo, "--json"]);
  expect(log.code).toBe(0);
  expect(log.json.commits.map((c: { subject: string }) => c.subject)).toEqual(["init"]);
  const history = cli(["git", "history", "notes/caf\\xe9.md", "--root", repo, "--json"]);
  expect(history.json.commits.map((c: { change: string; path: string }) => [c.change, c.path])).toEqual([["added", "notes/caf\\xe9.md"]]);
  const lossy = cli(["git", "log", "notes/caf\ufffd.md", "--root", repo]);
  expect(lossy.code).toBe(2);
  expect(expectOneLineError(lossy)).toContain("holds bytes that are not UTF-8");
});

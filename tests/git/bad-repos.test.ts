// Repositories git provenance cannot read faithfully: a shallow clone, a corrupt pack, a submodule
// (the gitlink in its parent, and its checkout whose .git is a file), a worktree, a repository
// without commits. Ingest warns once for each (stderr and the manifest) and never fails; the git
// commands refuse each with one line (exit 2).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, tempDir } from "../helpers/cli.ts";
import { git, makeHistory, write } from "./fixture.ts";

let ws: string;

beforeAll(() => {
  const base = tempDir("ag-gitbad-");
  const origin = join(base, "origin");
  mkdirSync(origin);
  makeHistory(origin);
  ws = join(base, "ws");
  const repos = join(ws, "repos");
  mkdirSync(repos, { recursive: true });
  git(repos, ["clone", "-q", "--depth", "1", `file://${origin}`, "shallow"]);
  git(repos, ["clone", "-q", "--no-hardlinks", origin, "corrupt"]);
  git(join(repos, "corrupt"), ["gc", "-q"]);
  const packDir = join(repos, "corrupt", ".git", "objects", "pack");
  const pack = join(packDir, readdirSync(packDir).find((n) => n.endsWith(".pack"))!);
  const bytes = readFileSync(pack);
  bytes.fill(0x55, 12, bytes.length - 20);
  writeFileSync(pack, bytes);
  mkdirSync(join(repos, "empty"));
  git(join(repos, "empty"), ["init", "-q", "."]);
  const main = join(base, "main");
  git(base, ["clone", "-q", origin, "main"]);
  git(main, ["worktree", "add", "-q", join(repos, "wt")]);
  mkdirSync(join(repos, "super"));
  git(join(repos, "super"), ["init", "-q", "."]);
  git(join(repos, "super"), ["submodule", "add", "-q", origin, "lib"]);
  write(join(repos, "super"), { "notes/s.md": "# S\n" });
  git(join(repos, "super"), ["add", "-A"]);
  git(join(repos, "super"), ["commit", "-q", "-m", "Super with a submodule"], { date: "2024-02-01T00:00:00Z" });
  write(ws, { "config/pkg.yaml": "git:\n  enabled: true\nprofiles:\n  default:\n    include_paths: [repos, repos/super/lib]\n" });
}, 60_000);
afterAll(cleanup);

test("ingest: one warning per bad repository, in stderr and the manifest; the readable history is kept", () => {
  const r = cli(["ingest", "--root", ws, "--json"]);
  expect(r.code).toBe(0);
  const w: string[] = r.json.run_warnings;
  expect(w).toEqual([
    expect.stringMatching(/^git: repos\/corrupt: the repository cannot be read \(cannot read commit [0-9a-f]{40}: Packfile payload corrupted.*\): its history is left out$/),
    "git: repos/empty is a git repository without commits yet: no history to read",
    "git: repos/shallow is a shallow clone (.git/shallow): its history stops at 1 grafted commit(s)",
    "git: repos/super has submodule(s) repos/super/lib (gitlinks): their history is not read",
    "git: repos/super/lib is a git submodule checkout (.git is a file pointing elsewhere): its history is not read",
    "git: repos/wt is a git worktree (.git is a file pointing elsewhere): its history is not read",
  ]);
  for (const line of w) expect(r.stderr).toContain(`warning: ${line}\n`);
  const m = JSON.parse(readFileSync(join(ws, ".pkg", "profiles", "default", "runs", r.json.run_id, "manifest.json"), "utf8"));
  expect(m.warnings).toEqual(w);
  expect(JSON.stringify(m)).not.toContain(ws); // no absolute path in what is stored
  // The shallow clone's one commit and the super repository's one commit.
  expect(r.json.counts).toMatchObject({ commits: 2 });
  expect(cli(["verify", "--root", ws]).code).toBe(0);
}, 60_000);

test("git commands refuse each bad repository with one line, exit 2", () => {
  const cases: [string, RegExp][] = [
    ["repos/shallow/notes/b.md", /is a shallow clone \(\.git\/shallow lists 1 grafted commit\(s\)\): its history is incomplete/],
    ["repos/corrupt/notes/b.md", /cannot read commit [0-9a-f]{40} \(Packfile payload corrupted/],
    ["repos/empty/x.md", /is a git repository without commits yet$/],
    ["repos/wt/notes/b.md", /is a git worktree \(\.git is a file pointing to .*\/worktrees\/wt\); read the main checkout instead$/],
    ["repos/super/lib/notes/b.md", /is a git submodule checkout \(\.git is a file pointing to .*\/modules\/lib\); its history is not read$/],
  ];
  for (const [path, why] of cases) {
    const r = cli(["git", "who", path, "--root", ws]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toMatch(why);
    expect(r.stderr).not.toContain("    at ");
    expect(r.stdout).toBe("");
    if (path.startsWith("repos/super/lib")) expect(lines[1]).toStartWith("hint: its history is the submodule's own repository");
  }
}, 60_000);

test("a partial clone (blobs left on the server): a blob it lacks is named as not fetched, not as damage", () => {
  const base = tempDir("ag-gitpartial-");
  const origin = join(base, "origin");
  mkdirSync(origin);
  makeHistory(origin);
  git(origin, ["config", "uploadpack.allowFilter", "true"]);
  git(base, ["clone", "-q", "--filter=blob:none", "--no-checkout", `file://${origin}`, "clone"]);
  const r = cli(["git", "introduced", "NEEDLE", "--root", join(base, "clone")]);
  expect(r.code).toBe(2);
  expect(r.stderr.trim().split("\n")[0]).toMatch(/^error: .*: cannot read blob [0-9a-f]{40} \(.*\): the repository is a partial clone and the object was not fetched; `git fetch --refetch` or a full clone has it$/);
}, 60_000);

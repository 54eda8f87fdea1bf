// The compiled linux-x64 executable reads git history with no git executable on PATH (isomorphic-git
// and the object reader are bundled): `git who` answers as from source. Uses the shared release build.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { sharedLinuxExe } from "../release/support.ts";
import { cleanup, cli, tempDir } from "../helpers/cli.ts";
import { makeHistory } from "./fixture.ts";

let exe: string;
let repo: string;

beforeAll(async () => {
  repo = tempDir("ag-gitbin-");
  makeHistory(repo);
  exe = await sharedLinuxExe("ag-gitbin-x-");
}, 900_000);
afterAll(cleanup);

test("git who in the compiled executable, with PATH lacking git", () => {
  if (process.platform !== "linux" || process.arch !== "x64") throw new Error("this test runs the linux-x64 executable");
  const bin = tempDir("ag-path-");
  mkdirSync(join(bin, "empty"));
  const PATH = join(bin, "empty");
  expect(Bun.which("git", { PATH })).toBeNull();
  const p = Bun.spawnSync([exe, "git", "who", "notes/b.md", "--root", repo, "--json"], { env: { PATH, HOME: bin, AUDITGRAPH_NO_UPDATE_CHECK: "1" }, stdout: "pipe", stderr: "pipe" });
  expect(p.stderr.toString()).toBe("");
  expect(p.exitCode).toBe(0);
  const compiled = JSON.parse(p.stdout.toString());
  expect(compiled.authors.map((a: any) => [a.name, a.commits])).toEqual([["Bob", 1], ["Alice", 1]]);
  expect(compiled).toEqual(cli(["git", "who", "notes/b.md", "--root", repo, "--json"]).json);
}, 60_000);

// The compiled linux-x64 executable asks for huge pages through bun:ffi (src/shared/hugepages.ts):
// the C library is found and called from inside the single-file executable, in an ingest with a
// previous run and in a read told to, and the answers are the same as without. Uses the shared
// release build.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { sharedLinuxExe } from "../release/support.ts";
import { cleanup, tempDir, workspace } from "../helpers/cli.ts";

let exe: string;

beforeAll(async () => {
  exe = await sharedLinuxExe("ag-hpbin-");
}, 900_000);
afterAll(cleanup);

const madvise = (() => {
  try { return readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8").includes("[madvise]"); } catch { return false; }
})();

test("the compiled executable asks for huge pages where it should, and answers the same", () => {
  if (process.platform !== "linux" || process.arch !== "x64") throw new Error("this test runs the linux-x64 executable");
  const root = workspace();
  const base = { PATH: process.env.PATH ?? "", HOME: tempDir("ag-home-"), AUDITGRAPH_NO_UPDATE_CHECK: "1", AUDITGRAPH_DEBUG: "1" };
  const run = (args: string[], env: Record<string, string> = {}) => {
    const p = Bun.spawnSync([exe, ...args], { env: { ...base, ...env }, stdout: "pipe", stderr: "pipe" });
    return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
  };
  const asked = (stderr: string) => [...stderr.matchAll(/^auditgraph: huge pages asked for in (\d+) heap region\(s\)$/gm)].map((m) => Number(m[1]));
  const fresh = run(["ingest", "--root", root]);
  expect(fresh.code).toBe(0);
  expect(asked(fresh.stderr)).toEqual([]);
  const again = run(["ingest", "--root", root]);
  expect(again.code).toBe(0);
  const query = ["query", "--root", root, "database unreachable", "--json"];
  const told = run(query, { AUDITGRAPH_HUGEPAGES: "1" });
  const off = run(query, { AUDITGRAPH_HUGEPAGES: "0" });
  expect([told.code, off.code]).toEqual([0, 0]);
  expect(told.stdout).toBe(off.stdout);
  expect(JSON.parse(told.stdout).hits.length).toBeGreaterThan(0);
  expect(asked(off.stderr)).toEqual([]);
  for (const n of [...asked(again.stderr), ...asked(told.stderr)]) expect(madvise ? n >= 1 : n === 0).toBe(true);
  expect([asked(again.stderr).length, asked(told.stderr).length]).toEqual([1, 1]);
}, 60_000);

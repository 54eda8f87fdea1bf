// A FIFO in the place of a store's file. Reading one waits until something writes to it: every
// command (and the MCP and UI servers) hung, deaf to signals. Each is now opened without waiting and
// is damage like any other file that cannot be read: one line naming it, the documented exit code,
// and what can be repaired is repaired.
import { afterAll, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, expectOneLineError, ingested } from "../helpers/cli.ts";

afterAll(cleanup);

const LIMIT = { timeoutMs: 30_000 }; // a command that waits on the FIFO is killed, and fails the test
const fifo = (path: string) => {
  rmSync(path, { force: true });
  expect(Bun.spawnSync(["mkfifo", path]).exitCode).toBe(0);
};
const profile = (root: string) => join(root, ".pkg/profiles/default");
const current = (root: string) => cli(["runs", "list", "--root", root, "--json"]).json.runs.find((r: { current: boolean }) => r.current).run_id as string;
const indexObject = (root: string) => {
  const id = current(root);
  const m = JSON.parse(readFileSync(join(profile(root), "runs", id, "manifest.json"), "utf8"));
  const sha = m.artifacts.find((a: { name: string }) => a.name.startsWith("index/")).sha256 as string;
  return join(profile(root), "objects", sha.slice(0, 2), sha);
};

test("the current-run pointer: exit 5 naming it, for reads and writes alike", () => {
  const root = ingested();
  fifo(join(profile(root), "current"));
  const why = `current-run pointer ${join(profile(root), "current")} cannot be read (not a regular file)`;
  for (const cmd of [["query", "orders"], ["ingest"]]) {
    const r = cli([...cmd, "--root", root], LIMIT);
    expect({ cmd, code: r.code }).toEqual({ cmd, code: 5 });
    expect(expectOneLineError(r)).toContain(why);
  }
  const v = cli(["verify", "--root", root], LIMIT);
  expect(v.code).toBe(5);
  expect(v.stdout + v.stderr).toContain(`${join(profile(root), "current")}: cannot be read (not a regular file)`);
});

test("the current run's manifest: the unreadable-manifest answer (exit 3), not a hang", () => {
  const root = ingested();
  fifo(join(profile(root), "runs", current(root), "manifest.json"));
  const r = cli(["query", "orders", "--root", root], LIMIT);
  expect(r.code).toBe(3);
  expect(expectOneLineError(r)).toContain("unreadable current-run manifest");
});

test("an index object: reads exit 5 naming it, verify reports it, rebuild writes it again", () => {
  const root = ingested();
  const obj = indexObject(root);
  fifo(obj);
  const q = cli(["query", "orders", "--root", root], LIMIT);
  expect(q.code).toBe(5);
  expect(expectOneLineError(q)).toContain(`object ${obj} cannot be read (not a regular file)`);
  const v = cli(["verify", "--root", root, "--json"], LIMIT);
  expect(v.code).toBe(5);
  expect(v.json.problems.map((p: { path: string }) => p.path)).toContain(obj);
  const i = cli(["rebuild", "--root", root, "--json"], LIMIT);
  expect(i.code, i.stderr).toBe(0);
  expect(i.json.repaired_objects).toBe(1);
  expect(statSync(obj).isFile()).toBe(true);
  expect(cli(["query", "orders", "--root", root], LIMIT).code).toBe(0);
  expect(cli(["verify", "--root", root], LIMIT).code).toBe(0);
});

test("runs.log: runs are listed without their wall-clock facts", () => {
  const root = ingested();
  fifo(join(profile(root), "runs.log"));
  const r = cli(["runs", "list", "--root", root, "--json"], LIMIT);
  expect(r.code, r.stderr).toBe(0);
  expect(r.json.runs).toHaveLength(1);
});

test("the lock: a writer waits for it as for a lock it cannot read, then gives up naming it", () => {
  const root = ingested();
  fifo(join(root, ".pkg", "lock"));
  const r = cli(["ingest", "--root", root], { ...LIMIT, env: { AUDITGRAPH_LOCK_WAIT_MS: "300" } });
  expect(r.code).not.toBe(0);
  expect(r.code).not.toBe(-1);
  expect(expectOneLineError(r)).toContain("lock");
  expect(readdirSync(join(root, ".pkg")).filter((n) => n.startsWith(".tmp-"))).toEqual([]);
});

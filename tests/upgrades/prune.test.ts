// `runs prune --keep N [--dry-run]`: the only command that deletes derived artifacts.
import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, expectOneLineError, treeHash, workspace } from "../helpers/cli.ts";
import { currentRun, du, fixtureWorkspace, profileDir } from "./support.ts";

afterAll(cleanup);
const SLOW = 60_000; // spawns the CLI many times; a busy 2-core machine can take seconds per test


/** Three runs, each changing one file: returns the run ids, oldest first. */
function threeRuns(root: string): string[] {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    appendFileSync(join(root, "notes", "runbook.md"), `\nRevision ${i}: restart the workers.\n`);
    const r = cli(["ingest", "--root", root, "--json"]);
    expect(r.code).toBe(0);
    ids.push(r.json.run_id);
  }
  return ids;
}

describe("runs prune", () => {
  test("--dry-run reports and deletes nothing; then --keep 1 deletes the two oldest runs and exactly the bytes it reports", () => {
    const root = workspace();
    const [a, b, c] = threeRuns(root);
    const before = treeHash(root);
    const dry = cli(["runs", "prune", "--keep", "1", "--dry-run", "--root", root, "--json"]);
    expect(dry.code).toBe(0);
    expect(dry.json).toMatchObject({ dry_run: true, kept: [c], current: c, removed_runs: [{ run_id: a }, { run_id: b }] });
    expect(dry.json.removed_objects).toBeGreaterThan(0);
    expect(treeHash(root)).toEqual(before);
    const size = du(profileDir(root));
    const r = cli(["runs", "prune", "--keep", "1", "--root", root]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`freed ${dry.json.freed_bytes} bytes`);
    expect(r.stdout).toContain(`- ${a}`);
    expect(size - du(profileDir(root))).toBe(dry.json.freed_bytes);
    expect(readdirSync(join(profileDir(root), "runs"))).toEqual([c]);
    // What is left is a complete store: it verifies, reads, and the next ingest proceeds.
    expect(cli(["verify", "--root", root]).code).toBe(0);
    expect(cli(["query", "workers", "--root", root, "--json"]).json.hits.length).toBeGreaterThan(0);
    expect(cli(["runs", "show", a, "--root", root]).code).toBe(2);
    appendFileSync(join(root, "notes", "runbook.md"), "\nOne more.\n");
    expect(cli(["ingest", "--root", root]).code).toBe(0);
    // Nothing more to delete: a second prune frees nothing.
    expect(cli(["runs", "prune", "--keep", "2", "--root", root, "--json"]).json).toMatchObject({ removed_runs: [], removed_objects: 0, freed_bytes: 0 });
  }, SLOW);

  test("a run missing from runs.log (a writer killed after the pointer moved) is placed by when it was written, and pruned like any", () => {
    const root = workspace();
    const [a, b] = threeRuns(root).slice(0, 2);
    // b's line lost, as when a writer is killed between the pointer's rename and the log's append.
    const log = join(profileDir(root), "runs.log");
    writeFileSync(log, readFileSync(log, "utf8").split("\n").filter((l) => !l.includes(b!)).join("\n"));
    appendFileSync(join(root, "notes", "runbook.md"), "\nRevision 4.\n");
    const d = cli(["ingest", "--root", root, "--json"]).json.run_id;
    const listed = cli(["runs", "list", "--root", root, "--json"]).json.runs.map((r: { run_id: string }) => r.run_id);
    expect(listed.indexOf(b)).toBeLessThan(listed.indexOf(d));
    expect(listed.indexOf(a)).toBeLessThan(listed.indexOf(b));
    const p = cli(["runs", "prune", "--keep", "1", "--root", root, "--json"]);
    expect(p.code).toBe(0);
    expect(cli(["runs", "list", "--root", root, "--json"]).json.runs.map((r: { run_id: string }) => r.run_id)).toEqual([d]);
    // With runs.log gone altogether, the order is still the order runs were written, not of their ids.
    rmSync(log);
    expect(cli(["runs", "list", "--root", root, "--json"]).json.runs.map((r: { run_id: string }) => r.run_id)).toEqual([d]);
  }, SLOW);

  test("the current run is never deleted, even when it is the oldest", () => {
    const root = workspace();
    // Without a run log, runs are ordered by when their manifests were written: point the current run
    // at one of the older ones (whichever it is, prune must keep it).
    const oldest = threeRuns(root).sort()[0]!;
    writeFileSync(join(profileDir(root), "current"), `${oldest}\n`);
    rmSync(join(profileDir(root), "runs.log"));
    expect(cli(["runs", "list", "--root", root, "--json"]).json.runs[0]).toMatchObject({ run_id: oldest, current: true });
    const r = cli(["runs", "prune", "--keep", "1", "--root", root, "--json"]);
    expect(r.code).toBe(0);
    expect(r.json.current).toBe(oldest);
    expect(r.json.kept).toHaveLength(2);
    expect(readdirSync(join(profileDir(root), "runs"))).toContain(oldest);
    expect(cli(["verify", "--root", root]).code).toBe(0);
  }, SLOW);

  test("old runs of another schema are pruned after a rebuild; a kept run this binary cannot read keeps every object", () => {
    const root = fixtureWorkspace("1.0.0");
    const old = readFileSync(join(profileDir(root), "current"), "utf8").trim();
    expect(cli(["rebuild", "--root", root]).code).toBe(0);
    const p = cli(["runs", "prune", "--keep", "1", "--root", root, "--json"]).json;
    expect(p.removed_runs.map((r: any) => r.run_id)).toEqual([old]);
    expect(p.removed_objects).toBeGreaterThan(0);
    expect(cli(["verify", "--root", root]).code).toBe(0);

    const w = workspace();
    const [a, b] = threeRuns(w);
    writeFileSync(join(profileDir(w), "runs", b!, "manifest.json"), "{");
    const objects = () => Object.keys(treeHash(join(profileDir(w), "objects")));
    const had = objects();
    const r = cli(["runs", "prune", "--keep", "2", "--root", w]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`objects were left in place: kept run ${b} is not readable by this binary`);
    expect(readdirSync(join(profileDir(w), "runs")).sort()).not.toContain(a);
    expect(objects()).toEqual(had);
  }, SLOW);

  test("--keep is required and must be a positive integer (exit 2, nothing deleted)", () => {
    const root = workspace();
    threeRuns(root);
    const before = treeHash(root);
    for (const args of [[], ["--keep", "0"], ["--keep", "two"], ["--keep", "-1"]]) {
      const r = cli(["runs", "prune", ...args, "--root", root]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(expectOneLineError(r)).toContain("--keep");
    }
    expect(treeHash(root)).toEqual(before);
  }, SLOW);
});

// `auditgraph rebuild`: the way out of exit 3. A new run next to the old ones, which stay
// byte-identical; it becomes current and the next ingest proceeds (unlike the reference).
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, spawnCli, tempDir, treeHash, workspace } from "../helpers/cli.ts";
import { ARTIFACT_SCHEMA_VERSION } from "../../src/schema/version.ts";
import { currentRun, fixtureWorkspace, profileDir } from "./support.ts";

afterAll(cleanup);
const SLOW = 60_000; // spawns the CLI many times; a busy 2-core machine can take seconds per test

/** Hashes of the files that make up runs: manifests and objects (not the pointer, stat cache or log). */
const runFiles = (root: string) => Object.fromEntries(Object.entries(treeHash(profileDir(root))).filter(([p]) => p.startsWith("runs/") || p.startsWith("objects/")));

describe("rebuild", () => {
  test.each(["1.0.0", "0.9.0", "3.0.0"])("a store of schema %s: new current run, old run untouched, then ingest and query proceed", (version) => {
    const root = fixtureWorkspace(version);
    const old = currentRun(root);
    const before = runFiles(root);
    const r = cli(["rebuild", "--root", root, "--json"]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ status: "ok", previous_run: old, schema_version: ARTIFACT_SCHEMA_VERSION, counts: { ok: 3 } });
    expect(Object.keys(r.json.budget).sort()).toEqual(["block_threshold", "limit_bytes", "projected_bytes", "ratio", "source_bytes", "status", "usage_bytes", "warn_threshold"]);
    expect(r.json.run_id).not.toBe(old);
    expect(currentRun(root)).toBe(r.json.run_id);
    const after = runFiles(root);
    for (const [p, h] of Object.entries(before)) expect({ p, h: after[p] }).toEqual({ p, h });
    const runs = cli(["runs", "list", "--root", root, "--json"]).json.runs;
    expect(runs.map((x: any) => [x.run_id, x.schema_version, x.readable, x.current])).toEqual([
      [old, version, false, false], [r.json.run_id, ARTIFACT_SCHEMA_VERSION, true, true],
    ]);
    // The next ingest proceeds normally, twice (the old run no longer blocks anything).
    writeFileSync(join(root, "notes", "later.md"), "# Later\n\nA ledger follow-up.\n");
    const i1 = cli(["ingest", "--root", root, "--json"]);
    expect(i1.code).toBe(0);
    expect(i1.stderr).toBe("");
    expect(i1.json).toMatchObject({ unchanged: false, counts: { ok: 4 } });
    expect(cli(["ingest", "--root", root, "--json"]).json).toMatchObject({ unchanged: true });
    expect(cli(["query", "ledger", "--root", root, "--json"]).json.hits.length).toBeGreaterThan(0);
    // The old run's manifest is still there, byte for byte, and verify accepts the store.
    expect(runFiles(root)[`runs/${old}/manifest.json`]).toBe(before[`runs/${old}/manifest.json`]!);
    expect(cli(["verify", "--root", root]).code).toBe(0);
  }, SLOW);

  test("a damaged current manifest: rebuild recovers and keeps the damaged file as it was", () => {
    const root = fixtureWorkspace(ARTIFACT_SCHEMA_VERSION);
    const old = currentRun(root);
    writeFileSync(join(profileDir(root), "runs", old, "manifest.json"), "{\"schema_version\": \"1.0");
    const before = runFiles(root);
    expect(cli(["query", "ledger", "--root", root]).code).toBe(3);
    expect(cli(["rebuild", "--root", root]).code).toBe(0);
    expect(cli(["query", "ledger", "--root", root]).code).toBe(0);
    const after = runFiles(root);
    for (const [p, h] of Object.entries(before)) expect(after[p]).toBe(h);
  }, SLOW);

  test("deterministic: the same store and sources at two paths give the same run id and bytes; a second rebuild is another new run", () => {
    const a = fixtureWorkspace("0.9.0");
    const b = join(tempDir("ag-rebuild-elsewhere-"), "x", "ws");
    cpSync(a, b, { recursive: true });
    const ra = cli(["rebuild", "--root", a, "--json"]).json;
    const rb = cli(["rebuild", "--root", b, "--json"]).json;
    expect(ra.run_id).toBe(rb.run_id);
    const strip = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => !k.endsWith("runs.log") && !k.startsWith("cache/")));
    expect(strip(treeHash(profileDir(a)))).toEqual(strip(treeHash(profileDir(b))));
    const again = cli(["rebuild", "--root", a, "--json"]).json;
    expect(again.run_id).not.toBe(ra.run_id);
    expect(again.previous_run).toBe(ra.run_id);
    expect(cli(["runs", "list", "--root", a, "--json"]).json.runs).toHaveLength(3);
  }, SLOW);

  test("after a rebuild an unchanged workspace gives an unchanged ingest: the rebuild's run stays current, nothing is written", () => {
    const root = workspace();
    const first = cli(["ingest", "--root", root, "--json"]).json;
    const rebuilt = cli(["rebuild", "--root", root, "--json"]).json;
    expect(rebuilt.previous_run).toBe(first.run_id);
    const before = treeHash(profileDir(root));
    const again = cli(["ingest", "--root", root, "--json"]);
    expect(again.code).toBe(0);
    expect(again.json).toMatchObject({ run_id: rebuilt.run_id, unchanged: true, processed: 0, new_objects: 0, written_bytes: 0 });
    expect(currentRun(root)).toBe(rebuilt.run_id);
    expect(treeHash(profileDir(root))).toEqual(before); // not even the stat cache or runs.log
    // The stat cache still vouches for the files: the next one reads none either.
    expect(cli(["ingest", "--root", root, "--json"]).json).toMatchObject({ run_id: rebuilt.run_id, unchanged: true });
    // A real change is a new run as usual.
    writeFileSync(join(root, "notes", "later.md"), "# Later\n\nA follow-up.\n");
    const changed = cli(["ingest", "--root", root, "--json"]).json;
    expect(changed).toMatchObject({ unchanged: false, processed: 1 });
    expect(currentRun(root)).toBe(changed.run_id);
  }, SLOW);

  test("two concurrent rebuilds: the second waits for the lock and replaces the first's run with another new one", async () => {
    const root = fixtureWorkspace(ARTIFACT_SCHEMA_VERSION);
    const old = currentRun(root);
    // Enough work that the first holds the lock well after the second has started.
    for (let i = 0; i < 300; i++) writeFileSync(join(root, "notes", `gen-${i}.md`), `# Note ${i}\n\n${"ledger entries and retention ".repeat(150)}\n`);
    const procs = [spawnCli(["rebuild", "--root", root, "--json"]), spawnCli(["rebuild", "--root", root, "--json"])];
    expect(await Promise.all(procs.map((p) => p.exited))).toEqual([0, 0]);
    const [x, y] = await Promise.all(procs.map(async (p) => JSON.parse(await new Response(p.stdout).text())));
    const [first, second] = x.previous_run === old ? [x, y] : [y, x];
    expect(first.previous_run).toBe(old);
    expect(second.previous_run).toBe(first.run_id);
    expect(second.run_id).not.toBe(first.run_id);
    expect(currentRun(root)).toBe(second.run_id);
    expect(cli(["runs", "list", "--root", root, "--json"]).json.runs).toHaveLength(3);
  }, SLOW);
});

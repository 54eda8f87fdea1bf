// Schema compatibility end to end, on stores written by binaries of other schema versions
// (tests/fixtures/stores) and on damaged manifests: proceed silently, or exit 3 having changed nothing.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, expectOneLineError, treeHash } from "../helpers/cli.ts";
import { ARTIFACT_SCHEMA_VERSION } from "../../src/schema/version.ts";
import { cliAt, cliForSchema, currentRun, fixtureWorkspace, profileDir, removeSchemaCopies } from "./support.ts";

afterAll(() => {
  cleanup();
  removeSchemaCopies();
});
const SLOW = 60_000; // spawns the CLI many times; a busy 2-core machine can take seconds per test

/** Every command that reads artifacts, with placeholder ids: the gate must come before any lookup. */
const READERS = (root: string, run: string): string[][] => [
  ["ingest"], ["query", "ledger"], ["export", "--format", "json"], ["export", "--out", join(root, "out.json")],
  ["node", "doc_x"], ["neighbors", "doc_x"], ["diff", run, run], ["runs", "show", run],
].map((a) => [...a, "--root", root]);

/** Runs the readers against the store and checks: exit 3, one message, nothing changed anywhere. */
function expectRefused(root: string, storeVersion: string, only?: string[]) {
  const before = treeHash(root);
  for (const args of READERS(root, currentRun(root)).filter((a) => !only || only.includes(a[0]!))) {
    const r = cli(args);
    expect({ args: args.slice(0, 2), code: r.code }).toEqual({ args: args.slice(0, 2), code: 3 });
    const line = expectOneLineError(r);
    expect(line).toContain(`store schema ${storeVersion}, this binary ${ARTIFACT_SCHEMA_VERSION}`);
    expect(line).toContain("'auditgraph rebuild'");
  }
  const j = cli(["query", "x", "--root", root, "--json"]).json;
  expect(j).toMatchObject({ status: "error", code: "rebuild_required", exit_code: 3, store_schema: storeVersion, binary_schema: ARTIFACT_SCHEMA_VERSION });
  expect(treeHash(root)).toEqual(before);
}

describe("stores written by other schema versions", () => {
  test("older compatible minor: a 2.1.0 binary reads a 2.0.0 store and ingests into it with no warning (SC-002)", () => {
    const root = fixtureWorkspace("2.0.0");
    const upgraded = cliForSchema("2.1.0");
    const old = currentRun(root);
    const q = cliAt(upgraded, ["query", "ledger", "--root", root, "--json"]);
    expect(q.code).toBe(0);
    expect(q.stderr).toBe("");
    expect((q.json as any).hits.length).toBeGreaterThan(0);
    for (const args of [["export", "--format", "dot"], ["runs", "show", old], ["diff", old, old]]) {
      const r = cliAt(upgraded, [...args, "--root", root]);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
    }
    writeFileSync(join(root, "notes", "new.md"), "# New note\n\nAbout the ledger.\n");
    const before = readFileSync(join(profileDir(root), "runs", old, "manifest.json"));
    const ing = cliAt(upgraded, ["ingest", "--root", root, "--json"]);
    expect(ing.code).toBe(0);
    expect(ing.stderr).toBe("");
    expect(ing.json).toMatchObject({ status: "ok", unchanged: false, counts: { ok: 4 }, budget: { status: "ok" } });
    expect(readFileSync(join(profileDir(root), "runs", old, "manifest.json"))).toEqual(before);
    const list = (cliAt(upgraded, ["runs", "list", "--root", root, "--json"]).json as any).runs;
    expect(list.map((r: any) => [r.schema_version, r.readable, r.current])).toEqual([["2.0.0", true, false], ["2.1.0", true, true]]);
  }, SLOW);

  test("the same store with the same binary: ingest adds the new file silently", () => {
    const root = fixtureWorkspace(ARTIFACT_SCHEMA_VERSION);
    // The committed fixture must still be readable to the last byte by this binary (a stale fixture
    // after an artifact format change fails here: regenerate with tests/fixtures/make-stores.ts).
    const hits = (cli(["query", "ledger", "--root", root, "--json"]).json as any).hits as { id: string }[];
    const chunk = hits.find((h) => h.id.startsWith("chk_"));
    expect(chunk).toBeDefined();
    const shown = cli(["node", chunk!.id, "--root", root]);
    expect({ code: shown.code, stderr: shown.stderr }).toEqual({ code: 0, stderr: "" });
    writeFileSync(join(root, "notes", "new.md"), "# New note\n");
    const r = cli(["ingest", "--root", root]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
  }, SLOW);

  test.each([["1.0.0", "older major: the 0.1.0 release's store"], ["0.9.0", "older major"], ["1.1.0", "older major, minor 1"], ["2.1.0", "newer minor"], ["3.0.0", "newer major"]])(
    "%s (%s): every reader exits 3 naming both versions and rebuild; the tree is byte-identical",
    (version) => expectRefused(fixtureWorkspace(version), version),
    SLOW,
  );

  test.each(["1.0.0", "3.0.0"])("runs list, verify, budget and a dry-run prune still work on an incompatible store (%s)", (version) => {
    const root = fixtureWorkspace(version);
    const l = cli(["runs", "list", "--root", root, "--json"]);
    expect(l.code).toBe(0);
    expect(l.json.runs).toEqual([expect.objectContaining({ run_id: currentRun(root), schema_version: version, readable: false, current: true })]);
    expect(cli(["runs", "list", "--root", root]).stdout).toContain(`schema ${version} (not readable by this binary)`);
    // verify, budget and a dry-run prune also work on it, and change nothing.
    const before = treeHash(root);
    for (const args of [["verify"], ["budget"], ["runs", "prune", "--keep", "1", "--dry-run"]]) {
      const r = cli([...args, "--root", root]);
      expect({ args, code: r.code }).toEqual({ args, code: 0 });
    }
    expect(treeHash(root)).toEqual(before);
  }, SLOW);
});

describe("damaged or missing current-run manifests", () => {
  const cases: [string, (m: string) => void, string][] = [
    ["missing", (m) => rmSync(m), "missing"],
    ["empty", (m) => writeFileSync(m, ""), "unreadable"],
    ["truncated", (m) => writeFileSync(m, readFileSync(m, "utf8").slice(0, 200)), "unreadable"],
    ["not JSON", (m) => writeFileSync(m, "schema_version: 1.0.0\n"), "unreadable"],
    ["a JSON array", (m) => writeFileSync(m, "[]"), "unreadable"],
    ["without schema_version", (m) => { const j = JSON.parse(readFileSync(m, "utf8")); delete j.schema_version; writeFileSync(m, JSON.stringify(j)); }, "missing"],
    ["schema_version a number", (m) => { const j = JSON.parse(readFileSync(m, "utf8")); j.schema_version = 1; writeFileSync(m, JSON.stringify(j)); }, "unreadable"],
    ["schema_version not semver", (m) => { const j = JSON.parse(readFileSync(m, "utf8")); j.schema_version = "v1"; writeFileSync(m, JSON.stringify(j)); }, "v1"],
  ];
  test.each(cases)("%s: ingest, query and export exit 3 naming the store's version; nothing changed", (_name, damage, shown) => {
    const root = fixtureWorkspace(ARTIFACT_SCHEMA_VERSION);
    damage(join(profileDir(root), "runs", currentRun(root), "manifest.json"));
    expectRefused(root, shown, ["ingest", "query", "export"]);
  }, SLOW);

  test("no pointer but a run directory written by another version: still exit 3 (not an empty store)", () => {
    const root = fixtureWorkspace("3.0.0");
    rmSync(join(profileDir(root), "current"));
    const before = treeHash(root);
    const r = cli(["ingest", "--root", root]);
    expect(r.code).toBe(3);
    expect(expectOneLineError(r)).toContain("store schema 3.0.0");
    expect(treeHash(root)).toEqual(before);
  }, SLOW);

  test("no pointer and a run directory a killed writer left without a manifest: ingest proceeds", () => {
    const root = fixtureWorkspace(ARTIFACT_SCHEMA_VERSION);
    rmSync(join(profileDir(root), "current"));
    rmSync(join(profileDir(root), "runs"), { recursive: true });
    mkdirSync(join(profileDir(root), "runs", "run_0123456789abcdef0123456789abcdef"), { recursive: true });
    writeFileSync(join(profileDir(root), "runs", "run_0123456789abcdef0123456789abcdef", ".tmp-manifest.json.1.1"), "{");
    expect(cli(["ingest", "--root", root]).code).toBe(0);
  }, SLOW);
});

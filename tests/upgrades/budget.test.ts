// The disk footprint budget end to end. Exact thresholds need constructed sizes: a blocked probe
// (which writes nothing) reports the projected bytes, then the multiplier is chosen so that the
// limit lands exactly where the ratio must be.
import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, expectOneLineError, tempDir, treeHash, workspace } from "../helpers/cli.ts";
import { du, profileDir } from "./support.ts";

afterAll(cleanup);
const SLOW = 60_000; // spawns the CLI many times; a busy 2-core machine can take seconds per test

const MiB = 1024 * 1024;
const BUDGET_KEYS = ["block_threshold", "limit_bytes", "projected_bytes", "ratio", "source_bytes", "status", "usage_bytes", "warn_threshold"];

function setBudget(root: string, multiplier: number, extra = "") {
  mkdirSync(join(root, "config"), { recursive: true });
  writeFileSync(join(root, "config", "pkg.yaml"), `storage:\n  footprint_budget:\n    multiplier: ${multiplier}\n${extra}`);
}
/** A multiplier whose limit is exactly `limit` for these source bytes (floor(max(source, 1 MiB) * m)). */
const multiplierFor = (limit: number, sourceBytes: number) => {
  const m = (limit + 0.5) / Math.max(sourceBytes, MiB);
  expect(Math.floor(Math.max(sourceBytes, MiB) * m)).toBe(limit);
  return m;
};
/** Projected bytes of the next `args` run, from a blocked attempt (exit 4, nothing written). */
function probe(root: string, args: string[]): { projected: number; source: number; usage: number } {
  setBudget(root, 1e-9);
  const r = cli([...args, "--root", root, "--json"]);
  expect(r.code).toBe(4);
  return { projected: r.json.budget.projected_bytes, source: r.json.budget.source_bytes, usage: r.json.budget.usage_bytes };
}

/** A workspace with one run in its store and one new file waiting, so usage and additions are both non-zero. */
function grown(): string {
  const root = workspace();
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  writeFileSync(join(root, "notes", "grown.md"), `# Grown\n\n${"capacity planning for the ledger ".repeat(40)}\n`);
  return root;
}

describe("ingest against the budget", () => {
  test("below the warn threshold: no budget output at all (US3-2)", () => {
    const root = grown();
    const p = probe(root, ["ingest"]);
    setBudget(root, multiplierFor(Math.floor(p.projected / 0.8) + 2, p.source));
    const r = cli(["ingest", "--root", root]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).not.toContain("budget");
  }, SLOW);

  test("exactly 0.8: proceeds and warns with usage, projected, limit, ratio and thresholds", () => {
    let root = grown();
    let p = probe(root, ["ingest"]);
    for (let i = 0; p.projected % 4 !== 0; i++) { // 0.8 * limit must be a whole number of bytes
      expect(i).toBeLessThan(40);
      appendFileSync(join(root, "notes", "grown.md"), "x");
      p = probe(root, ["ingest"]);
    }
    setBudget(root, multiplierFor((p.projected / 4) * 5, p.source));
    const r = cli(["ingest", "--root", root, "--json"]);
    expect(r.code).toBe(0);
    expect(r.json.budget).toEqual({
      status: "warn", source_bytes: p.source, usage_bytes: p.usage, projected_bytes: p.projected, limit_bytes: (p.projected / 4) * 5,
      ratio: 0.8, warn_threshold: 0.8, block_threshold: 1,
    });
    const line = r.stderr.trim();
    expect(line.split("\n")).toHaveLength(1);
    for (const part of [`warning: disk budget warning for ${profileDir(root)}`, `usage ${p.usage} bytes`, `projected ${p.projected} bytes`, `limit ${(p.projected / 4) * 5} bytes`, "ratio 0.8000", "warn at 0.8", "block at 1", "auditgraph runs prune"]) {
      expect(line).toContain(part);
    }
  }, SLOW);

  test("exactly 1.0: exit 4 with the overage, and not one byte of the workspace changes", () => {
    const root = grown();
    const p = probe(root, ["ingest"]);
    setBudget(root, multiplierFor(p.projected, p.source));
    const before = treeHash(root);
    const r = cli(["ingest", "--root", root]);
    expect(r.code).toBe(4);
    const line = expectOneLineError(r);
    expect(line).toContain("disk budget exceeded");
    expect(line).toContain(`projected ${p.projected} bytes`);
    expect(line).toContain(`limit ${p.projected} bytes`);
    expect(line).toContain("ratio 1.0000");
    expect(treeHash(root)).toEqual(before);
    const j = cli(["ingest", "--root", root, "--json"]).json;
    expect(j).toMatchObject({ status: "error", code: "budget_block", exit_code: 4, budget: { status: "block", ratio: 1, projected_bytes: p.projected } });
    expect(Object.keys(j.budget).sort()).toEqual(BUDGET_KEYS);
    // One byte more of limit and it goes through (with a warning: 0.8 <= ratio < 1).
    setBudget(root, multiplierFor(p.projected + 1, p.source));
    const ok = cli(["ingest", "--root", root, "--json"]);
    expect(ok.code).toBe(0);
    expect(ok.json.budget.status).toBe("warn");
  }, SLOW);

  test("the 1 MiB minimum: an empty workspace and a small one both get max(source, 1 MiB) x multiplier", () => {
    const empty = tempDir("ag-empty-ws-");
    const e = cli(["ingest", "--root", empty, "--json"]);
    expect(e.code).toBe(0);
    expect(e.json.budget).toMatchObject({ status: "ok", source_bytes: 0, limit_bytes: 3 * MiB });
    const small = workspace({ "notes/a.md": "# A\n\nsmall\n" });
    expect(cli(["ingest", "--root", small, "--json"]).json.budget).toMatchObject({ source_bytes: 11, limit_bytes: 3 * MiB });
    const text = `# Big\n\n${"wordy ".repeat(300_000)}\n`;
    const big = workspace({ "notes/big.md": text });
    setBudget(big, 2.5);
    const b = cli(["ingest", "--root", big, "--json"]).json.budget;
    expect(b.source_bytes).toBe(text.length);
    expect(b.limit_bytes).toBe(Math.floor(text.length * 2.5));
    // Blocked before its first run, a workspace does not even get an empty .pkg/.
    const blocked = tempDir("ag-empty-ws-");
    setBudget(blocked, 1e-9);
    const r = cli(["ingest", "--root", blocked, "--json"]);
    expect(r.json).toMatchObject({ exit_code: 4, budget: { source_bytes: 0, limit_bytes: 1 } });
    expect(existsSync(join(blocked, ".pkg"))).toBe(false);
  }, SLOW);

  test("per-profile override, and invalid settings are configuration errors (exit 2) that touch nothing", () => {
    const root = workspace({ "notes/a.md": "# A\n" });
    mkdirSync(join(root, "config"));
    writeFileSync(join(root, "config", "pkg.yaml"), "profiles:\n  default:\n    storage:\n      footprint_budget:\n        multiplier: 0.5\n");
    expect(cli(["ingest", "--root", root, "--json"]).json.budget.limit_bytes).toBe(MiB / 2);
    const bad: [string, string][] = [
      ["storage:\n  footprint_budget:\n    multiplier: -1\n", "storage.footprint_budget.multiplier"],
      ["storage:\n  footprint_budget:\n    warn_threshold: 0\n", "storage.footprint_budget.warn_threshold"],
      ["storage:\n  footprint_budget:\n    warn_threshold: 1.2\n", "warn_threshold must be below block_threshold"],
      ["storage:\n  footprint_budget:\n    multiplier: lots\n", "storage.footprint_budget.multiplier"],
      ["profiles:\n  default:\n    storage:\n      footprint_budget:\n        block_threshold: 0.5\n", "profiles.default.storage.footprint_budget: warn_threshold must be below block_threshold"],
    ];
    for (const [yaml, where] of bad) {
      writeFileSync(join(root, "config", "pkg.yaml"), yaml);
      const snapshot = treeHash(join(root, ".pkg"));
      for (const cmd of [["ingest"], ["budget"], ["rebuild"]]) {
        const r = cli([...cmd, "--root", root]);
        expect({ cmd, yaml, code: r.code }).toEqual({ cmd, yaml, code: 2 });
        expect(expectOneLineError(r)).toContain(where);
      }
      expect(treeHash(join(root, ".pkg"))).toEqual(snapshot);
    }
  }, SLOW);
});

describe("exports against the budget", () => {
  test("inside the profile directory the export's bytes count; at exactly 1.0 nothing is written", () => {
    const root = workspace();
    expect(cli(["ingest", "--root", root]).code).toBe(0);
    const out = join(profileDir(root), "exports", "graph.json");
    const p = probe(root, ["export", "--out", out]);
    const bytes = cli(["export", "--root", root, "--format", "json"]).stdout.length;
    expect(p.projected).toBe(p.usage + bytes);
    setBudget(root, multiplierFor(p.projected, p.source));
    const before = treeHash(root);
    const r = cli(["export", "--root", root, "--out", out]);
    expect(r.code).toBe(4);
    expect(expectOneLineError(r)).toContain("disk budget exceeded");
    expect(existsSync(out)).toBe(false);
    expect(treeHash(root)).toEqual(before);
    setBudget(root, 1000);
    const ok = cli(["export", "--root", root, "--out", out, "--json"]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toBe("");
    expect(ok.json.budget).toMatchObject({ status: "ok", projected_bytes: p.projected });
    // Writing the same export again adds nothing: it replaces bytes already counted.
    expect(cli(["export", "--root", root, "--out", out, "--json"]).json.budget.projected_bytes).toBe(p.projected);
    expect(cli(["verify", "--root", root]).code).toBe(0);
  }, SLOW);

  test("outside .pkg/ (another directory, possibly another filesystem) it is still checked against the artifact directory", () => {
    const root = workspace();
    expect(cli(["ingest", "--root", root]).code).toBe(0);
    const out = join(tempDir("ag-export-elsewhere-"), "graph.graphml");
    const p = probe(root, ["export", "--format", "graphml", "--out", out]);
    expect(p.projected).toBe(p.usage); // the file does not land in the artifact directory
    setBudget(root, multiplierFor(p.usage, p.source));
    const r = cli(["export", "--root", root, "--format", "graphml", "--out", out]);
    expect(r.code).toBe(4);
    expect(existsSync(out)).toBe(false);
    setBudget(root, multiplierFor(Math.floor(p.usage / 0.8), p.source));
    const w = cli(["export", "--root", root, "--format", "graphml", "--out", out, "--json"]);
    expect(w.code).toBe(0);
    expect(w.json.budget.status).toBe("warn");
    expect(w.stderr).toContain("warning: disk budget warning");
    expect(existsSync(out)).toBe(true);
  }, SLOW);
});

describe("budget and runs", () => {
  test("rebuild is checked like ingest: at a blocking budget it exits 4 and writes nothing", () => {
    const root = workspace();
    expect(cli(["ingest", "--root", root]).code).toBe(0);
    setBudget(root, 1e-9);
    const before = treeHash(root);
    const r = cli(["rebuild", "--root", root, "--json"]);
    expect({ code: r.code, status: r.json.budget?.status }).toEqual({ code: 4, status: "block" });
    expect(treeHash(root)).toEqual(before);
  }, SLOW);

  test("a blocked ingest or rebuild after init leaves .pkg/profiles/ (and an empty profile directory) where they were", () => {
    // Every directory and file under .pkg/, empty directories included (treeHash lists files only).
    const listing = (dir: string): string[] => readdirSync(dir, { recursive: true, withFileTypes: true })
      .map((e) => `${join(e.parentPath, e.name).slice(dir.length)}${e.isDirectory() ? "/" : ""}`).sort();
    const root = workspace();
    expect(cli(["init", "--root", root]).code).toBe(0);
    setBudget(root, 1e-9);
    const pkg = join(root, ".pkg");
    expect(listing(pkg)).toEqual(["/profiles/"]);
    for (const cmd of ["ingest", "rebuild"]) {
      expect(cli([cmd, "--root", root]).code).toBe(4);
      expect(listing(pkg)).toEqual(["/profiles/"]);
    }
    // A profile directory that was there (empty) stays too; one the run made goes again.
    mkdirSync(join(pkg, "profiles", "default"));
    expect(cli(["ingest", "--root", root]).code).toBe(4);
    expect(listing(pkg)).toEqual(["/profiles/", "/profiles/default/"]);
    // Without init, the run made .pkg/ and everything below: all of it goes.
    rmSync(pkg, { recursive: true });
    expect(cli(["ingest", "--root", root]).code).toBe(4);
    expect(existsSync(pkg)).toBe(false);
  }, SLOW);

  test("an unchanged workspace over its budget (a lowered multiplier): exit 0, unchanged, nothing written, the figures said", () => {
    const root = workspace();
    const first = cli(["ingest", "--root", root, "--json"]).json;
    setBudget(root, 1e-9);
    const before = treeHash(join(root, ".pkg"));
    const r = cli(["ingest", "--root", root, "--json"]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ run_id: first.run_id, unchanged: true, budget: { status: "block" } });
    expect(r.json.budget.projected_bytes).toBe(r.json.budget.usage_bytes);
    expect(r.stderr).toContain("disk budget exceeded");
    expect(treeHash(join(root, ".pkg"))).toEqual(before);
    // A change is still stopped before it writes.
    appendFileSync(join(root, "notes", readdirSync(join(root, "notes")).find((n) => n.endsWith(".md"))!), "\nMore.\n");
    expect(cli(["ingest", "--root", root]).code).toBe(4);
    expect(treeHash(join(root, ".pkg"))).toEqual(before);
  }, SLOW);

  test("changing only the budget does not start a new run", () => {
    const root = workspace();
    const first = cli(["ingest", "--root", root, "--json"]).json;
    setBudget(root, 7.5);
    const again = cli(["ingest", "--root", root, "--json"]);
    expect(again.code).toBe(0);
    expect(again.json).toMatchObject({ run_id: first.run_id, unchanged: true, budget: { limit_bytes: Math.floor(MiB * 7.5) } });
  }, SLOW);
});

describe("the projection", () => {
  test("is never below what a run really adds, and close to it (first ingest, incremental ingest, rebuild)", () => {
    const root = workspace();
    const runs: string[][] = [["ingest"], ["ingest"], ["rebuild"]];
    for (const [i, args] of runs.entries()) {
      if (i === 1) {
        writeFileSync(join(root, "notes", "more.md"), `# More\n\n${"retention and the ledger ".repeat(30)}\n`);
        // Non-ASCII names take more bytes than characters in the manifest and the stat cache.
        writeFileSync(join(root, "notes", "議事録-データ保持ポリシーと監査ログの設計について-Überblick-журнал.md"), "# Überblick\n\nретенция\n");
      }
      const r = cli([...args, "--root", root, "--json"]);
      expect(r.code).toBe(0);
      const after = du(profileDir(root));
      expect({ args, under: after > r.json.budget.projected_bytes }).toEqual({ args, under: false });
      expect(r.json.budget.projected_bytes - after).toBeLessThan(1024);
    }
  }, SLOW);
});

describe("auditgraph budget", () => {
  test("prints the current figures and writes nothing", () => {
    const root = workspace();
    const first = cli(["ingest", "--root", root, "--json"]).json;
    const before = treeHash(root);
    const r = cli(["budget", "--root", root, "--json"]);
    expect(r.code).toBe(0);
    expect(Object.keys(r.json.budget).sort()).toEqual(BUDGET_KEYS);
    expect(r.json.budget).toMatchObject({ status: "ok", source_bytes: first.budget.source_bytes, usage_bytes: du(profileDir(root)), limit_bytes: 3 * MiB });
    expect(r.json.budget.projected_bytes).toBe(r.json.budget.usage_bytes);
    const text = cli(["budget", "--root", root]);
    expect(text.stdout).toContain(`usage ${du(profileDir(root))} bytes`);
    expect(treeHash(root)).toEqual(before);
    // Over budget, it reports the block and still exits 0: it only reports.
    setBudget(root, 1e-9);
    const over = cli(["budget", "--root", root, "--json"]);
    expect({ code: over.code, status: over.json.budget.status }).toEqual({ code: 0, status: "block" });
    // With no run yet it estimates the source bytes from a scan and writes nothing either.
    const fresh = workspace({ "notes/a.md": "# A\n" });
    const f = cli(["budget", "--root", fresh, "--json"]);
    expect(f.json).toMatchObject({ source: expect.stringContaining("workspace scan"), budget: { source_bytes: 4, usage_bytes: 0 } });
    expect(existsSync(join(fresh, ".pkg"))).toBe(false);
  }, SLOW);
});

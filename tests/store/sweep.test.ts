// A run directory a killed writer left without a manifest (killed just before the manifest's
// rename: the directory holds only its temp file) is not a run: verify notes it, runs list leaves it
// out, and the next writer (ingest, rebuild, runs prune) removes it, unless the pointer names it.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, ingested } from "../helpers/cli.ts";

afterAll(cleanup);

const profileOf = (root: string) => join(root, ".pkg/profiles/default");
const currentOf = (root: string) => readFileSync(join(profileOf(root), "current"), "utf8").trim();

describe("a run directory left without a manifest", () => {
  /** What a writer killed just before renaming its manifest into place leaves. */
  const leaveKilledRun = (root: string, id: string, opts: { empty?: boolean } = {}) => {
    const dir = join(profileOf(root), "runs", id);
    mkdirSync(dir, { recursive: true });
    if (!opts.empty) writeFileSync(join(dir, `.tmp-manifest.json.${999_999}.1`), '{\n  "artifacts": [');
    return dir;
  };

  test("is not a run: verify notes it, runs list leaves it out, and the next ingest removes it", () => {
    const root = ingested();
    const dir = leaveKilledRun(root, "run_" + "0".repeat(32));
    const empty = leaveKilledRun(root, "run_" + "1".repeat(32), { empty: true });
    const v = cli(["verify", "--root", root, "--json"]);
    expect(v.json.problems).toEqual([]);
    expect(v.code).toBe(0);
    expect(v.json.notes.join("\n")).toContain(`leftover run directory ${dir} without a manifest`);
    expect(cli(["runs", "list", "--root", root, "--json"]).json.runs.map((r: any) => r.run_id)).toEqual([currentOf(root)]);

    expect(cli(["ingest", "--root", root]).code).toBe(0);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(empty)).toBe(false);
    expect(readdirSync(join(profileOf(root), "runs"))).toEqual([currentOf(root)]);
    const after = cli(["verify", "--root", root, "--json"]);
    expect(after.code).toBe(0);
    expect(after.json.notes).toEqual([]);
  }, 60_000);

  test("runs prune sweeps it too; the directory of the run the pointer names is never swept", () => {
    const root = ingested();
    const dir = leaveKilledRun(root, "run_" + "2".repeat(32));
    expect(cli(["runs", "prune", "--keep", "1", "--root", root]).code).toBe(0);
    expect(existsSync(dir)).toBe(false);

    // A pointer naming a directory that holds only a temp file: a damaged store, reported and kept.
    const id = "run_" + "3".repeat(32);
    const named = leaveKilledRun(root, id);
    writeFileSync(join(profileOf(root), "current"), id + "\n");
    const v = cli(["verify", "--root", root]);
    expect(v.code).toBe(5);
    expect(v.stderr).toContain(`manifest ${join(named, "manifest.json")} is missing`);
    expect(cli(["runs", "prune", "--keep", "1", "--root", root]).code).toBe(0);
    expect(existsSync(named)).toBe(true);
  }, 60_000);
});

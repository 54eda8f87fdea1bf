// A run directory a killed writer left without a manifest (killed just before the manifest's
// rename: the directory holds only its temp file) is not a run: verify notes it, runs list leaves it
// out, and the next writer (ingest, rebuild, runs prune) removes it, unless the pointer names it.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, cliUnprivileged, ingested, openToAll } from "../helpers/cli.ts";

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

// runs.log carries a start line for every run before anything of it is in place: a run with a
// start line, no finish line, and no pointer naming it was killed between its manifest and the
// pointer. It never became current: verify notes it, runs list leaves it out, the next writer
// removes it, and runs prune never keeps it in place of a real run.
describe("the last steps of a killed writer", () => {
  const logOf = (root: string) => join(profileOf(root), "runs.log");
  const lines = (root: string) => readFileSync(logOf(root), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  /** Drops run `id`'s finish line, as a writer killed before appending it leaves runs.log. */
  const dropFinish = (root: string, id: string) =>
    writeFileSync(logOf(root), lines(root).filter((e) => !(e.run_id === id && e.finished_at)).map((e) => JSON.stringify(e) + "\n").join(""));
  /** A new run from an edit, then the store as a writer killed after its manifest, before its pointer, leaves it. */
  const ghostRun = (root: string): string => {
    const before = currentOf(root);
    writeFileSync(join(root, "notes", `ghost-${Date.now()}.md`), "# Ghost\n\nA run that never became current.\n");
    const r = cli(["ingest", "--root", root, "--json"]);
    expect(r.code).toBe(0);
    writeFileSync(join(profileOf(root), "current"), before + "\n");
    dropFinish(root, r.json.run_id);
    return r.json.run_id;
  };

  test("every run's start line comes before its finish line", () => {
    const root = ingested();
    const id = currentOf(root);
    expect(lines(root).map((e) => [e.run_id, "started_at" in e, "finished_at" in e])).toEqual([[id, true, false], [id, false, true]]);
  }, 60_000);

  test("a run that never became current: noted by verify, left out of runs list, removed by the next ingest", () => {
    const root = ingested();
    const real = currentOf(root);
    const ghost = ghostRun(root);
    const dir = join(profileOf(root), "runs", ghost);
    const v = cli(["verify", "--root", root, "--json"]);
    expect(v.code).toBe(0);
    expect(v.json.notes.join("\n")).toContain(`leftover run ${dir} that never became current`);
    expect(cli(["runs", "list", "--root", root, "--json"]).json.runs.map((r: any) => r.run_id)).toEqual([real]);
    // An unchanged workspace: the run is not written again, and what was left goes.
    rmSync(join(root, "notes", readdirSync(join(root, "notes")).find((n) => n.startsWith("ghost-"))!));
    expect(cli(["ingest", "--root", root]).code).toBe(0);
    expect(existsSync(dir)).toBe(false);
    expect(currentOf(root)).toBe(real);
    const after = cli(["verify", "--root", root, "--json"]);
    expect(after.code).toBe(0);
    expect(after.json.notes.join("\n")).not.toContain("never became current");
  }, 60_000);

  test("runs prune --keep 2 keeps the real previous run, not the one that never became current", () => {
    const root = ingested();
    const first = currentOf(root);
    writeFileSync(join(root, "notes", "second.md"), "# Second\n\nThe second run.\n");
    expect(cli(["ingest", "--root", root]).code).toBe(0);
    const second = currentOf(root);
    const ghost = ghostRun(root);
    const p = cli(["runs", "prune", "--keep", "2", "--root", root, "--json"]);
    expect(p.code).toBe(0);
    expect(p.json.kept).toEqual([first, second]);
    expect(readdirSync(join(profileOf(root), "runs")).sort()).toEqual([first, second].sort());
    expect(existsSync(join(profileOf(root), "runs", ghost))).toBe(false);
    expect(cli(["verify", "--root", root]).code).toBe(0);
  }, 60_000);

  test("a run that once was current and is written again keeps its directory when that write is killed", () => {
    const root = ingested();
    const first = currentOf(root);
    const extra = join(root, "notes", "again.md");
    writeFileSync(extra, "# Again\n\nComes and goes.\n");
    expect(cli(["ingest", "--root", root]).code).toBe(0);
    rmSync(extra);
    // The first run's inputs again: its id, written again, killed before the pointer.
    const second = currentOf(root);
    expect(cli(["ingest", "--root", root]).code).toBe(0);
    expect(currentOf(root)).toBe(first);
    writeFileSync(join(profileOf(root), "current"), second + "\n");
    writeFileSync(logOf(root), lines(root).slice(0, -1).map((e) => JSON.stringify(e) + "\n").join(""));
    expect(cli(["ingest", "--root", root]).code).toBe(0);
    expect(readdirSync(join(profileOf(root), "runs")).sort()).toEqual([first, second].sort());
    expect(currentOf(root)).toBe(first);
  }, 60_000);

  test("a current run without a finish line (killed after the pointer) is noted, and the next ingest logs it", () => {
    const root = ingested();
    const id = currentOf(root);
    dropFinish(root, id);
    const v = cli(["verify", "--root", root, "--json"]);
    expect(v.code).toBe(0);
    expect(v.json.notes.join("\n")).toContain(`current run ${id} has no finish line in runs.log`);
    expect(cli(["ingest", "--root", root]).code).toBe(0);
    const finish = lines(root).filter((e) => e.run_id === id && e.finished_at);
    expect(finish).toHaveLength(1);
    expect(finish[0].recovered).toBe(true);
    expect(Date.parse(finish[0].finished_at)).toBe(Math.floor(statSync(join(profileOf(root), "runs", id, "manifest.json")).mtimeMs));
    expect(cli(["verify", "--root", root, "--json"]).json.notes).toEqual([]);
  }, 60_000);

  test("a runs.log that is no regular file stops a run before anything is written", () => {
    const root = ingested();
    const before = currentOf(root);
    rmSync(logOf(root));
    mkdirSync(logOf(root));
    writeFileSync(join(root, "notes", "more.md"), "# More\n\nA change.\n");
    const r = cli(["ingest", "--root", root]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")[0]).toContain("runs.log");
    expect(currentOf(root)).toBe(before);
    expect(readdirSync(join(profileOf(root), "runs"))).toEqual([before]);
  }, 60_000);
});

test("a stat cache that cannot be written (a read-only cache/ directory) is a warning: the run stands, with its runs.log line, and the next runs go through", () => {
  const root = ingested();
  const cache = join(profileOf(root), "cache");
  openToAll(root);
  chmodSync(cache, 0o555);
  try {
    writeFileSync(join(root, "notes", "cached.md"), "# Cached\n\nA change.\n");
    const r = cliUnprivileged(["ingest", "--root", root, "--json"]);
    if (!r) return console.warn("skipped: cannot run as a user without privileges here");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("the stat cache");
    expect(r.stderr).toContain("cannot be written");
    expect(currentOf(root)).toBe(r.json.run_id);
    const log = readFileSync(join(profileOf(root), "runs.log"), "utf8");
    expect(log).toContain(`"run_id":"${r.json.run_id}","finished_at"`);
    const again = cliUnprivileged(["ingest", "--root", root, "--json"])!;
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.unchanged).toBe(true);
  } finally { chmodSync(cache, 0o755); }
}, 60_000);

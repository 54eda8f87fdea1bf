// New objects wait in temp files (a `.tmp-objects.*` staging directory in the profile directory)
// from the moment they are built until the run is written: nothing of them may stay behind when the
// run is blocked, and a killed run's staging directory is only a note for `verify`, swept next time.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, spawnCli, treeHash, workspace } from "../helpers/cli.ts";

afterAll(cleanup);
const SLOW = 60_000;

/** `n` generated notes: more than two shards change, so a full run builds them on workers. */
function notes(root: string, n: number, salt = "") {
  const words = "ledger invoice payment refund audit journal account balance vendor receipt".split(" ");
  mkdirSync(join(root, "notes", "gen"), { recursive: true });
  for (let i = 0; i < n; i++) {
    let body = `# Note ${i}${salt}\n\n`;
    for (let k = 0; k < 600; k++) body += words[(k * 7 + i) % words.length] + (k % 12 === 11 ? "\n" : " ") + (k % 89 === 0 ? `n${i}k${k}${salt} ` : "");
    writeFileSync(join(root, "notes", "gen", `n${i}.md`), body);
  }
}
const tempNames = (dir: string): string[] => {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith(".tmp-")) out.push(join(d, e.name));
      if (e.isDirectory()) walk(join(d, e.name));
    }
  };
  walk(dir);
  return out;
};
const tinyBudget = (root: string) => {
  mkdirSync(join(root, "config"), { recursive: true });
  writeFileSync(join(root, "config", "pkg.yaml"), "storage:\n  footprint_budget:\n    multiplier: 0.000001\n");
};

test("a blocked run removes its spilled objects (first run: no .pkg at all); a written run leaves no temp file", () => {
  const root = workspace();
  notes(root, 700);
  tinyBudget(root);
  const first = cli(["ingest", "--root", root]);
  expect(first.code).toBe(4);
  expect(existsSync(join(root, ".pkg"))).toBe(false);

  writeFileSync(join(root, "config", "pkg.yaml"), "storage:\n  footprint_budget:\n    multiplier: 100\n");
  const ok = cli(["ingest", "--root", root, "--json"]);
  expect(ok.code).toBe(0);
  expect(ok.json.new_objects).toBeGreaterThan(4);
  expect(tempNames(join(root, ".pkg"))).toEqual([]);

  notes(root, 700, " changed");
  tinyBudget(root);
  const before = treeHash(join(root, ".pkg"));
  expect(cli(["ingest", "--root", root]).code).toBe(4);
  expect(cli(["rebuild", "--root", root]).code).toBe(4);
  expect(treeHash(join(root, ".pkg"))).toEqual(before);
  expect(tempNames(join(root, ".pkg"))).toEqual([]);
}, SLOW);

test("SIGKILL while planning: the staging directory is a note for verify and the next ingest sweeps it", async () => {
  const root = workspace();
  const first = cli(["ingest", "--root", root, "--json"]);
  expect(first.code).toBe(0);
  notes(root, 1500);
  const pd = join(root, ".pkg", "profiles", "default");
  const spilled = () => {
    for (const n of readdirSync(pd)) if (n.startsWith(".tmp-objects.") && readdirSync(join(pd, n)).length > 0) return true;
    return false;
  };
  const child = spawnCli(["ingest", "--root", root]);
  const deadline = Date.now() + 30_000;
  while (!spilled() && Date.now() < deadline) await Bun.sleep(5);
  child.kill("SIGKILL");
  await child.exited;
  expect(spilled()).toBe(true);

  const v = cli(["verify", "--root", root, "--json"]);
  expect(v.json.problems).toEqual([]);
  expect(v.code).toBe(0);
  expect(v.json.notes.join("\n")).toContain("leftover temp directory");
  expect(cli(["query", "--root", root, "idempotent", "--json"]).json.run_id).toBe(first.json.run_id);

  const again = cli(["ingest", "--root", root, "--json"]);
  expect(again.code).toBe(0);
  expect(tempNames(join(root, ".pkg"))).toEqual([]);
  const clean = cli(["verify", "--root", root, "--json"]);
  expect(clean.code).toBe(0);
  expect(clean.json.notes.join("\n")).not.toContain("leftover");
}, SLOW);

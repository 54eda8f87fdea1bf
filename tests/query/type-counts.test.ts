// The manifest counts local nodes by type (sections, decisions, claims, symbols beside ok files
// and chunks), so that a count by type reads no shard: those counts must be what the shards'
// headers say, after a fresh ingest and after incremental ones.
import { afterAll, expect, test } from "bun:test";
import { appendFileSync, cpSync, rmSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, EXAMPLE, tempDir } from "../helpers/cli.ts";
import { loadWorkspace } from "../../src/config/load.ts";
import { openStore } from "../../src/store/open.ts";
import { RunIndex } from "../../src/query/run-index.ts";

afterAll(cleanup);

/** Ingests, then checks the run's counts by type (as `ingest --json` prints them) against the shards' headers. */
function check(root: string, step: string) {
  const ing = cli(["ingest", "--root", root, "--json"]);
  expect([step, ing.code]).toEqual([step, 0]);
  const ix = new RunIndex(openStore(loadWorkspace({ root })));
  try {
    const c = ix.store.manifest.counts;
    expect([step, ing.json.counts]).toEqual([step, c]);
    expect([step, typeof c.sections, typeof c.decisions, typeof c.claims]).toEqual([step, "number", "number", "number"]);
    expect([step, ix.typeCounts()]).toEqual([step, ix.stats().types]);
  } finally { ix.close(); }
}

test("the manifest's counts by type are the shards' own, fresh and incremental", () => {
  const root = tempDir("ag-types-");
  cpSync(EXAMPLE, root, { recursive: true });
  rmSync(join(root, ".pkg"), { recursive: true, force: true });
  cpSync(join(import.meta.dir, "..", "..", "src", "shared", "json.ts"), join(root, "notes", "json.ts"));
  check(root, "fresh");
  appendFileSync(join(root, "notes", "json.ts"), "\nexport function added(): number { return 1; }\n");
  check(root, "a code file edited");
  rmSync(join(root, "notes", "json.ts"));
  check(root, "the code file removed");
});

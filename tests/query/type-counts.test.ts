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

function check(root: string, step: string) {
  const ix = new RunIndex(openStore(loadWorkspace({ root })));
  try {
    const c = ix.store.manifest.counts;
    expect([step, c.sections !== undefined]).toEqual([step, true]);
    expect([step, ix.typeCounts()]).toEqual([step, ix.stats().types]);
  } finally { ix.close(); }
}

test("the manifest's counts by type are the shards' own, fresh and incremental", () => {
  const root = tempDir("ag-types-");
  cpSync(EXAMPLE, root, { recursive: true });
  rmSync(join(root, ".pkg"), { recursive: true, force: true });
  cpSync(join(import.meta.dir, "..", "..", "src", "shared", "json.ts"), join(root, "notes", "json.ts"));
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  check(root, "fresh");
  appendFileSync(join(root, "notes", "json.ts"), "\nexport function added(): number { return 1; }\n");
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  check(root, "a code file edited");
  rmSync(join(root, "notes", "json.ts"));
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  check(root, "the code file removed");
});

// A directory the scan cannot list is not passed over in silence: a warning names it and the run's
// manifest records it as skipped (`unreadable_directory`), like an unreadable file; a directory that
// lists but cannot be searched records each entry as `unreadable`. Root lists and searches anything,
// so the CLI runs as an unprivileged user (uid 65534 through setpriv when the tests run as root).
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cliUnprivileged, openToAll, workspace } from "../helpers/cli.ts";

const locked: string[] = [];
afterAll(() => {
  for (const d of locked) try { chmodSync(d, 0o777); } catch {} // so that cleanup can remove them, whoever runs the tests
  cleanup();
});

test("an unreadable directory: a warning and a skipped record, the same run each time; readable again, its files are ingested", () => {
  const root = workspace();
  mkdirSync(join(root, "notes/locked"));
  writeFileSync(join(root, "notes/locked/x.md"), "# Locked\n\nbehind a door\n");
  mkdirSync(join(root, "notes/listed"));
  writeFileSync(join(root, "notes/listed/y.md"), "# Listed\n");
  openToAll(root);
  locked.push(join(root, "notes/locked"), join(root, "notes/listed"));
  chmodSync(join(root, "notes/locked"), 0o000);
  chmodSync(join(root, "notes/listed"), 0o444); // names can be read, the files cannot be reached

  const r = cliUnprivileged(["ingest", "--root", root, "--json"]);
  if (!r) { console.warn("skipped: cannot run the CLI as an unprivileged user here (root without setpriv)"); return; }
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("warning: directory notes/locked cannot be read: the files under it are left out");
  expect(r.json.skipped).toEqual(expect.arrayContaining([
    { path: "notes/locked", reason: "unreadable_directory" },
    { path: "notes/listed/y.md", reason: "unreadable" },
  ]));
  const pd = join(root, ".pkg/profiles/default");
  const m = JSON.parse(readFileSync(join(pd, "runs", r.json.run_id, "manifest.json"), "utf8"));
  expect(m.files).toContainEqual({ path: "notes/locked", bytes: 0, status: "skipped", reason: "unreadable_directory" });

  const again = cliUnprivileged(["ingest", "--root", root, "--json"])!;
  expect(again.json).toMatchObject({ run_id: r.json.run_id, unchanged: true });
  expect(again.stderr).toContain("warning: directory notes/locked cannot be read");

  chmodSync(join(root, "notes/locked"), 0o777);
  chmodSync(join(root, "notes/listed"), 0o777);
  const open = cliUnprivileged(["ingest", "--root", root, "--json"])!;
  expect(open.code).toBe(0);
  expect(open.stderr).not.toContain("cannot be read");
  expect(open.json.skipped).toEqual([]);
  expect(open.json.counts.ok).toBe(8);
}, 60_000);

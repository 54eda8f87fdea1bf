// Readers take no lock. A read whose run an ingest and `runs prune --keep 1` replace while it reads
// meets objects that are gone: that is no damage, and the command runs once more on the run that
// is current now, instead of exit 5 and a hint to rebuild. strace holds the reader just after it
// opened the current manifest, at a point no timing can miss.
import { afterAll, expect, test } from "bun:test";
import { appendFileSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AG, cleanup, cli, ingested, workspace } from "../helpers/cli.ts";

afterAll(cleanup);

const STRACE = Bun.which("strace");

test.skipIf(!STRACE)("a query whose run is replaced and pruned while it reads answers from the new run (exit 0)", async () => {
  const root = ingested();
  const profile = join(root, ".pkg", "profiles", "default");
  const old = readFileSync(join(profile, "current"), "utf8").trim();
  const before = cli(["query", "database", "--root", root, "--json"]).json.hits.length;
  expect(before).toBeGreaterThan(0);
  // Every file edited: no object of the old run's shards is the new run's.
  const edit = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory() && e.name !== ".pkg" && e.name !== "config") edit(join(dir, e.name));
      else if (e.isFile() && /\.(md|txt|log|py|ts)$/.test(e.name)) appendFileSync(join(dir, e.name), "\nedited database note\n");
    }
  };
  edit(root);
  const reader = Bun.spawn([STRACE!, "-f", "-qq", "-o", "/dev/null", "-P", join(profile, "runs", old, "manifest.json"), "-e", "trace=openat", "-e", "inject=openat:delay_exit=4000000",
    ...AG, "query", "database", "--root", root, "--json"], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  await Bun.sleep(1500);
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  expect(cli(["runs", "prune", "--keep", "1", "--root", root]).code).toBe(0);
  expect(readdirSync(join(profile, "runs"))).not.toContain(old);
  const code = await reader.exited;
  const out = await new Response(reader.stdout).text();
  const err = await new Response(reader.stderr).text();
  expect({ code, err }).toEqual({ code: 0, err: "" });
  const j = JSON.parse(out);
  expect(j.run_id).toBe(readFileSync(join(profile, "current"), "utf8").trim());
  expect(j.hits.length).toBeGreaterThan(0);
}, 60_000);

test.skipIf(!STRACE)("verify while an ingest and a prune replace the run: no problem that is not there", async () => {
  const root = ingested();
  const profile = join(root, ".pkg", "profiles", "default");
  appendFileSync(join(root, "notes", readdirSync(join(root, "notes")).find((n) => n.endsWith(".md"))!), "\nOne more line.\n");
  // Held as it first opens runs/, after it has read the pointer.
  const verify = Bun.spawn([STRACE!, "-f", "-qq", "-o", "/dev/null", "-P", join(profile, "runs"), "-e", "trace=openat", "-e", "inject=openat:delay_enter=4000000:when=1",
    ...AG, "verify", "--root", root], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  await Bun.sleep(1500);
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  expect(cli(["runs", "prune", "--keep", "1", "--root", root]).code).toBe(0);
  const code = await verify.exited;
  const err = await new Response(verify.stderr).text();
  expect({ code, err: err.split("\n").filter((l) => !l.startsWith("warning:")).join("\n") }).toEqual({ code: 0, err: "" });
}, 60_000);

test.skipIf(!STRACE)("Ctrl-C or SIGTERM during an ingest: exit 130 or 143 and one line (the JSON error document with --json), the lock released; the next ingest is a fresh one's run", async () => {
  const fresh = ingested();
  const want = readFileSync(join(fresh, ".pkg", "profiles", "default", "current"), "utf8").trim();
  for (const [when, signal, exit] of [[1, "SIGINT", 130], [3, "SIGINT", 130], [2, "SIGTERM", 143]] as const) {
    const root = workspace();
    // The signal as the ingest renames its n-th file into place (strace delivers it at that call).
    const p = Bun.spawnSync([STRACE!, "-f", "-qq", "-o", "/dev/null", "-e", "trace=rename,renameat,renameat2", "-e", `inject=rename,renameat,renameat2:signal=${signal}:when=${when}`,
      ...AG, "ingest", "--root", root, "--json"], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
    const err = p.stderr.toString();
    expect({ when, code: p.exitCode, lines: err.trim().split("\n").length }).toEqual({ when, code: exit, lines: 1 });
    expect(err).toContain(`interrupted by ${signal}`);
    expect(JSON.parse(p.stdout.toString())).toMatchObject({ status: "error", code: "interrupted", exit_code: exit });
    expect(existsSync(join(root, ".pkg", "lock"))).toBe(false);
    if (existsSync(join(root, ".pkg", "profiles", "default"))) expect(cli(["verify", "--root", root]).code).toBe(0);
    expect(cli(["ingest", "--root", root, "--json"]).json.run_id).toBe(want);
  }
}, 60_000);

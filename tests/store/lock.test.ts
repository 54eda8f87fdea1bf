// The write lock after a writer was killed between creating `.pkg/lock` and writing its pid: a lock
// without a pid (empty or garbage) older than a short grace is stale and taken over, instead of
// blocking every writer until it is deleted by hand; a fresh one is still respected. A writer that
// dies before linking its prepared lock leaves a temp file, swept by the next one.
import { afterAll, expect, test } from "bun:test";
import { existsSync, linkSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, expectOneLineError, ingested, workspace } from "../helpers/cli.ts";
import { STALE_EMPTY_MS } from "../../src/store/lock.ts";


afterAll(cleanup);

/** A pid no process has: one of a process that has exited. */
function deadPid(): number {
  const p = Bun.spawnSync(["true"]);
  return p.pid;
}

test.each([["an empty", ""], ["a garbage", "not a pid\n"], ["a torn pid's", "12ab"]])("%s lock older than the grace is stale: the next writer takes it over at once", (_name, content) => {
  const root = workspace();
  const lock = join(root, ".pkg", "lock");
  mkdirSync(join(root, ".pkg"));
  writeFileSync(lock, content);
  const old = (Date.now() - STALE_EMPTY_MS - 60_000) / 1000;
  utimesSync(lock, old, old);
  const t0 = performance.now();
  const r = cli(["ingest", "--root", root], { env: { AUDITGRAPH_LOCK_WAIT_MS: "20000" } });
  expect(r.code).toBe(0);
  expect(performance.now() - t0).toBeLessThan(15_000); // did not wait for the deadline
  expect(existsSync(lock)).toBe(false); // released by the run that took it over
  expect(readdirSync(join(root, ".pkg"))).toEqual(["profiles"]);
}, 60_000);

test("a fresh lock without a pid is a writer about to write it: respected, then taken over once older than the grace", () => {
  const root = workspace();
  const lock = join(root, ".pkg", "lock");
  mkdirSync(join(root, ".pkg"));
  writeFileSync(lock, "");
  const r = cli(["ingest", "--root", root], { env: { AUDITGRAPH_LOCK_WAIT_MS: "100" } });
  expect(r.code).toBe(1);
  expect(expectOneLineError(r)).toContain(`is locked by another auditgraph process (no pid written yet, lock ${lock})`);
  expect(existsSync(lock)).toBe(true);
  // Waiting longer than the grace, the same writer takes it over.
  expect(cli(["ingest", "--root", root], { env: { AUDITGRAPH_LOCK_WAIT_MS: String(STALE_EMPTY_MS * 5) } }).code).toBe(0);
  expect(existsSync(lock)).toBe(false);
}, 60_000);

test("the temp file of a lock attempt whose process died is swept; a live process's is left alone", () => {
  const root = workspace();
  mkdirSync(join(root, ".pkg"));
  const dead = join(root, ".pkg", `.tmp-lock.${deadPid()}.1`);
  const live = join(root, ".pkg", `.tmp-lock.${process.pid}.1`);
  writeFileSync(dead, "1\n");
  writeFileSync(live, `${process.pid}\n`);
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  expect(existsSync(dead)).toBe(false);
  expect(existsSync(live)).toBe(true);
}, 60_000);

test("many writers meeting one stale lock: exactly one holds the lock at a time, every one gets it, no claim is left", async () => {
  const root = workspace({ "notes/a.md": "# A\n" });
  const pkg = join(root, ".pkg");
  mkdirSync(pkg);
  writeFileSync(join(pkg, "lock"), `${deadPid()}\n`);
  // Each writer takes the lock, marks itself inside with an exclusive create (which fails if another
  // writer is inside), stays a moment, leaves and releases.
  const script = join(root, "writer.ts");
  writeFileSync(script, [
    `import { acquireLock } from ${JSON.stringify(join(import.meta.dir, "../../src/store/lock.ts"))};`,
    `import { openSync, closeSync, unlinkSync } from "node:fs";`,
    `const lock = await acquireLock(${JSON.stringify(root)}, 60_000);`,
    `const inside = ${JSON.stringify(join(pkg, "inside"))};`,
    `try { closeSync(openSync(inside, "wx")); } catch { console.log("overlap"); process.exit(3); }`,
    `await Bun.sleep(20);`,
    `unlinkSync(inside);`,
    `lock.release();`,
  ].join("\n"));
  // Several rounds: the new lock can get the inode number the stale one freed, and a writer that
  // checked only the number then deleted a live lock (two writers inside, about once in 20 rounds).
  for (let round = 0; round < 6; round++) {
    if (round > 0) writeFileSync(join(pkg, "lock"), `${deadPid()}\n`);
    const procs = Array.from({ length: 8 }, () => Bun.spawn([process.execPath, script], { stdout: "pipe", stderr: "pipe" }));
    const codes = await Promise.all(procs.map((p) => p.exited));
    const outs = await Promise.all(procs.map((p) => new Response(p.stdout).text()));
    expect({ round, outs: outs.join("") }).toEqual({ round, outs: "" });
    expect(codes).toEqual(procs.map(() => 0));
    expect(readdirSync(pkg).filter((n) => n.includes("lock"))).toEqual([]);
  }
}, 90_000);

test("a claim on the stale lock that a writer killed while taking over left is dropped once old: the next writer then takes the lock", () => {
  const root = workspace({ "notes/a.md": "# A\n" });
  const pkg = join(root, ".pkg");
  mkdirSync(pkg);
  const lock = join(pkg, "lock");
  writeFileSync(lock, `${deadPid()}\n`);
  linkSync(lock, join(pkg, `.tmp-lock-claim.${statSync(lock).ino}`)); // the claim of a killed writer, new
  const t0 = performance.now();
  const r = cli(["ingest", "--root", root], { env: { AUDITGRAPH_LOCK_WAIT_MS: "40000" } });
  expect(r.code).toBe(0);
  // It waited for the claim to age (STALE_CLAIM_MS, 10 s), not for its own deadline.
  expect(performance.now() - t0).toBeGreaterThan(9_000);
  expect(readdirSync(pkg).filter((n) => n.includes("lock"))).toEqual([]);
}, 60_000);

test("a directory where the lock file goes: exit 5 at once naming it, not a wait for a lock no one holds", () => {
  const root = ingested();
  mkdirSync(join(root, ".pkg", "lock"));
  const t0 = Date.now();
  const r = cli(["ingest", "--root", root], { env: { AUDITGRAPH_LOCK_WAIT_MS: "20000" } });
  expect(r.code).toBe(5);
  expect(expectOneLineError(r)).toContain(`the workspace lock ${join(root, ".pkg", "lock")} is a directory`);
  expect(Date.now() - t0).toBeLessThan(15_000);
});

test("AUDITGRAPH_LOCK_WAIT_MS that is not a whole number of milliseconds is a usage error at once, with a held lock too; nothing is written", () => {
  const root = workspace();
  for (const bad of ["abc", "1e3", "-5", " 100"]) {
    const t0 = performance.now();
    const r = cli(["ingest", "--root", root], { env: { AUDITGRAPH_LOCK_WAIT_MS: bad }, timeoutMs: 20_000 });
    expect({ bad, code: r.code }).toEqual({ bad, code: 2 });
    expect(expectOneLineError(r)).toBe(`error: AUDITGRAPH_LOCK_WAIT_MS must be a whole number of milliseconds; got '${bad}'`);
    expect(performance.now() - t0).toBeLessThan(15_000);
  }
  expect(existsSync(join(root, ".pkg"))).toBe(false);
  // Held by a live process, a NaN deadline waited for as long as the holder lived.
  const held = ingested();
  const holder = Bun.spawn(["sleep", "30"]);
  writeFileSync(join(held, ".pkg", "lock"), `${holder.pid}\n`);
  try {
    const r = cli(["ingest", "--root", held], { env: { AUDITGRAPH_LOCK_WAIT_MS: "abc" }, timeoutMs: 20_000 });
    expect(r.code).toBe(2);
  } finally { holder.kill(); }
  // Empty is unset: the 30 s default.
  expect(cli(["ingest", "--root", root], { env: { AUDITGRAPH_LOCK_WAIT_MS: "" } }).code).toBe(0);
}, 60_000);

test("a lock naming a live process that started after the lock was written (its pid reused) is stale; one naming a live process older than the lock is respected", () => {
  const root = ingested();
  const lock = join(root, ".pkg", "lock");
  const sleeper = Bun.spawn(["sleep", "60"]);
  try {
    // Written an hour before the process with that pid started: not its lock.
    writeFileSync(lock, `${sleeper.pid}\n`);
    const hourAgo = (Date.now() - 3_600_000) / 1000;
    utimesSync(lock, hourAgo, hourAgo);
    const r = cli(["ingest", "--root", root], { env: { AUDITGRAPH_LOCK_WAIT_MS: "20000" } });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(lock)).toBe(false);
    // Written after it started: a live writer's lock, waited for.
    writeFileSync(lock, `${sleeper.pid}\n`);
    const held = cli(["ingest", "--root", root], { env: { AUDITGRAPH_LOCK_WAIT_MS: "500" } });
    expect(held.code).toBe(1);
    expect(expectOneLineError(held)).toContain(`locked by another auditgraph process (pid ${sleeper.pid}`);
  } finally { sleeper.kill(); }
}, 60_000);

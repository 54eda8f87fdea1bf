#!/usr/bin/env bun
/**
 * `bun run bench:upgrade [--reps N] [--notice-runs N]`: what `auditgraph upgrade` costs. Builds two
 * linux-x64 releases of throwaway copies of the checkout (the tree as 0.0.1; 0.0.2 with one line of
 * TypeScript changed, built with --previous so it carries a delta patch), signs their SHA256SUMS
 * with a throwaway minisign key and serves 0.0.2 from a loopback Bun.serve that counts the bytes it
 * sends. Then runs the installed 0.0.1's `upgrade` by delta and with --no-delta (N reps each, a
 * fresh HOME each time): bytes downloaded and median wall time. Last, the update notice's added
 * latency: `auditgraph version` on a pseudo-terminal (util-linux `script`) with a cached notice vs
 * AUDITGRAPH_NO_UPDATE_CHECK=1, median of N runs each, next to the 5 ms target. Exits non-zero
 * only on errors (a figure over its target is printed, not failed).
 */
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { readTarGzEntry } from "../release/archive.ts";
import { buildRelease } from "../release/build.ts";

const ROOT = join(import.meta.dir, "..", "..");
const TARGET = "linux-x64";
const OLD = "0.0.1";
const NEW = "0.0.2";
const ARCHIVE = `auditgraph-${TARGET}.tar.gz`;
const PATCH = `auditgraph-${TARGET}.from-${OLD}.patch`;
const NOTICE_TARGET_MS = 5;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { reps: { type: "string", default: "5" }, "notice-runs": { type: "string", default: "30" } },
});
const REPS = Number(values.reps);
const NOTICE_RUNS = Number(values["notice-runs"]);
if (!(REPS >= 1) || !(NOTICE_RUNS >= 1)) {
  console.error("usage: bun scripts/bench/upgrade.ts [--reps N] [--notice-runs N]");
  process.exit(2);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
const fail = (msg: string): never => {
  throw new Error(msg);
};
function sh(cmd: string[], cwd?: string, env?: Record<string, string | undefined>) {
  const r = Bun.spawnSync(cmd, { cwd, env: env ?? process.env, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) fail(`${cmd.join(" ")}: ${r.stderr.toString().trim() || `exit ${r.exitCode}`}`);
  return r.stdout.toString();
}
const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "bench", GIT_AUTHOR_EMAIL: "bench@example.invalid", GIT_AUTHOR_DATE: "1700000000 +0000",
  GIT_COMMITTER_NAME: "bench", GIT_COMMITTER_EMAIL: "bench@example.invalid", GIT_COMMITTER_DATE: "1700000000 +0000",
};
const git = (cwd: string, args: string[]) => sh(["git", "-c", "commit.gpgsign=false", ...args], cwd, GIT_ENV);

/** A copy of the checkout's files (tracked and untracked, not ignored) as a one-commit repository, at `version`, auditgraph only. */
function copyCheckout(dest: string, version: string, edit?: (root: string) => void): string {
  for (const f of sh(["git", "ls-files", "-co", "--exclude-standard", "-z"], ROOT).split("\0").filter(Boolean)) {
    const from = join(ROOT, f);
    if (!existsSync(from) || lstatSync(from).isDirectory()) continue;
    mkdirSync(dirname(join(dest, f)), { recursive: true });
    cpSync(from, join(dest, f));
  }
  const pkgFile = join(dest, "package.json");
  const pkg = readFileSync(pkgFile, "utf8");
  writeFileSync(pkgFile, pkg.replace(/"version": "[^"]*"/, `"version": "${version}"`));
  const targetFile = join(dest, "dist-targets", `${TARGET}.json`);
  writeFileSync(targetFile, JSON.stringify({ ...JSON.parse(readFileSync(targetFile, "utf8")), programs: ["auditgraph"] }, null, 2) + "\n");
  edit?.(dest);
  git(dest, ["init", "-q"]);
  writeFileSync(join(dest, ".git", "info", "exclude"), "/node_modules\n");
  git(dest, ["add", "-A"]);
  git(dest, ["commit", "-q", "-m", `release ${version}`]);
  symlinkSync(join(ROOT, "node_modules"), join(dest, "node_modules"));
  return dest;
}

/** Serves `files` as GitHub's release paths under /auditgraph (both the tag and `latest`), counting bytes sent. */
function serve(version: string, files: Map<string, Uint8Array>) {
  const stats = { bytes: 0, requests: [] as string[] };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const u = new URL(req.url);
      const m = /^\/auditgraph\/releases\/(?:latest\/download|download\/v([^/]+))\/([^/]+)$/.exec(u.pathname);
      const body = m && (m[1] === undefined || m[1] === version) ? files.get(m[2]!) : undefined;
      stats.requests.push(`${req.method} ${u.pathname} ${body ? body.length : 404}`);
      if (!body) return new Response("not found", { status: 404 });
      if (req.method !== "HEAD") stats.bytes += body.length;
      return new Response(body);
    },
  });
  return { base: `http://127.0.0.1:${server.port}/auditgraph`, stats, stop: () => server.stop(true) };
}

const tmp = mkdtempSync(join(tmpdir(), "auditgraph-bench-upgrade-"));
let stopServer = () => {};
let code = 0;
try {
  // A throwaway signing key (unencrypted), used by the build to sign SHA256SUMS.
  const keyDir = join(tmp, "key");
  mkdirSync(keyDir);
  sh(["minisign", "-G", "-W", "-f", "-p", join(keyDir, "k.pub"), "-s", join(keyDir, "k.sec")]);
  const pubLine = readFileSync(join(keyDir, "k.pub"), "utf8").trim().split("\n")[1]!.trim();
  const env = { ...process.env, AUDITGRAPH_MINISIGN_SECRET_KEY: readFileSync(join(keyDir, "k.sec"), "utf8"), AUDITGRAPH_MINISIGN_PASSWORD: undefined };
  const log = (l: string) => {
    if (!l.startsWith("warning: signing with key")) process.stderr.write(`  ${l}\n`);
  };

  const a = copyCheckout(join(tmp, "a"), OLD);
  const b = copyCheckout(join(tmp, "b"), NEW, (root) => {
    const file = join(root, "src", "cli", "commands", "budget.ts");
    const text = readFileSync(file, "utf8");
    if (!text.includes("writes nothing")) fail(`${file}: the line to change ("writes nothing") is gone; pick another`);
    writeFileSync(file, text.replace("writes nothing", "writes nothing at all"));
  });
  const outA = join(tmp, "out-a");
  const outB = join(tmp, "out-b");
  console.error(`building ${OLD} and ${NEW} (${TARGET}, auditgraph only)...`);
  let t0 = performance.now();
  await buildRelease({ root: a, targets: [TARGET], outDir: outA, check: false, env, log });
  const buildA = performance.now() - t0;
  t0 = performance.now();
  await buildRelease({ root: b, targets: [TARGET], outDir: outB, check: false, env, log, previous: outA });
  const buildB = performance.now() - t0;

  const files = new Map<string, Uint8Array>();
  for (const name of ["release.json", "SHA256SUMS", "SHA256SUMS.minisig", ARCHIVE, PATCH]) {
    const p = join(outB, name);
    if (!existsSync(p)) fail(`the ${NEW} build has no ${name}`);
    files.set(name, new Uint8Array(readFileSync(p)));
  }
  const oldExe = readTarGzEntry(new Uint8Array(readFileSync(join(outA, ARCHIVE))), "auditgraph") ?? fail(`${ARCHIVE} of ${OLD} has no auditgraph`);
  const newExe = readTarGzEntry(files.get(ARCHIVE)!, "auditgraph") ?? fail(`${ARCHIVE} of ${NEW} has no auditgraph`);
  const newSha = new Bun.CryptoHasher("sha256").update(newExe).digest("hex");

  const srv = serve(NEW, files);
  stopServer = srv.stop;

  /** A fresh HOME (XDG dirs inside it) with 0.0.1 installed in HOME/bin. */
  const freshHome = () => {
    const home = mkdtempSync(join(tmp, "home-"));
    const bin = join(home, "bin");
    mkdirSync(bin);
    const exe = join(bin, "auditgraph");
    writeFileSync(exe, oldExe);
    chmodSync(exe, 0o755);
    const e: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v === undefined || k.startsWith("AUDITGRAPH_") || k.startsWith("XDG_") || k === "NO_COLOR" || k === "container") continue;
      if (["CI", "CONTINUOUS_INTEGRATION", "BUILD_NUMBER", "RUN_ID", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "TF_BUILD", "JENKINS_URL", "TEAMCITY_VERSION", "CIRCLECI", "TRAVIS"].includes(k)) continue;
      e[k] = v;
    }
    Object.assign(e, {
      HOME: home,
      XDG_CACHE_HOME: join(home, ".cache"),
      XDG_CONFIG_HOME: join(home, ".config"),
      XDG_DATA_HOME: join(home, ".local", "share"),
      XDG_STATE_HOME: join(home, ".local", "state"),
      AUDITGRAPH_DOWNLOAD_URL: srv.base,
      AUDITGRAPH_MINISIGN_KEY: pubLine,
    });
    if (existsSync("/.dockerenv")) e.AUDITGRAPH_UPGRADE_IN_CONTAINER = "1";
    return { home, exe, env: e };
  };

  const upgradeRuns = async (noDelta: boolean) => {
    const bytes: number[] = [];
    const ms: number[] = [];
    for (let i = 0; i < REPS; i++) {
      const h = freshHome();
      const before = srv.stats.bytes;
      const args = [h.exe, "upgrade", "--minisign-key", pubLine, ...(noDelta ? ["--no-delta"] : [])];
      const started = performance.now();
      const p = Bun.spawn(args, { env: h.env, stdout: "pipe", stderr: "pipe" });
      const [out, err, exit] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      ms.push(performance.now() - started);
      if (exit !== 0) fail(`${noDelta ? "--no-delta " : ""}upgrade exited ${exit}:\n${out}${err}`);
      const got = new Bun.CryptoHasher("sha256").update(readFileSync(h.exe)).digest("hex");
      if (got !== newSha) fail(`after the upgrade ${h.exe} is not ${NEW}'s executable`);
      bytes.push(srv.stats.bytes - before);
      rmSync(h.home, { recursive: true, force: true });
    }
    return { bytes: median(bytes), ms: median(ms), all: ms };
  };

  // one warm-up (page cache, first connection) not counted
  {
    const h = freshHome();
    const p = Bun.spawn([h.exe, "upgrade", "--minisign-key", pubLine], { env: h.env, stdout: "pipe", stderr: "pipe" });
    const [out, err, exit] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    if (exit !== 0) fail(`upgrade exited ${exit}:\n${out}${err}`);
    rmSync(h.home, { recursive: true, force: true });
  }
  const delta = await upgradeRuns(false);
  const full = await upgradeRuns(true);

  // The notice: `version` on a pseudo-terminal, a cached notice (rewritten before each run so it
  // is shown every time) vs AUDITGRAPH_NO_UPDATE_CHECK=1, runs interleaved.
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const onTty = async (exe: string, e: Record<string, string>) => {
    const started = performance.now();
    const p = Bun.spawn(["script", "-qec", [exe, "version"].map(q).join(" "), "/dev/null"], { env: e, stdout: "pipe", stderr: "pipe" });
    const [out, exit] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    const ms = performance.now() - started;
    if (exit !== 0) fail(`version on a terminal exited ${exit}: ${out}`);
    return { ms, out: out.replace(/\r/g, "") };
  };
  const h = freshHome();
  const cacheDir = join(h.home, ".cache", "auditgraph");
  mkdirSync(cacheDir, { recursive: true });
  const writeCache = () =>
    writeFileSync(join(cacheDir, "update-check.json"), JSON.stringify({ checked_at: Date.now(), current: OLD, available: NEW, command: "auditgraph upgrade" }));
  const quietEnv = { ...h.env, AUDITGRAPH_NO_UPDATE_CHECK: "1" };
  const shown: number[] = [];
  const off: number[] = [];
  for (let i = 0; i < 3; i++) await onTty(h.exe, quietEnv); // warm-up
  for (let i = 0; i < NOTICE_RUNS; i++) {
    writeCache();
    const s = await onTty(h.exe, h.env);
    if (!s.out.includes(`auditgraph ${NEW} is available`)) fail(`the cached notice was not shown:\n${s.out}`);
    shown.push(s.ms);
    const o = await onTty(h.exe, quietEnv);
    if (o.out.includes("is available")) fail(`a notice was shown with AUDITGRAPH_NO_UPDATE_CHECK=1:\n${o.out}`);
    off.push(o.ms);
  }
  const added = median(shown) - median(off);
  const paired = median(shown.map((x, i) => x - off[i]!));

  const archiveSize = files.get(ARCHIVE)!.length;
  const patchSize = files.get(PATCH)!.length;
  console.log(`auditgraph upgrade ${OLD} -> ${NEW} (${TARGET}; one line of TypeScript changed), loopback server, median of ${REPS} runs each`);
  console.log(`  builds: ${OLD} ${(buildA / 1000).toFixed(1)} s, ${NEW} with --previous ${(buildB / 1000).toFixed(1)} s; executable ${mb(newExe.length)}, archive ${mb(archiveSize)}, patch ${(patchSize / 1e3).toFixed(1)} kB (${((100 * patchSize) / archiveSize).toFixed(2)}% of the archive)`);
  console.log(`  by delta:       ${(delta.bytes / 1e3).toFixed(1).padStart(9)} kB downloaded  ${delta.ms.toFixed(0).padStart(6)} ms  (runs: ${delta.all.map((x) => x.toFixed(0)).join(", ")} ms)`);
  console.log(`  by archive:     ${(full.bytes / 1e3).toFixed(1).padStart(9)} kB downloaded  ${full.ms.toFixed(0).padStart(6)} ms  (runs: ${full.all.map((x) => x.toFixed(0)).join(", ")} ms)`);
  console.log(`  delta / archive: ${((100 * delta.bytes) / full.bytes).toFixed(2)}% of the bytes, ${((100 * delta.ms) / full.ms).toFixed(0)}% of the time`);
  console.log(`update notice, \`auditgraph version\` on a pseudo-terminal (script -qec), median of ${NOTICE_RUNS} runs each`);
  console.log(`  cached notice shown: ${median(shown).toFixed(1)} ms (min ${Math.min(...shown).toFixed(1)}); AUDITGRAPH_NO_UPDATE_CHECK=1: ${median(off).toFixed(1)} ms (min ${Math.min(...off).toFixed(1)})`);
  console.log(`  added latency: ${added.toFixed(1)} ms, median of the paired differences ${paired.toFixed(1)} ms (target <= ${NOTICE_TARGET_MS} ms when cached: ${added <= NOTICE_TARGET_MS ? "met" : "NOT met"})`);
} catch (err) {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  code = 1;
} finally {
  stopServer();
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(code);

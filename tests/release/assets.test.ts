// The release assets of the shared build: checksums, manifest, archive layout, and the executables
// themselves.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { compileCommand } from "../../scripts/release/compile.ts";
import { verifySignature } from "../../scripts/release/macho/codesign.ts";
import { smokeCheck } from "../../scripts/release/smoke.ts";
import { readSource, type SourceInfo } from "../../scripts/release/source.ts";
import { loadTargets } from "../../scripts/release/targets.ts";
import { ReleaseManifestSchema, type ReleaseManifest } from "../../src/schema/release.ts";
import { ARTIFACT_SCHEMA_VERSION } from "../../src/schema/version.ts";
import { releaseBuild } from "../helpers/release-build.ts";
import { extract, REPO_ROOT, removeTempDirs, requireTool, run, SHARED_TARGETS as TARGETS, tempDir } from "./support.ts";

const NATIVE = ["linux-x64", "linux-x64-baseline"];
let out: string;
let source: SourceInfo;
let manifest: ReleaseManifest;
const exe: Record<string, string> = {};

beforeAll(async () => {
  out = await releaseBuild(TARGETS);
  manifest = JSON.parse(readFileSync(join(out, "release.json"), "utf8"));
  // what the build read (HEAD may have moved on since, in a busy checkout)
  source = { ...readSource(REPO_ROOT), version: manifest.version, commit: manifest.commit, epoch: manifest.source_date_epoch };
  const dir = tempDir();
  for (const t of TARGETS) exe[t] = join(extract(join(out, `auditgraph-${t}.tar.gz`), join(dir, t)), "auditgraph");
}, 600_000); // the shared release build, the first time for a source state
afterAll(removeTempDirs);

test("the out dir holds the archives, installer, formula, SHA256SUMS and release.json, and nothing else", () => {
  const expected = [
    ...TARGETS.map((t) => `auditgraph-${t}.tar.gz`),
    ...TARGETS.filter((t) => t.startsWith("linux-")).map((t) => `release-server-${t}.tar.gz`),
    "install.sh", "auditgraph.rb", "SHA256SUMS", "release.json", // unsigned: the shared build has no key
  ].sort();
  expect(readdirSync(out).sort()).toEqual(expected);
});

test("SHA256SUMS covers every asset and passes sha256sum -c and shasum -a 256 -c", () => {
  requireTool("shasum", "perl");
  const sums = readFileSync(join(out, "SHA256SUMS"), "utf8");
  const names = sums.trimEnd().split("\n").map((l) => l.split("  ")[1]);
  expect(names).toEqual(readdirSync(out).filter((n) => n !== "SHA256SUMS" && n !== "release.json").sort());
  expect(sums).toMatch(/^([0-9a-f]{64}  \S+\n)+$/);
  expect(run(["sha256sum", "-c", "--strict", "SHA256SUMS"], { cwd: out }).code).toBe(0);
  expect(run(["shasum", "-a", "256", "-c", "SHA256SUMS"], { cwd: out }).code).toBe(0);
});

test("release.json is valid and describes every file by size and sha256", () => {
  expect(v.safeParse(ReleaseManifestSchema, manifest).success).toBe(true);
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8"));
  expect(manifest.version).toMatch(new RegExp(`^${pkg.version.replaceAll(".", "\\.")}(\\+dirty)?$`));
  expect(manifest.commit).toMatch(/^[0-9a-f]{40}$/);
  expect(manifest.schema_version).toBe(ARTIFACT_SCHEMA_VERSION);
  expect(run(["git", "cat-file", "-t", manifest.commit], { cwd: REPO_ROOT }).stdout.trim()).toBe("commit");
  expect(manifest.assets.map((a) => a.name)).toEqual(readdirSync(out).filter((n) => n !== "release.json").sort());
  for (const a of manifest.assets) {
    const data = readFileSync(join(out, a.name));
    expect({ name: a.name, size: data.length, sha256: new Bun.CryptoHasher("sha256").update(data).digest("hex") }).toEqual({ name: a.name, size: a.size, sha256: a.sha256 });
  }
  const x64 = manifest.assets.find((a) => a.name === "auditgraph-linux-x64-baseline.tar.gz")!;
  expect(x64).toMatchObject({ program: "auditgraph", target: "linux-x64-baseline", os: "linux", arch: "x64", libc: "glibc" });
  expect(manifest.assets.find((a) => a.name === "SHA256SUMS")).toMatchObject({ target: null, os: null });
});

test("each archive holds auditgraph, LICENSE and README.md, owned by 0/0, dated at the commit", () => {
  const when = new Date(source.epoch * 1000).toISOString().replace("T", " ").slice(0, 19);
  const list = run(["tar", "--numeric-owner", "--full-time", "-tvzf", join(out, "auditgraph-linux-x64.tar.gz")], { env: { ...process.env, TZ: "UTC" } });
  const rows = list.stdout.trim().split("\n").map((l) => l.split(/\s+/));
  expect(rows.map((r) => [r[0], r[1], `${r[3]} ${r[4]}`, r[5]])).toEqual([
    ["-rw-r--r--", "0/0", when, "LICENSE"],
    ["-rw-r--r--", "0/0", when, "README.md"],
    ["-rwxr-xr-x", "0/0", when, "auditgraph"],
  ]);
});

test("linux-x64 and linux-x64-baseline run here: version --json, and the smoke checks of both programs pass", () => {
  const targets = Object.fromEntries(loadTargets(join(REPO_ROOT, "dist-targets")).map((t) => [t.name, t]));
  for (const t of NATIVE) {
    const r = run([exe[t], "version", "--json"], { cwd: tempDir() });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ version: source.version, schema_version: ARTIFACT_SCHEMA_VERSION, target: t, commit: source.commit });
    const lines = smokeCheck(exe[t], "auditgraph", targets[t], source, new Uint8Array(readFileSync(exe[t])));
    expect(lines[0]).toBe("ELF x64, interpreter /lib64/ld-linux-x86-64.so.2");
    expect(lines).toContain(`version --json: ${t} ${source.version}`);
    const server = join(extract(join(out, `release-server-${t}.tar.gz`), tempDir()), "release-server");
    expect(smokeCheck(server, "release-server", targets[t], source, new Uint8Array(readFileSync(server)))).toContain(`--version: ${source.version}`);
  }
}, 60_000);

test("the darwin executables in the archives carry valid code signatures", () => {
  for (const t of ["darwin-arm64", "darwin-x64"]) {
    const r = verifySignature(new Uint8Array(readFileSync(exe[t])));
    expect(r.problems).toEqual([]);
    expect(r.codeDirectories.length).toBeGreaterThan(0);
  }
});

test("the executable ignores a .env and a bunfig.toml in the directory it runs in", () => {
  const clean = run([exe["linux-x64"], "version", "--json"], { cwd: tempDir() });
  const dir = tempDir();
  const marker = join(dir, "preload-ran");
  writeFileSync(join(dir, ".env"), "NO_COLOR=\nAUDITGRAPH_DEBUG=1\n");
  writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./preload.ts"]\n');
  writeFileSync(join(dir, "preload.ts"), `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran"); console.log("PRELOAD");\n`);
  const r = run([exe["linux-x64"], "version", "--json"], { cwd: dir });
  expect(r).toEqual(clean);
  expect(existsSync(marker)).toBe(false);
});

test("the compile flags keep .env out of process.env (a build without them would read it)", () => {
  const dir = tempDir();
  writeFileSync(join(dir, "probe.ts"), 'console.log(process.env.AUDITGRAPH_PROBE ?? "unset");\n');
  const target = loadTargets(join(REPO_ROOT, "dist-targets")).find((t) => t.name === "linux-x64")!;
  const ours = compileCommand(["probe.ts"], target, source, join(dir, "ours", "probe"));
  const control = ours.filter((a) => !a.startsWith("--no-compile-autoload")).map((a) => a.replace("/ours/", "/control/"));
  for (const cmd of [ours, control]) expect(run(cmd, { cwd: dir }).code).toBe(0);
  const cwd = tempDir();
  writeFileSync(join(cwd, ".env"), "AUDITGRAPH_PROBE=from-dotenv\n");
  expect(run([join(dir, "control", "probe")], { cwd, env: {} }).stdout.trim()).toBe("from-dotenv");
  expect(run([join(dir, "ours", "probe")], { cwd, env: {} }).stdout.trim()).toBe("unset");
}, 60_000);

test("dist/ is ignored by git", () => {
  expect(run(["git", "check-ignore", "-q", "dist/auditgraph-linux-x64.tar.gz"], { cwd: REPO_ROOT }).code).toBe(0);
});

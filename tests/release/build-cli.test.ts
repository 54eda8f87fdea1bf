// `bun scripts/build.ts` end to end, in throwaway copies of the checkout: reproducibility across
// directories, signing, the dirty marker, and bad input leaving nothing behind.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { copyCheckout, makeKey, removeTempDirs, run, tempDir } from "./support.ts";

let a: string;
let b: string;
let outs: string;
const pkgVersion = JSON.parse(readFileSync(join(import.meta.dir, "../../package.json"), "utf8")).version as string;

beforeAll(() => {
  a = copyCheckout(tempDir("auditgraph-build-a-"));
  b = copyCheckout(tempDir("auditgraph-build-b-"), a);
  outs = tempDir();
}, 60_000);
afterAll(removeTempDirs);

const build = (root: string, args: string[], env: Record<string, string | undefined> = {}) => {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AUDITGRAPH_MINISIGN_")));
  return run([process.execPath, "scripts/build.ts", ...args], { cwd: root, env: { ...clean, ...env } });
};
const errorLines = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("error:"));

test("two builds of the same commit in different directories give identical SHA256SUMS and release.json", () => {
  const args = ["--target", "darwin-x64", "--target", "linux-x64"];
  const ra = build(a, [...args, "--out", join(outs, "a"), "--check"]);
  expect({ code: ra.code, errors: errorLines(ra.stderr) }).toEqual({ code: 0, errors: [] });
  const rb = build(b, [...args, "--out", join(outs, "b")]);
  expect({ code: rb.code, errors: errorLines(rb.stderr) }).toEqual({ code: 0, errors: [] });
  const sums = readFileSync(join(outs, "a", "SHA256SUMS"), "utf8");
  expect(sums).toContain("auditgraph-darwin-x64.tar.gz");
  expect(readFileSync(join(outs, "b", "SHA256SUMS"), "utf8")).toBe(sums);
  expect(readFileSync(join(outs, "b", "release.json"), "utf8")).toBe(readFileSync(join(outs, "a", "release.json"), "utf8"));
  expect(JSON.parse(readFileSync(join(outs, "a", "release.json"), "utf8")).version).toBe(pkgVersion); // clean tree
  // what the build said: darwin-x64 re-signed, smoke checks run, and loudly unsigned
  expect(ra.stderr).toContain("auditgraph-darwin-x64: code signature invalid");
  expect(ra.stderr).toMatch(/auditgraph-darwin-x64\.tar\.gz: built in .*signature valid/);
  expect(ra.stderr).toContain(`version --json: linux-x64 ${pkgVersion}`);
  expect(ra.stderr).toContain("UNSIGNED BUILD");
  expect(existsSync(join(outs, "a", "SHA256SUMS.minisig"))).toBe(false);
}, 240_000);

test("with a key in the environment SHA256SUMS.minisig verifies with minisign -V; a dirty tree marks the version", () => {
  const keys = tempDir();
  const { pub, secret } = makeKey(keys);
  writeFileSync(join(b, "uncommitted.txt"), "a change not yet committed\n");
  const out = join(outs, "signed");
  const r = build(b, ["--target", "darwin-arm64", "--out", out], { AUDITGRAPH_MINISIGN_SECRET_KEY: secret });
  expect(r.code).toBe(0);
  expect(r.stderr).toContain(`the working tree has uncommitted changes; building version ${pkgVersion}+dirty`);
  expect(r.stderr).toContain("but config/minisign.pub is key"); // a throwaway key is not the project's
  expect(r.stderr).not.toContain("UNSIGNED");
  const manifest = JSON.parse(readFileSync(join(out, "release.json"), "utf8"));
  expect(manifest.version).toBe(`${pkgVersion}+dirty`);
  expect(manifest.assets.map((x: { name: string }) => x.name)).toContain("SHA256SUMS.minisig");
  const v = run(["minisign", "-Vm", join(out, "SHA256SUMS"), "-p", pub]);
  expect(v.code).toBe(0);
  expect(v.stdout).toContain("file:SHA256SUMS");
}, 120_000);

test("an unknown target, a broken target file, or a bad flag: one line, exit 2, nothing written", () => {
  const out = join(outs, "never");
  let r = build(a, ["--target", "linux-riscv64", "--out", out]);
  expect(r.code).toBe(2);
  expect(errorLines(r.stderr)).toEqual(['error: unknown target "linux-riscv64"']);
  expect(r.stderr).toContain("hint: known targets: darwin-arm64, darwin-x64");
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace

  const good = JSON.parse(readFileSync(join(a, "dist-targets", "linux-x64.json"), "utf8"));
  delete good.libc;
  writeFileSync(join(a, "dist-targets", "linux-x64.json"), JSON.stringify(good));
  r = build(a, ["--out", out]);
  expect(r.code).toBe(2);
  expect(errorLines(r.stderr)).toEqual(['error: dist-targets/linux-x64.json: missing field "libc"']);
  run(["git", "checkout", "-q", "--", "dist-targets/linux-x64.json"], { cwd: a });

  r = build(a, ["--bogus"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("usage: bun scripts/build.ts");
  expect(existsSync(out)).toBe(false);
  expect(readdirSync(dirname(out)).filter((n) => n.includes(".tmp-"))).toEqual([]);
});

test("a bad signing key or a tree that is not a git checkout: one line, exit 2, nothing written", () => {
  const out = join(outs, "never-signed");
  let r = build(a, ["--target", "linux-x64", "--out", out], { AUDITGRAPH_MINISIGN_SECRET_KEY: "not a key" });
  expect(r.code).toBe(2);
  expect(errorLines(r.stderr)).toEqual(["error: AUDITGRAPH_MINISIGN_SECRET_KEY: not a minisign key (no base64 key line)"]);

  r = build(a, ["--target", "linux-x64", "--out", out], { GIT_DIR: join(outs, "no-repository") });
  expect(r.code).toBe(2);
  expect(errorLines(r.stderr)).toHaveLength(1);
  expect(errorLines(r.stderr)[0]).toStartWith(`error: git rev-parse failed in ${a}: `);
  expect(r.stderr).toContain("hint: the build takes the commit and its time from git: run it inside a clone");
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(existsSync(out)).toBe(false);
  expect(readdirSync(outs).filter((n) => n.includes(".tmp-"))).toEqual([]);
});

test("a cross-compile runtime that cannot be had: one line, exit 1, the previous out dir untouched", () => {
  const out = join(outs, "previous");
  mkdirSync(out);
  writeFileSync(join(out, "SHA256SUMS"), "previous release\n");
  const r = build(a, ["--target", "darwin-x64", "--out", out], {
    BUN_INSTALL_CACHE_DIR: tempDir(), // an empty cache, and a download that fails at once (loopback)
    BUN_COMPILE_TARGET_TARBALL_URL: "http://127.0.0.1:9/bun-darwin-x64.tgz",
  });
  expect(r.code).toBe(1);
  expect(errorLines(r.stderr)).toHaveLength(1);
  expect(errorLines(r.stderr)[0]).toStartWith("error: darwin-x64: cross-compile runtime for bun-darwin-x64 is not available: ");
  expect(readdirSync(out)).toEqual(["SHA256SUMS"]);
  expect(readFileSync(join(out, "SHA256SUMS"), "utf8")).toBe("previous release\n");
  expect(readdirSync(outs).filter((n) => n.includes(".tmp-"))).toEqual([]);
}, 60_000);

test("an interrupted build leaves neither a staging directory nor a partial out dir", async () => {
  const out = join(outs, "interrupted");
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AUDITGRAPH_MINISIGN_")));
  const scratch = tempDir(); // the build's TMPDIR
  const proc = Bun.spawn([process.execPath, "scripts/build.ts", "--target", "linux-x64", "--out", out], { cwd: a, env: { ...clean, TMPDIR: scratch }, stdout: "ignore", stderr: "ignore" });
  const staging = () => readdirSync(outs).filter((n) => n.startsWith(".interrupted.tmp-"));
  for (let i = 0; i < 600 && staging().length === 0; i++) await Bun.sleep(50);
  expect(staging()).toHaveLength(1);
  proc.kill("SIGTERM");
  expect(await proc.exited).toBe(143);
  expect(staging()).toEqual([]);
  expect(existsSync(out)).toBe(false);
  await Bun.sleep(3000); // a compile left running would have recreated its scratch directory by now
  expect(readdirSync(scratch)).toEqual([]);
}, 60_000);

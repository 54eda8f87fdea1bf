// Smoke checks of the outputs this host cannot run natively: linux-arm64 under qemu-user, the musl
// builds by their loader. (linux-x64 and linux-x64-baseline are run in assets.test.ts, darwin in macho.test.ts.)
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compile } from "../../scripts/release/compile.ts";
import { readElf } from "../../scripts/release/elf.ts";
import { smokeCheck } from "../../scripts/release/smoke.ts";
import { readSource, type SourceInfo } from "../../scripts/release/source.ts";
import { loadTargets } from "../../scripts/release/targets.ts";
import type { Target } from "../../src/schema/release.ts";
import { REPO_ROOT, removeTempDirs, requireTool, tempDir } from "./support.ts";

const exe: Record<string, string> = {};
let targets: Record<string, Target>;
let source: SourceInfo;
const NAMES = ["linux-arm64", "linux-x64-musl", "linux-arm64-musl"];

beforeAll(async () => {
  source = readSource(REPO_ROOT);
  targets = Object.fromEntries(loadTargets(join(REPO_ROOT, "dist-targets")).map((t) => [t.name, t]));
  const dir = tempDir();
  for (const name of NAMES) {
    exe[name] = join(dir, name, "auditgraph");
    await compile(REPO_ROOT, "auditgraph", targets[name], source, exe[name]);
  }
}, 120_000);
afterAll(removeTempDirs);

const check = (name: string, as = name) => smokeCheck(exe[name], "auditgraph", targets[as], source, new Uint8Array(readFileSync(exe[name])));

test("linux-arm64 runs under qemu-user: version --json names the target and version, and it ingests a workspace", () => {
  requireTool("qemu-aarch64-static", "qemu-user-static");
  const lines = check("linux-arm64");
  expect(lines).toContain("run under qemu-aarch64-static");
  expect(lines).toContain(`version --json: linux-arm64 ${source.version}`);
  expect(lines).toContain("ingest: ok");
}, 60_000);

test("musl builds ask for the musl loader of their architecture", () => {
  expect(readElf(readFileSync(exe["linux-x64-musl"])).interpreter).toBe("/lib/ld-musl-x86_64.so.1");
  expect(readElf(readFileSync(exe["linux-arm64-musl"])).interpreter).toBe("/lib/ld-musl-aarch64.so.1");
  expect(check("linux-x64-musl")).toContain("not run (cannot execute here)");
  expect(check("linux-arm64-musl")[0]).toBe("ELF arm64, interpreter /lib/ld-musl-aarch64.so.1");
});

test("a binary of the wrong architecture or libc fails its smoke check with one line", () => {
  expect(() => check("linux-arm64", "linux-x64")).toThrow("smoke check auditgraph-linux-x64: ELF machine arm64, expected x64");
  expect(() => check("linux-arm64", "linux-arm64-musl")).toThrow("interpreter /lib/ld-linux-aarch64.so.1, expected a musl loader");
  expect(() => check("linux-x64-musl", "darwin-x64")).toThrow("not a 64-bit Mach-O file");
});

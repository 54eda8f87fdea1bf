// Smoke checks of the outputs this host cannot run natively: linux-arm64 under qemu-user, the musl
// builds by their loader. (linux-x64 and linux-x64-baseline are run in assets.test.ts, darwin in macho.test.ts.)
// linux-arm64 is the shared release build's executable (tests/helpers/release-build.ts, the same
// compile, archived as it was); the musl targets are not released, and are compiled here.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compile } from "../../scripts/release/compile.ts";
import { readElf } from "../../scripts/release/elf.ts";
import { smokeCheck } from "../../scripts/release/smoke.ts";
import { readSource, type SourceInfo } from "../../scripts/release/source.ts";
import { loadTargets } from "../../scripts/release/targets.ts";
import type { Target } from "../../src/schema/release.ts";
import { releaseBuild } from "../helpers/release-build.ts";
import { extract, REPO_ROOT, removeTempDirs, requireTool, SHARED_TARGETS as RELEASE_TARGETS, tempDir } from "./support.ts";

const exe: Record<string, string> = {};
/** The version and commit each executable was compiled with. */
const built: Record<string, SourceInfo> = {};
let targets: Record<string, Target>;

beforeAll(async () => {
  targets = Object.fromEntries(loadTargets(join(REPO_ROOT, "dist-targets")).map((t) => [t.name, t]));
  const dir = tempDir();
  for (const name of ["linux-x64-musl", "linux-arm64-musl"]) {
    exe[name] = join(dir, name, "auditgraph");
    built[name] = readSource(REPO_ROOT);
    await compile(REPO_ROOT, "auditgraph", targets[name], built[name], exe[name]);
  }
  const out = await releaseBuild(RELEASE_TARGETS);
  const manifest = JSON.parse(readFileSync(join(out, "release.json"), "utf8"));
  // what the build read (HEAD may have moved on since, in a busy checkout)
  built["linux-arm64"] = { ...readSource(REPO_ROOT), version: manifest.version, commit: manifest.commit, epoch: manifest.source_date_epoch };
  exe["linux-arm64"] = join(extract(join(out, "auditgraph-linux-arm64.tar.gz"), join(dir, "linux-arm64")), "auditgraph");
}, 600_000); // the shared release build, the first time for a source state
afterAll(removeTempDirs);

const check = (name: string, as = name) => smokeCheck(exe[name], "auditgraph", targets[as], built[name], new Uint8Array(readFileSync(exe[name])));

test("linux-arm64 runs under qemu-user: version --json names the target and version, and it ingests a workspace", () => {
  requireTool("qemu-aarch64-static", "qemu-user-static");
  const lines = check("linux-arm64");
  expect(lines).toContain("run under qemu-aarch64-static");
  expect(lines).toContain(`version --json: linux-arm64 ${built["linux-arm64"].version}`);
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

// The Homebrew formula the build renders (auditgraph.rb), checked with Ruby: syntax, then a stub of
// the Formula DSL evaluating it per os/arch against release.json, and on Linux x86_64 its `install`
// and `test do` block run against the real archive.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderFormula } from "../../scripts/release/homebrew.ts";
import { PROJECT, type ReleaseManifest } from "../../src/schema/release.ts";
import { sha256Hex } from "../../src/shared/hash.ts";
import { RELEASE_TARGETS, tempDir } from "./fixture.ts";
import { releaseBuild } from "../helpers/release-build.ts";
import { requireTool } from "../release/support.ts";

const STUB = join(import.meta.dir, "formula_stub.rb");
let out: string;
let manifest: ReleaseManifest;
let work: string;

function ruby(args: string[], env: Record<string, string> = {}) {
  const r = Bun.spawnSync([requireTool("ruby", "ruby"), ...args], { env: { PATH: process.env.PATH ?? "", ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function evaluate(formula: string, os: string, arch: string, keg?: string) {
  const r = ruby([STUB, formula], { STUB_OS: os, STUB_ARCH: arch, ...(keg ? { STUB_KEG: keg } : {}) });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

beforeAll(async () => {
  out = await releaseBuild(RELEASE_TARGETS);
  manifest = JSON.parse(readFileSync(join(out, "release.json"), "utf8"));
  work = tempDir("formula");
}, 600_000); // the first release build of a source state takes a minute or two


afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const PLATFORMS = [
  ["mac", "arm", "darwin-arm64"],
  ["mac", "intel", "darwin-x64"],
  ["linux", "arm", "linux-arm64"],
  ["linux", "intel", "linux-x64-baseline"],
] as const;

describe("the rendered formula", () => {
  test("is what the build wrote, and valid Ruby", () => {
    const formula = join(out, "auditgraph.rb");
    expect(readFileSync(formula, "utf8")).toBe(renderFormula(manifest));
    const r = ruby(["-wc", formula]);
    expect(r.stdout).toBe("Syntax OK\n");
    expect(r.stderr).toBe("");
  });

  test.each(PLATFORMS.map((p) => [`${p[0]} ${p[1]}`, ...p] as const))("on %s: one url and sha256, matching release.json and the file", (_n, os, arch, target) => {
    const f = evaluate(join(out, "auditgraph.rb"), os, arch);
    const asset = manifest.assets.find((a) => a.name === `auditgraph-${target}.tar.gz`)!;
    expect(f.class).toBe("Auditgraph");
    expect(f.url).toEqual([`${PROJECT.downloadBase}/releases/download/v${manifest.version}/${asset.name}`]);
    expect(f.sha256).toEqual([asset.sha256]);
    expect(sha256Hex(readFileSync(join(out, asset.name)))).toBe(asset.sha256);
    expect(f.version).toEqual([manifest.version]);
    expect(f.homepage).toEqual([PROJECT.homepage]);
    expect(f.license).toEqual(["MIT"]);
    expect(f.livecheck).toEqual([{ url: "stable", strategy: "github_latest" }]);
  });

  test("desc follows Homebrew's audit rules", () => {
    const [desc] = evaluate(join(out, "auditgraph.rb"), "linux", "intel").desc as string[];
    expect(desc!.length).toBeLessThan(80);
    expect(desc).not.toMatch(/^(a|an|the|auditgraph)\b/i);
    expect(desc).not.toMatch(/\.$|macos|linux/i);
  });

  test("on Linux x86_64, install and the test block pass with the real archive", () => {
    const keg = join(work, "keg");
    mkdirSync(keg);
    const tar = Bun.spawnSync(["tar", "-xzf", join(out, "auditgraph-linux-x64-baseline.tar.gz"), "-C", keg], { stderr: "pipe" });
    expect(tar.exitCode).toBe(0);
    const f = evaluate(join(out, "auditgraph.rb"), "linux", "intel", keg);
    expect(f.installed).toEqual(["auditgraph"]);
    expect(Object.keys(f.completions)).toEqual(["bash", "zsh", "fish"]);
    expect(f.completions.bash).toEndWith("/etc/bash_completion.d/auditgraph");
    expect(f.completions.zsh).toEndWith("/share/zsh/site-functions/_auditgraph");
    expect(f.completions.fish).toEndWith("/share/fish/vendor_completions.d/auditgraph.fish");
    expect(readFileSync(f.completions.zsh, "utf8")).toStartWith("#compdef auditgraph\n");
    for (const shell of ["bash", "zsh"]) expect(Bun.spawnSync([shell, "-n", f.completions[shell]]).exitCode).toBe(0);
    expect(readFileSync(f.completions.bash, "utf8")).toContain("complete -o default -F _auditgraph auditgraph");
    expect(readFileSync(f.completions.fish, "utf8")).toContain("complete -c auditgraph");
    expect(f.test).toBe("passed");
  });

  test("a failing binary fails the test block", () => {
    const keg = join(work, "broken-keg");
    mkdirSync(keg);
    writeFileSync(join(keg, "auditgraph"), "#!/bin/sh\necho '{\"status\": \"error\"}'\n", { mode: 0o755 });
    const f = evaluate(join(out, "auditgraph.rb"), "linux", "intel", keg);
    expect(f.test).toMatch(/^failed: /);
  });

  test("a mirror base URL moves the urls and the livecheck", () => {
    const file = join(work, "mirror.rb");
    writeFileSync(file, renderFormula(manifest, { baseUrl: "https://releases.example.org/auditgraph/" }));
    expect(ruby(["-wc", file]).stdout).toBe("Syntax OK\n");
    const f = evaluate(file, "mac", "arm");
    expect(f.url).toEqual([`https://releases.example.org/auditgraph/releases/download/v${manifest.version}/auditgraph-darwin-arm64.tar.gz`]);
    expect(f.livecheck).toEqual([{
      url: "https://releases.example.org/auditgraph/releases/latest",
      regex: "/releases/tag/v?(\\d+(?:\\.\\d+)+)",
      strategy: "header_match",
    }]);
  });

  test("bun run build --base-url: a URL without a query, refused before anything is built", () => {
    const r = Bun.spawnSync([process.execPath, join(import.meta.dir, "../../scripts/build.ts"), "--base-url", "https://x.example/a?b", "--out", join(work, "never")], { stdout: "pipe", stderr: "pipe" });
    expect(r.stderr.toString()).toContain("error: --base-url must be an http(s) URL without a query");
    expect(r.exitCode).toBe(2);
    expect(existsSync(join(work, "never"))).toBe(false);
  });

  test("a self-hosted release server's base (<server>/<owner>/<app>) is where every url points", () => {
    const file = join(work, "self-hosted.rb");
    writeFileSync(file, renderFormula(manifest, { baseUrl: "http://127.0.0.1:8080/acme/auditgraph" }));
    for (const [os, arch, target] of PLATFORMS) {
      expect(evaluate(file, os, arch).url).toEqual([`http://127.0.0.1:8080/acme/auditgraph/releases/download/v${manifest.version}/auditgraph-${target}.tar.gz`]);
    }
  });

  test("a partial build gets only the platforms it has", () => {
    const file = join(work, "partial.rb");
    const linuxOnly = { ...manifest, assets: manifest.assets.filter((a) => a.target === "linux-x64") };
    writeFileSync(file, renderFormula(linuxOnly));
    expect(evaluate(file, "linux", "intel").url).toEqual([`${PROJECT.downloadBase}/releases/download/v${manifest.version}/auditgraph-linux-x64.tar.gz`]);
    expect(evaluate(file, "mac", "arm").url).toBeUndefined();
  });
});

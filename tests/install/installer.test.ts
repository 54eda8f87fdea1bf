// End-to-end tests of scripts/install.sh: real releases served over loopback, the installer run
// under dash, bash, mksh, zsh and busybox sh, the installed binary run afterwards.
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT } from "../../src/schema/release.ts";
import { FORGED, INTERRUPTED, MISLABELED, OLD, REPO, TAMPERED, UNSIGNED } from "./fixture.ts";
import { SCRIPT, SHELLS, expectPosixSh, runInstaller, type Fake } from "./shells.ts";
import { AS_USER, HEAVY, I, IS_ROOT, installedVersion, leftovers, sandbox, useReleases } from "./installer-env.ts";

useReleases();

describe("the script itself", () => {
  test("passes shellcheck -s sh and checkbashisms", () => expectPosixSh(SCRIPT), 30_000);

  test("embeds the release public key from config/minisign.pub", () => {
    const key = readFileSync(join(REPO, "config/minisign.pub"), "utf8").split("\n")[1]!.trim();
    expect(readFileSync(SCRIPT, "utf8")).toContain(`\nAG_PUBKEY='${key}'\n`);
  });

  test("downloads from the project's release base by default (the one the formula uses)", () => {
    expect(readFileSync(SCRIPT, "utf8")).toContain(`\nAG_DEFAULT_BASE='${PROJECT.downloadBase}'\n`);
  });

  test("runs nothing but function definitions before the last line calls main", () => {
    const lines = readFileSync(SCRIPT, "utf8").replace(/<<'EOF'\n[^]*?\nEOF\n/g, "\n").trimEnd().split("\n");
    expect(lines.at(-1)).toBe('main "$@"');
    const topLevel = lines.filter((l) => /^[a-z_]/i.test(l) && !/^[a-z0-9_]+\(\) \{$/.test(l) && !/^[A-Z_]+=/.test(l) && !/^ag_[a-z]+=/.test(l));
    expect(topLevel).toEqual(["set -u", 'main "$@"']);
  });
});

// Platform detection through the print-only hook, with fake uname/ldd/sysctl.
const CPU_AVX2 = "processor\t: 0\nflags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 bmi2\n";
const CPU_OLD = "processor\t: 0\nflags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx\n";
const DETECT: { name: string; fake: Fake; cpu?: string; want: string | RegExp }[] = [
  { name: "Linux x86_64 with AVX2", fake: { os: "Linux", machine: "x86_64" }, cpu: CPU_AVX2, want: "linux-x64" },
  { name: "Linux x86_64 without AVX2", fake: { os: "Linux", machine: "x86_64" }, cpu: CPU_OLD, want: "linux-x64-baseline" },
  { name: "Linux aarch64", fake: { os: "Linux", machine: "aarch64" }, want: "linux-arm64" },
  { name: "musl Linux x86_64", fake: { os: "Linux", machine: "x86_64", libc: "musl" }, cpu: CPU_OLD, want: "linux-x64-musl" },
  { name: "musl Linux aarch64", fake: { os: "Linux", machine: "aarch64", libc: "musl" }, want: "linux-arm64-musl" },
  { name: "macOS Apple Silicon", fake: { os: "Darwin", machine: "arm64" }, want: "darwin-arm64" },
  { name: "macOS Apple Silicon under Rosetta 2", fake: { os: "Darwin", machine: "x86_64", translated: "1", armCpu: "1" }, want: "darwin-arm64" },
  { name: "macOS Intel", fake: { os: "Darwin", machine: "x86_64", translated: "0" }, want: "darwin-x64" },
  { name: "Windows (Git Bash)", fake: { os: "MINGW64_NT-10.0-22631", machine: "x86_64" }, want: /^auditgraph-install: error: Windows is not supported/ },
  { name: "FreeBSD", fake: { os: "FreeBSD", machine: "amd64" }, want: /^auditgraph-install: error: FreeBSD is not supported/ },
  { name: "Linux riscv64", fake: { os: "Linux", machine: "riscv64" }, want: /^auditgraph-install: error: the riscv64 processor architecture is not supported/ },
];

describe.each(Object.keys(SHELLS))("detection under %s", (shell) => {
  test.each(DETECT.map((d) => [d.name, d] as const))("%s", async (_name, d) => {
    const s = sandbox({ fake: d.fake });
    if (d.cpu) writeFileSync(join(s.dir, "cpuinfo"), d.cpu);
    const r = await runInstaller(shell, [], { ...s.env, AUDITGRAPH_INSTALL_PRINT: "target", AUDITGRAPH_INSTALL_CPUINFO: join(s.dir, "cpuinfo") });
    if (typeof d.want === "string") {
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(d.want + "\n");
      expect(r.code).toBe(0);
    } else {
      expect(r.stderr).toMatch(d.want);
      expect(r.stderr.trim().split("\n").length).toBeLessThanOrEqual(2);
      expect(r.code).toBe(2);
    }
  });
});

describe.each(Object.keys(SHELLS))("install lifecycle under %s", (shell) => {
  const s = () => state;
  let state: ReturnType<typeof sandbox> & { bin: string; dest: string };
  beforeAll(() => {
    const sb = sandbox();
    state = { ...sb, dest: join(sb.home, ".local/bin") };
    state.env.AUDITGRAPH_INSTALL_DIR = state.dest;
    writeFileSync(join(sb.home, ".bashrc"), "alias ll='ls -l'\n");
  });

  test("pinned version, fresh install", async () => {
    const r = await runInstaller(shell, ["--version", OLD], s().env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`verified the minisign signature of SHA256SUMS`);
    expect(r.stdout).toContain(`installed auditgraph ${OLD} (linux-x64) to ${s().dest}/auditgraph`);
    expect(r.stdout).toContain(`${s().dest} is not on your PATH; add it with: export PATH="${s().dest}:$PATH"`);
    expect(installedVersion(s().dest)).toBe(OLD);
    expect(leftovers(s().dest)).toEqual([]);
  }, HEAVY);

  test("latest upgrades in place and --modify-path adds one block to .bashrc", async () => {
    const r = await runInstaller(shell, ["--modify-path"], { ...s().env, SHELL: "/bin/bash" });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`upgraded auditgraph ${OLD} -> ${I.CURRENT} (linux-x64) in ${s().dest}/auditgraph`);
    expect(installedVersion(s().dest)).toBe(I.CURRENT);
    expect(readFileSync(join(s().home, ".bashrc"), "utf8")).toBe(
      `alias ll='ls -l'\n# >>> auditgraph installer >>>\nexport PATH="${s().dest}:$PATH"\n# <<< auditgraph installer <<<\n`,
    );
  }, HEAVY);

  const keepsInstall = (r: { code: number }) => {
    expect(r.code).toBe(1);
    expect(installedVersion(s().dest)).toBe(I.CURRENT);
    expect(leftovers(s().dest)).toEqual([]);
  };

  test("a tampered archive aborts and leaves the install as it was", async () => {
    const r = await runInstaller(shell, ["--version", TAMPERED], s().env);
    expect(r.stderr).toMatch(/^auditgraph-install: error: checksum mismatch for auditgraph-linux-x64\.tar\.gz: expected [0-9a-f]{64}, got [0-9a-f]{64}/);
    keepsInstall(r);
  }, HEAVY);

  test("an interrupted download aborts and leaves the install as it was", async () => {
    const r = await runInstaller(shell, ["--version", INTERRUPTED], s().env);
    expect(r.stderr).toContain(`error: download of ${I.server.url.origin}/releases/download/v${INTERRUPTED}/auditgraph-linux-x64.tar.gz failed; nothing was installed`);
    keepsInstall(r);
  });

  test("SHA256SUMS signed by another key aborts, with the embedded key as with a mirror's", async () => {
    const { AUDITGRAPH_MINISIGN_KEY: _, ...embedded } = s().env;
    for (const [env, version] of [[embedded, "latest"], [s().env, FORGED]] as const) {
      const r = await runInstaller(shell, ["--version", version], env);
      expect(r.stderr).toContain("error: the minisign signature of SHA256SUMS does not verify");
      keepsInstall(r);
    }
  });

  test("a release without SHA256SUMS.minisig aborts when minisign is installed", async () => {
    const r = await runInstaller(shell, ["--version", UNSIGNED], s().env);
    expect(r.stderr).toContain(`error: minisign is installed but ${I.server.url.origin}/releases/download/v${UNSIGNED}/SHA256SUMS.minisig could not be downloaded; nothing was installed`);
    keepsInstall(r);
  });

  test("a pinned version whose archive holds another version aborts", async () => {
    const r = await runInstaller(shell, ["--version", MISLABELED], s().env);
    expect(r.stderr).toContain(`error: release v${MISLABELED} contains auditgraph ${I.CURRENT}; nothing was installed`);
    keepsInstall(r);
  }, HEAVY);

  test("a staging directory a killed installer left an hour ago is swept by the next install; a recent one is left", async () => {
    const old = join(s().dest, ".auditgraph-install.Old123");
    const recent = join(s().dest, ".auditgraph-install.New456");
    for (const d of [old, recent]) { mkdirSync(d); writeFileSync(join(d, "partial.tar.gz"), "x"); }
    const hourAgo = (Date.now() - 2 * 3600_000) / 1000;
    utimesSync(old, hourAgo, hourAgo);
    const r = await runInstaller(shell, [], s().env);
    expect(r.code).toBe(0);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(recent)).toBe(true);
    rmSync(recent, { recursive: true });
  }, HEAVY);

  test("--uninstall removes the binary, the copy kept for --rollback and the PATH block only", async () => {
    writeFileSync(join(s().dest, ".auditgraph.previous"), "the version an upgrade replaced");
    const r = await runInstaller(shell, ["--uninstall"], s().env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`removed ${s().dest}/auditgraph`);
    expect(r.stdout).toContain(`removed ${s().dest}/.auditgraph.previous`);
    expect(existsSync(join(s().dest, ".auditgraph.previous"))).toBe(false);
    expect(existsSync(join(s().dest, "auditgraph"))).toBe(false);
    expect(readFileSync(join(s().home, ".bashrc"), "utf8")).toBe("alias ll='ls -l'\n");
  });
});

describe.each(Object.keys(SHELLS))("refusals under %s", (shell) => {
  test("no sha256sum, shasum or openssl: aborts before downloading", async () => {
    const s = sandbox({ omit: ["sha256sum", "shasum", "openssl"] });
    const r = await runInstaller(shell, [], s.env);
    expect(r.stderr).toContain("error: no SHA-256 tool found (sha256sum, shasum or openssl); nothing was installed");
    expect(r.code).toBe(1);
    expect(existsSync(join(s.home, ".local"))).toBe(false);
  });

  test("an unsupported OS is refused before anything is written", async () => {
    const s = sandbox({ fake: { os: "FreeBSD", machine: "amd64" } });
    const r = await runInstaller(shell, [], s.env);
    expect(r.stderr).toBe("auditgraph-install: error: FreeBSD is not supported; auditgraph runs on Linux and macOS (x86_64 and arm64)\n");
    expect(r.code).toBe(2);
    expect(readdirSync(s.home)).toEqual([]);
  });

  test("a read-only install directory keeps its previous binary", async () => {
    const s = sandbox();
    const dest = join(s.dir, "ro");
    mkdirSync(dest);
    writeFileSync(join(dest, "auditgraph"), "#!/bin/sh\necho auditgraph 0.0.1\n");
    chmodSync(join(dest, "auditgraph"), 0o755);
    chmodSync(dest, 0o555);
    const r = await runInstaller(shell, ["--install-dir", dest], s.env, AS_USER);
    expect(r.stderr).toBe(
      `auditgraph-install: error: cannot write to the install directory ${dest}; nothing was changed\n` +
        "auditgraph-install: hint: choose another with --install-dir, or run with permission to write there\n",
    );
    expect(r.code).toBe(1);
    expect(readFileSync(join(dest, "auditgraph"), "utf8")).toBe("#!/bin/sh\necho auditgraph 0.0.1\n");
    expect(readdirSync(dest)).toEqual(["auditgraph"]);
  });

  test("installs into ~/.local/bin, or /usr/local/bin for root", async () => {
    const s = sandbox();
    const env: Record<string, string> = { ...s.env, AUDITGRAPH_INSTALL_PRINT: "install-dir" };
    const user = await runInstaller(shell, [], env, AS_USER);
    expect(user.stdout).toBe(`${s.home}/.local/bin\n`);
    if (IS_ROOT) expect((await runInstaller(shell, [], env)).stdout).toBe("/usr/local/bin\n");
    if (shell === "zsh") return; // zsh sets HOME from the password database when it is unset
    const { HOME: _, ...homeless } = env;
    const none = await runInstaller(shell, [], homeless, AS_USER);
    expect(none.stderr).toContain("error: HOME is not set, so there is no default install directory");
    expect(none.code).toBe(2);
  });

  test.skipIf(existsSync("/proc/sys/fs/binfmt_misc/qemu-aarch64"))("a build that cannot run here is caught before it is installed", async () => {
    const s = sandbox({ fake: { os: "Linux", machine: "aarch64" } });
    const dest = join(s.dir, "dest");
    const r = await runInstaller(shell, ["--install-dir", dest], s.env);
    expect(r.stderr).toContain("error: the downloaded linux-arm64 binary does not run on this machine (exit ");
    expect(r.stderr).toContain("hint: the linux-arm64 build cannot execute here (built for another architecture");
    expect(r.code).toBe(1);
    expect(readdirSync(dest)).toEqual([]);
  }, HEAVY);

  test("bad options are usage errors", async () => {
    const s = sandbox();
    const r = await runInstaller(shell, ["--versoin", "1"], s.env);
    expect(r.stderr).toBe("auditgraph-install: error: unknown option '--versoin' (see --help)\n");
    expect(r.code).toBe(2);
  });
});

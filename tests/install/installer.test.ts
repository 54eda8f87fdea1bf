// End-to-end tests of scripts/install.sh: real releases served over loopback, the installer run
// under dash, bash, mksh, zsh and busybox sh, the installed binary run afterwards.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT } from "../../src/schema/release.ts";
import { ASSET, BETA, FORGED, INTERRUPTED, MISLABELED, OLD, REPO, SWAPPED, TAMPERED, UNSIGNED, makeReleases, tempDir, serveReleases, type Releases } from "./fixture.ts";
import { SCRIPT, SHELLS, expectPosixSh, makeBin, runInstaller, type Fake } from "./shells.ts";

let rel: Releases;
let server: ReturnType<typeof serveReleases>;
let work: string;
let CURRENT: string;

beforeAll(async () => {
  rel = await makeReleases();
  CURRENT = rel.manifest.version;
  server = serveReleases(rel);
  work = tempDir("work");
}, 600_000); // the first release build of a source state takes a minute or two


afterAll(() => {
  server?.stop();
  if (rel) rmSync(rel.root, { recursive: true, force: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

let n = 0;
/** A fresh HOME and PATH for one run. */
function sandbox(opts: { omit?: string[]; fake?: Fake; scripts?: Record<string, string> } = {}) {
  const dir = join(work, String(++n));
  const home = join(dir, "home");
  mkdirSync(home, { recursive: true });
  const bin = makeBin(join(dir, "bin"), opts);
  const env: Record<string, string> = {
    PATH: bin, HOME: home, SHELL: "/bin/sh",
    AUDITGRAPH_DOWNLOAD_URL: server.url.origin,
    AUDITGRAPH_MINISIGN_KEY: rel.key.publicKey,
  };
  return { dir, home, bin, env };
}

function installedVersion(dir: string): string {
  const r = Bun.spawnSync([join(dir, "auditgraph"), "version"], { stdout: "pipe" });
  return r.stdout.toString().trim().split(" ")[1] ?? "";
}

/** Tests that download and unpack a whole release. */
const HEAVY = 60_000;
const IS_ROOT = process.getuid?.() === 0;
/** Root writes anywhere and installs into /usr/local/bin: root's tests run these cases as nobody. */
const AS_USER = IS_ROOT ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];

const leftovers = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith(".auditgraph-install")) : []);

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
    expect(r.stdout).toContain(`upgraded auditgraph ${OLD} -> ${CURRENT} (linux-x64) in ${s().dest}/auditgraph`);
    expect(installedVersion(s().dest)).toBe(CURRENT);
    expect(readFileSync(join(s().home, ".bashrc"), "utf8")).toBe(
      `alias ll='ls -l'\n# >>> auditgraph installer >>>\nexport PATH="${s().dest}:$PATH"\n# <<< auditgraph installer <<<\n`,
    );
  }, HEAVY);

  const keepsInstall = (r: { code: number }) => {
    expect(r.code).toBe(1);
    expect(installedVersion(s().dest)).toBe(CURRENT);
    expect(leftovers(s().dest)).toEqual([]);
  };

  test("a tampered archive aborts and leaves the install as it was", async () => {
    const r = await runInstaller(shell, ["--version", TAMPERED], s().env);
    expect(r.stderr).toMatch(/^auditgraph-install: error: checksum mismatch for auditgraph-linux-x64\.tar\.gz: expected [0-9a-f]{64}, got [0-9a-f]{64}/);
    keepsInstall(r);
  }, HEAVY);

  test("an interrupted download aborts and leaves the install as it was", async () => {
    const r = await runInstaller(shell, ["--version", INTERRUPTED], s().env);
    expect(r.stderr).toContain(`error: download of ${server.url.origin}/releases/download/v${INTERRUPTED}/auditgraph-linux-x64.tar.gz failed; nothing was installed`);
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
    expect(r.stderr).toContain(`error: minisign is installed but ${server.url.origin}/releases/download/v${UNSIGNED}/SHA256SUMS.minisig could not be downloaded; nothing was installed`);
    keepsInstall(r);
  });

  test("a pinned version whose archive holds another version aborts", async () => {
    const r = await runInstaller(shell, ["--version", MISLABELED], s().env);
    expect(r.stderr).toContain(`error: release v${MISLABELED} contains auditgraph ${CURRENT}; nothing was installed`);
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

const NO_TOOL = /warning: THE SIGNATURE OF SHA256SUMS IS NOT VERIFIED: neither minisign nor an openssl that does Ed25519 and BLAKE2b-512/;
const receipt = (home: string) => JSON.parse(readFileSync(join(home, ".config/auditgraph/install.json"), "utf8"));
const COMPLETIONS = [".local/share/bash-completion/completions/auditgraph", ".local/share/zsh/site-functions/_auditgraph", ".config/fish/completions/auditgraph.fish"];

// Without minisign on PATH: openssl verifies; without openssl too, a loud warning or a refusal.
// Then channels, the install id and the receipt, a relative install dir, a downgrade, and
// --uninstall finding the install from the receipt.
describe.each(Object.keys(SHELLS))("signatures, channels and the receipt under %s", (shell) => {
  let s: ReturnType<typeof sandbox>;
  const mybin = () => join(s.home, "mybin");
  beforeAll(() => {
    s = sandbox({ omit: ["minisign"] });
    s.env.SHELL = "/bin/bash";
  });

  test("openssl verifies the signature; a relative --install-dir becomes absolute; receipt and completions written", async () => {
    const r = await runInstaller(shell, ["--install-dir", "mybin", "--modify-path"], s.env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("verified the minisign signature of SHA256SUMS (openssl)");
    expect(r.stdout).toContain(`installed auditgraph ${CURRENT} (linux-x64) to ${mybin()}/auditgraph`);
    expect(installedVersion(mybin())).toBe(CURRENT);
    expect(readFileSync(join(s.home, ".bashrc"), "utf8")).toBe(`# >>> auditgraph installer >>>\nexport PATH="${mybin()}:$PATH"\n# <<< auditgraph installer <<<\n`);
    expect(receipt(s.home)).toEqual({ source: server.url.origin, channel: null, install_dir: mybin(), version: CURRENT, method: "install.sh" });
    const id = readFileSync(join(s.home, ".config/auditgraph/install-id"), "utf8");
    expect(id).toMatch(/^[0-9a-f]{32}\n$/);
    expect(server.seen.filter((q) => q.path.startsWith("/releases/latest/") && q.installId === id.trim()).map((q) => q.path)).toEqual([
      "/releases/latest/download/SHA256SUMS", "/releases/latest/download/SHA256SUMS.minisig", `/releases/latest/download/${ASSET}`,
    ]);
    for (const f of COMPLETIONS) expect(readFileSync(join(s.home, f), "utf8")).toContain("auditgraph");
    expect(leftovers(mybin())).toEqual([]);
  }, HEAVY);

  test("openssl refuses a swapped archive whose SHA256SUMS was edited to match", async () => {
    const r = await runInstaller(shell, ["--install-dir", mybin(), "--version", SWAPPED], s.env);
    expect(r.stderr).toContain(`error: the minisign signature of SHA256SUMS does not verify with key ${rel.key.publicKey} (checked with openssl); nothing was installed`);
    expect(r.code).toBe(1);
    expect(installedVersion(mybin())).toBe(CURRENT);
    expect(leftovers(mybin())).toEqual([]);
  }, HEAVY);

  test("--channel sends the channel and the install id, records them, and says downgraded", async () => {
    const id = readFileSync(join(s.home, ".config/auditgraph/install-id"), "utf8").trim();
    const from = server.seen.length;
    const r = await runInstaller(shell, ["--channel", BETA], { ...s.env, AUDITGRAPH_INSTALL_DIR: "mybin" });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`downgraded auditgraph ${CURRENT} -> ${OLD} (linux-x64) in ${mybin()}/auditgraph`);
    expect(installedVersion(mybin())).toBe(OLD);
    const latest = server.seen.slice(from).filter((q) => q.path.startsWith("/releases/latest/"));
    expect(latest.map((q) => q.path)).toEqual(["/releases/latest/download/SHA256SUMS", "/releases/latest/download/SHA256SUMS.minisig", `/releases/latest/download/${ASSET}`]);
    for (const q of latest) expect(q).toMatchObject({ query: `?channel=${BETA}`, installId: id, channel: BETA });
    expect(receipt(s.home)).toEqual({ source: server.url.origin, channel: BETA, install_dir: mybin(), version: OLD, method: "install.sh" });
    expect(readFileSync(join(s.home, ".config/auditgraph/install-id"), "utf8").trim()).toBe(id); // made once
  }, HEAVY);

  test("--uninstall without --install-dir removes the install the receipt names", async () => {
    const r = await runInstaller(shell, ["--uninstall"], s.env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`removed ${mybin()}/auditgraph`);
    expect(existsSync(join(mybin(), "auditgraph"))).toBe(false);
    for (const f of COMPLETIONS) expect(existsSync(join(s.home, f))).toBe(false);
    expect(existsSync(join(s.home, ".config/auditgraph/install.json"))).toBe(false);
    expect(readFileSync(join(s.home, ".bashrc"), "utf8")).toBe("");
  });

  // Plain POSIX parameter expansion: run under the strictest two shells only, to keep the suite short.
  test.if(shell === "dash" || shell === "busybox sh")("a release server's command (RELEASES_BASE_URL, RELEASES_VERSION, RELEASES_TOKEN) installs that release from it with the token; an 'auditgraph' directory in the way is refused", async () => {
    const env: Record<string, string> = { ...s.env, AUDITGRAPH_INSTALL_DIR: join(s.home, "fromserver"), RELEASES_BASE_URL: server.url.origin, RELEASES_VERSION: `v${OLD}`, RELEASES_TOKEN: "rls_read" };
    delete env.AUDITGRAPH_DOWNLOAD_URL;
    delete env.AUDITGRAPH_VERSION;
    const from = server.seen.length;
    const r = await runInstaller(shell, [], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`installed auditgraph ${OLD} (linux-x64) to ${join(s.home, "fromserver")}/auditgraph`);
    const got = server.seen.slice(from);
    expect(got.map((q) => q.path)).toContain(`/releases/download/v${OLD}/${ASSET}`);
    for (const q of got) expect(q.auth).toBe("Bearer rls_read");
    mkdirSync(join(s.home, "blocked", "auditgraph"), { recursive: true });
    const blocked = await runInstaller(shell, [], { ...env, AUDITGRAPH_INSTALL_DIR: join(s.home, "blocked") });
    expect(blocked.stderr).toContain(`error: ${join(s.home, "blocked")}/auditgraph is a directory; nothing was installed`);
    expect(blocked.code).toBe(1);
  }, HEAVY);

  test("no minisign and no openssl: --require-signature refuses before downloading; without it, a loud warning and on", async () => {
    const bare = sandbox({ omit: ["minisign", "openssl"] });
    const dest = join(bare.dir, "dest");
    const before = server.seen.length;
    const refused = await runInstaller(shell, ["--install-dir", dest, "--require-signature"], bare.env);
    expect(refused.stderr).toContain("error: cannot verify the signature of SHA256SUMS: neither minisign nor an openssl");
    expect(refused.stderr).toContain("--require-signature refuses to install unverified, nothing was installed");
    expect(refused.code).toBe(1);
    const viaEnv = await runInstaller(shell, ["--install-dir", dest], { ...bare.env, AUDITGRAPH_REQUIRE_SIGNATURE: "1" });
    expect(viaEnv.stderr).toContain("--require-signature refuses to install unverified");
    expect(viaEnv.code).toBe(1);
    expect(server.seen.length).toBe(before); // refused before downloading anything
    expect(existsSync(join(dest, "auditgraph"))).toBe(false);

    // Unverified, the install goes on (here to the tampered archive's checksum mismatch; a full
    // unverified install is tested once below).
    const r = await runInstaller(shell, ["--install-dir", dest, "--version", TAMPERED], bare.env);
    expect(r.stderr).toMatch(NO_TOOL);
    expect(r.stderr.split("\n").filter((l) => l.includes("warning:")).length).toBeGreaterThanOrEqual(4);
    expect(r.stderr).toContain("error: checksum mismatch for auditgraph-linux-x64.tar.gz");
    expect(r.code).toBe(1);
  }, HEAVY);
});

describe("once: downloaders, rc files, a full disk, the installed binary at work", () => {
  test("works with wget when curl is missing; --modify-path writes zsh and fish blocks once, none when already on PATH", async () => {
    const s = sandbox({ omit: ["curl"] });
    const dest = join(s.dir, "opt bin");
    const r = await runInstaller("dash", ["--install-dir", dest, "--modify-path"], { ...s.env, SHELL: "/usr/bin/zsh" });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(installedVersion(dest)).toBe(CURRENT);
    expect(readFileSync(join(s.home, ".zshrc"), "utf8")).toContain(`\nexport PATH="${dest}:$PATH"\n`);

    const zshrc = readFileSync(join(s.home, ".zshrc"), "utf8");
    const again = await runInstaller("dash", ["--install-dir", dest, "--modify-path"], { ...s.env, SHELL: "/usr/bin/zsh" });
    expect(again.stdout).toContain(`${join(s.home, ".zshrc")} already adds ${dest} to PATH`);
    expect(readFileSync(join(s.home, ".zshrc"), "utf8")).toBe(zshrc);

    const f = await runInstaller("dash", ["--install-dir", dest, "--modify-path", "--quiet"], { ...s.env, SHELL: "/usr/bin/fish" });
    expect(f.code).toBe(0);
    expect(readFileSync(join(s.home, ".config/fish/config.fish"), "utf8")).toBe(
      `# >>> auditgraph installer >>>\nfish_add_path "${dest}"\n# <<< auditgraph installer <<<\n`,
    );

    const onPath = await runInstaller("dash", ["--install-dir", dest, "--modify-path"], { ...s.env, SHELL: "/bin/bash", PATH: `${s.bin}:${dest}` });
    expect(onPath.stdout).toContain(`${dest} is already on PATH; ${join(s.home, ".bashrc")} left as it is`);
    expect(existsSync(join(s.home, ".bashrc"))).toBe(false);
  }, HEAVY);

  test("neither minisign nor openssl: the unverified install completes, after the warning", async () => {
    const s = sandbox({ omit: ["minisign", "openssl"] });
    const dest = join(s.dir, "dest");
    const r = await runInstaller("dash", ["--install-dir", dest, "--no-completions"], s.env);
    expect(r.stderr).toMatch(NO_TOOL);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("verified the minisign signature");
    expect(r.stdout).toContain(`installed auditgraph ${CURRENT} (linux-x64) to ${dest}/auditgraph`);
    expect(installedVersion(dest)).toBe(CURRENT);
    expect(existsSync(join(s.home, COMPLETIONS[0]!))).toBe(false);
  }, HEAVY);

  test("an openssl without Ed25519 -rawin (LibreSSL, OpenSSL < 1.1.1) counts as no tool", async () => {
    const real = Bun.which("openssl")!;
    const s = sandbox({ omit: ["minisign"], scripts: { openssl: `for a in "$@"; do [ "$a" != -rawin ] || { echo "pkeyutl: Unknown option: -rawin" >&2; exit 1; }; done; exec ${real} "$@"` } });
    const r = await runInstaller("dash", ["--install-dir", join(s.dir, "dest"), "--require-signature"], s.env);
    expect(r.stderr).toContain("error: cannot verify the signature of SHA256SUMS: neither minisign nor an openssl that does Ed25519 and BLAKE2b-512 (OpenSSL 1.1.1 or later; macOS ships LibreSSL, which cannot)");
    expect(r.code).toBe(1);
  });

  test.each(['a"b', "a$HOME", "a`id`", "a\\b"])("--modify-path refuses an install dir named %s before anything is written", async (name) => {
    const s = sandbox();
    const dest = join(s.dir, name);
    const r = await runInstaller("dash", ["--install-dir", dest, "--modify-path"], { ...s.env, SHELL: "/bin/bash" });
    expect(r.stderr).toContain(`error: --modify-path cannot write '${dest}' into a shell profile`);
    expect(r.code).toBe(2);
    expect(existsSync(dest)).toBe(false);
    expect(readdirSync(s.home)).toEqual([]);
  });

  test("a newline in the install dir is refused; a bad channel name is a usage error", async () => {
    const s = sandbox();
    const nl = await runInstaller("dash", ["--install-dir", join(s.dir, "a\nb")], s.env);
    expect(nl.stderr).toContain("error: the install directory's name holds a newline");
    expect(nl.code).toBe(2);
    const ch = await runInstaller("dash", ["--channel", "Beta?x=1"], s.env);
    expect(ch.stderr).toContain("error: 'Beta?x=1' is not a channel name");
    expect(ch.code).toBe(2);
  });

  test("a full disk while unpacking leaves the previous binary", async () => {
    const s = sandbox();
    const dest = join(s.dir, "small");
    mkdirSync(dest);
    // Room for the archive (about half the binary's size) but not for the unpacked binary.
    const size = Math.ceil(statSync(join(rel.out, ASSET)).size / 2 ** 20) + 8;
    const mount = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${size}m`, "tmpfs", dest], { stderr: "pipe" });
    if (mount.exitCode !== 0) throw new Error(`this test mounts a tmpfs and needs root (as in .ci/run): ${mount.stderr.toString().trim()}`);
    try {
      writeFileSync(join(dest, "auditgraph"), "#!/bin/sh\necho auditgraph 0.0.1\n", { mode: 0o755 });
      const r = await runInstaller("dash", ["--install-dir", dest], s.env);
      expect(r.stderr).toContain(`error: cannot unpack ${ASSET} into ${dest} (disk full?); nothing was installed`);
      expect(r.code).toBe(1);
      expect(readdirSync(dest)).toEqual(["auditgraph"]);
      expect(installedVersion(dest)).toBe("0.0.1");
    } finally {
      Bun.spawnSync(["umount", dest]);
    }
  }, HEAVY);

  test("the installed binary ingests the example workspace", async () => {
    const s = sandbox();
    const dest = join(s.dir, "bin-installed");
    expect((await runInstaller("bash", ["--install-dir", dest, "--quiet"], s.env)).code).toBe(0);
    const ws = join(s.dir, "workspace");
    cpSync(join(REPO, "examples/workspace"), ws, { recursive: true, filter: (src) => !src.includes("/.pkg") });
    const r = Bun.spawnSync([join(dest, "auditgraph"), "ingest", "--root", ws, "--json"], { stdout: "pipe", stderr: "pipe", env: { PATH: s.bin, HOME: s.home } });
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout.toString());
    expect(out.status).toBe("ok");
    expect(out.counts.files).toBeGreaterThanOrEqual(5);
    expect(out.counts.ok).toBe(out.counts.files);
    expect(existsSync(join(ws, ".pkg"))).toBe(true);
  }, HEAVY);
});

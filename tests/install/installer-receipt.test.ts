// End-to-end tests of scripts/install.sh, continued (installer.test.ts has the rest; two files so that
// bun test --parallel runs them side by side): signatures, channels and the receipt under every shell,
// then what is checked once (downloaders, rc files, a full disk, the installed binary at work).
import { beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ASSET, BETA, OLD, REPO, SWAPPED, TAMPERED } from "./fixture.ts";
import { SHELLS, runInstaller } from "./shells.ts";
import { COMPLETIONS, HEAVY, I, NO_TOOL, installedVersion, leftovers, receipt, sandbox, useReleases } from "./installer-env.ts";

useReleases();

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
    expect(r.stdout).toContain(`installed auditgraph ${I.CURRENT} (linux-x64) to ${mybin()}/auditgraph`);
    expect(installedVersion(mybin())).toBe(I.CURRENT);
    expect(readFileSync(join(s.home, ".bashrc"), "utf8")).toBe(`# >>> auditgraph installer >>>\nexport PATH="${mybin()}:$PATH"\n# <<< auditgraph installer <<<\n`);
    expect(receipt(s.home)).toEqual({ source: I.server.url.origin, channel: null, install_dir: mybin(), version: I.CURRENT, method: "install.sh" });
    const id = readFileSync(join(s.home, ".config/auditgraph/install-id"), "utf8");
    expect(id).toMatch(/^[0-9a-f]{32}\n$/);
    expect(I.server.seen.filter((q) => q.path.startsWith("/releases/latest/") && q.installId === id.trim()).map((q) => q.path)).toEqual([
      "/releases/latest/download/SHA256SUMS", "/releases/latest/download/SHA256SUMS.minisig", `/releases/latest/download/${ASSET}`,
    ]);
    for (const f of COMPLETIONS) expect(readFileSync(join(s.home, f), "utf8")).toContain("auditgraph");
    expect(leftovers(mybin())).toEqual([]);
  }, HEAVY);

  test("openssl refuses a swapped archive whose SHA256SUMS was edited to match", async () => {
    const r = await runInstaller(shell, ["--install-dir", mybin(), "--version", SWAPPED], s.env);
    expect(r.stderr).toContain(`error: the minisign signature of SHA256SUMS does not verify with key ${I.rel.key.publicKey} (checked with openssl); nothing was installed`);
    expect(r.code).toBe(1);
    expect(installedVersion(mybin())).toBe(I.CURRENT);
    expect(leftovers(mybin())).toEqual([]);
  }, HEAVY);

  test("--channel sends the channel and the install id, records them, and says downgraded", async () => {
    const id = readFileSync(join(s.home, ".config/auditgraph/install-id"), "utf8").trim();
    const from = I.server.seen.length;
    const r = await runInstaller(shell, ["--channel", BETA], { ...s.env, AUDITGRAPH_INSTALL_DIR: "mybin" });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`downgraded auditgraph ${I.CURRENT} -> ${OLD} (linux-x64) in ${mybin()}/auditgraph`);
    expect(installedVersion(mybin())).toBe(OLD);
    const latest = I.server.seen.slice(from).filter((q) => q.path.startsWith("/releases/latest/"));
    expect(latest.map((q) => q.path)).toEqual(["/releases/latest/download/SHA256SUMS", "/releases/latest/download/SHA256SUMS.minisig", `/releases/latest/download/${ASSET}`]);
    for (const q of latest) expect(q).toMatchObject({ query: `?channel=${BETA}`, installId: id, channel: BETA });
    expect(receipt(s.home)).toEqual({ source: I.server.url.origin, channel: BETA, install_dir: mybin(), version: OLD, method: "install.sh" });
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
  test.if(shell === "dash" || shell === "busybox sh")("a release server's command (RELEASES_BASE_URL, RELEASES_VERSION, RELEASES_TAG, RELEASES_TOKEN) installs that release from it with the token; an 'auditgraph' directory in the way is refused", async () => {
    const env: Record<string, string> = {
      ...s.env, AUDITGRAPH_INSTALL_DIR: join(s.home, "fromserver"),
      // The tag is taken as it is (URL-encoded by the server), whatever it looks like.
      RELEASES_BASE_URL: I.server.url.origin, RELEASES_VERSION: OLD, RELEASES_TAG: encodeURIComponent(`tool/${OLD}`), RELEASES_TOKEN: "rls_read",
    };
    delete env.AUDITGRAPH_DOWNLOAD_URL;
    delete env.AUDITGRAPH_VERSION;
    const from = I.server.seen.length;
    const r = await runInstaller(shell, [], env);
    expect(r.stderr).toBe(`auditgraph-install: warning: the token goes to ${I.server.url.origin} over plain http: anyone on the way can read it\n`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`installed auditgraph ${OLD} (linux-x64) to ${join(s.home, "fromserver")}/auditgraph`);
    const got = I.server.seen.slice(from);
    expect(got.map((q) => q.path)).toContain(`/releases/download/tool%2F${OLD}/${ASSET}`);
    for (const q of got) expect(q.auth).toBe("Bearer rls_read");
    mkdirSync(join(s.home, "blocked", "auditgraph"), { recursive: true });
    const blocked = await runInstaller(shell, [], { ...env, AUDITGRAPH_INSTALL_DIR: join(s.home, "blocked") });
    expect(blocked.stderr).toContain(`error: ${join(s.home, "blocked")}/auditgraph is a directory; nothing was installed`);
    expect(blocked.code).toBe(1);
  }, HEAVY);

  test.if(shell === "dash")("a token goes only where it belongs: RELEASES_TOKEN not to a base the server did not give, AUDITGRAPH_TOKEN to any but the project's", async () => {
    const dir = join(s.home, "tokens");
    // AUDITGRAPH_DOWNLOAD_URL (a mirror) outranks the server's base: the server's token stays home.
    let from = I.server.seen.length;
    const mirror = await runInstaller(shell, ["--version", OLD], { ...s.env, AUDITGRAPH_INSTALL_DIR: dir, RELEASES_BASE_URL: "http://127.0.0.1:9/elsewhere", RELEASES_TOKEN: "rls_server" });
    expect(mirror.code).toBe(0);
    expect(I.server.seen.slice(from).map((q) => q.auth)).toEqual(I.server.seen.slice(from).map(() => null));
    from = I.server.seen.length;
    const own = await runInstaller(shell, ["--version", OLD], { ...s.env, AUDITGRAPH_INSTALL_DIR: dir, AUDITGRAPH_TOKEN: "rls_mine" });
    expect(own.code).toBe(0);
    expect(own.stderr).toContain("warning: the token goes to http://127.0.0.1:"); // a loopback http base
    expect(new Set(I.server.seen.slice(from).map((q) => q.auth))).toEqual(new Set(["Bearer rls_mine"]));
    const odd = await runInstaller(shell, ["--version", OLD], { ...s.env, AUDITGRAPH_INSTALL_DIR: dir, AUDITGRAPH_TOKEN: 'x" -o /tmp/evil' });
    expect([odd.code, odd.stderr.trim()]).toEqual([2, "auditgraph-install: error: the token holds characters a bearer token does not (letters, digits and . _ ~ + / = - only)"]);
  }, HEAVY);

  test("no minisign and no openssl: --require-signature refuses before downloading; without it, a loud warning and on", async () => {
    const bare = sandbox({ omit: ["minisign", "openssl"] });
    const dest = join(bare.dir, "dest");
    const before = I.server.seen.length;
    const refused = await runInstaller(shell, ["--install-dir", dest, "--require-signature"], bare.env);
    expect(refused.stderr).toContain("error: cannot verify the signature of SHA256SUMS: neither minisign nor an openssl");
    expect(refused.stderr).toContain("--require-signature refuses to install unverified, nothing was installed");
    expect(refused.code).toBe(1);
    const viaEnv = await runInstaller(shell, ["--install-dir", dest], { ...bare.env, AUDITGRAPH_REQUIRE_SIGNATURE: "1" });
    expect(viaEnv.stderr).toContain("--require-signature refuses to install unverified");
    expect(viaEnv.code).toBe(1);
    expect(I.server.seen.length).toBe(before); // refused before downloading anything
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
    expect(installedVersion(dest)).toBe(I.CURRENT);
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
    expect(r.stdout).toContain(`installed auditgraph ${I.CURRENT} (linux-x64) to ${dest}/auditgraph`);
    expect(installedVersion(dest)).toBe(I.CURRENT);
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
    const size = Math.ceil(statSync(join(I.rel.out, ASSET)).size / 2 ** 20) + 8;
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

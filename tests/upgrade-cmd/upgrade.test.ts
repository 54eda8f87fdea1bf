// `auditgraph upgrade` end to end: real compiled executables (an installed release, its successor:
// tests/helpers/release-pair.ts) against a loopback server with the installer's layout and a
// throwaway signing key.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chownSync, chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fixture, fileSha, install, sameFile, NEW, OLD, patchOf, releaseFiles, run, serve, sha256, TARGET, type Fixture, type Served } from "./support.ts";

let f: Fixture;
let srv: Served;
let base: (site: string) => string;

const oneLine = (r: { stderr: string }) => {
  const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("hint:"));
  expect(lines.length).toBe(1);
  expect(lines[0]!.startsWith("error: ")).toBe(true);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
};
/** Is `path` the old (or new) executable? By inode for hard-linked installs (an upgrade only renames), else by sha256. */
const isExe = (path: string, which: "old" | "new") => {
  const ref = which === "old" ? f.oldExe : f.newExe;
  return statSync(path).ino === statSync(ref).ino || sameFile(path, ref);
};
let oldSha = "";
let newSha = "";
const leftovers = (dir: string) => readdirSync(dir).filter((n) => n !== "auditgraph");

beforeAll(async () => {
  f = await fixture();
  oldSha = fileSha(f.oldExe);
  newSha = fileSha(f.newExe);
  const tampered = new Uint8Array(f.newArchive);
  tampered[tampered.length >> 1]! ^= 0xff;
  const good = releaseFiles(f, NEW);
  const patch = await patchOf(f);
  const patchName = `auditgraph-${TARGET}.from-${OLD}.patch`;
  // release.json's entry for a patch, as the build writes it (src/schema/release.ts)
  const ends = (src: string) => ({
    [patchName]: { patch: { from_version: OLD, source_sha256: src, source_size: statSync(f.oldExe).size, result_sha256: newSha, result_size: statSync(f.newExe).size } },
  });
  const brokenPatch = new Uint8Array(patch);
  brokenPatch[brokenPatch.length - 40]! ^= 0xff;
  const withPatch = releaseFiles(f, NEW, { extra: { [patchName]: patch }, assetFields: ends(oldSha) });
  const goodSums = new TextDecoder().decode(good.get("SHA256SUMS")!);
  srv = serve({
    good: { latest: NEW, releases: { [NEW]: good, [OLD]: releaseFiles(f, OLD) } },
    badsig: { latest: NEW, releases: { [NEW]: releaseFiles(f, NEW, { sec: f.otherKey.sec }) } },
    nosig: { latest: NEW, releases: { [NEW]: releaseFiles(f, NEW, { noSig: true }) } },
    // the archive swapped after signing: SHA256SUMS (signed) no longer matches
    tampered: { latest: NEW, releases: { [NEW]: new Map([...good, [`auditgraph-${TARGET}.tar.gz`, tampered]]) } },
    // SHA256SUMS edited to match the swapped archive, signature left as it was
    wrongsums: {
      latest: NEW,
      releases: { [NEW]: new Map([...good, [`auditgraph-${TARGET}.tar.gz`, tampered], ["SHA256SUMS", new TextEncoder().encode(goodSums.replace(/^[0-9a-f]{64}/m, new Bun.CryptoHasher("sha256").update(tampered).digest("hex")))]]) },
    },
    dies: { latest: NEW, releases: { [NEW]: good }, dieAfter: { name: `auditgraph-${TARGET}.tar.gz`, bytes: 1 << 20 } },
    schema3: { latest: NEW, releases: { [NEW]: releaseFiles(f, NEW, { schema: "3.0.0" }) } },
    current: { latest: OLD, releases: { [OLD]: releaseFiles(f, OLD) } },
    delta: { latest: NEW, releases: { [NEW]: withPatch } },
    // a patch listed for another build of 0.0.1 (release.json's source sha256): the archive is used
    deltaother: { latest: NEW, releases: { [NEW]: releaseFiles(f, NEW, { extra: { [patchName]: patch }, assetFields: ends(sha256("another")) }) } },
    // the patch swapped after signing
    deltatampered: { latest: NEW, releases: { [NEW]: new Map([...withPatch, [patchName, brokenPatch]]) } },
  });
  base = (site) => `${srv.url}/${site}`;
}, 600_000); // the shared release pair, the first time for a source state

afterAll(() => {
  srv?.stop();
  if (f) rmSync(f.root, { recursive: true, force: true });
});

const key = () => ["--minisign-key", f.key.pubLine];

describe("auditgraph upgrade", () => {
  test("--check and --dry-run find the release, verify it and change nothing; the install id and channel are sent", async () => {
    const h = install(f, base("good"));
    mkdirSync(join(h.home, ".config", "auditgraph"), { recursive: true });
    writeFileSync(join(h.home, ".config", "auditgraph", "install.json"), JSON.stringify({ source: base("good"), channel: "beta", install_dir: h.bin, version: OLD, method: "install.sh" }));
    const env = { ...h.env };
    delete (env as Record<string, string | undefined>).AUDITGRAPH_DOWNLOAD_URL; // from the receipt
    const n = srv.requests.length;
    const check = await run(h.exe, ["upgrade", "--check", ...key()], env);
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(`auditgraph ${NEW} is available (this is ${OLD}, ${TARGET})`);
    expect(check.stdout).toContain("to upgrade run: auditgraph upgrade");
    const id = readFileSync(join(h.home, ".config", "auditgraph", "install-id"), "utf8").trim();
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const latest = srv.requests.slice(n).find((r) => r.path.endsWith("/releases/latest/download/release.json"))!;
    expect(latest.search).toBe("?channel=beta");
    expect(latest.headers["x-install-id"]).toBe(id);
    expect(latest.headers["x-release-channel"]).toBe("beta");
    expect(srv.requests.slice(n).some((r) => r.path.endsWith(".tar.gz"))).toBe(false);

    const json = await run(h.exe, ["upgrade", "--check", "--json", ...key()], env);
    expect(json.json).toMatchObject({ status: "available", current: OLD, latest: NEW, update_available: true, method: "archive", channel: "beta" });
    // The command it names does what was checked: with the version and channel asked for.
    const pinned = await run(h.exe, ["upgrade", "--check", "--version", NEW, "--channel", "beta", ...key()], env);
    expect(pinned.stdout).toContain(`to upgrade run: auditgraph upgrade --version ${NEW} --channel beta\n`);
    // A token for a private app (AUDITGRAPH_TOKEN) goes with every request to the base.
    const sent = srv.requests.length;
    expect((await run(h.exe, ["upgrade", "--check", ...key()], { ...env, AUDITGRAPH_TOKEN: "rls_reader" })).code).toBe(0);
    expect(srv.requests.slice(sent).map((q) => q.headers.authorization)).toEqual(srv.requests.slice(sent).map(() => "Bearer rls_reader"));
    expect(srv.requests.length).toBeGreaterThan(sent);
    // A channel name the release server would refuse is a usage error here, before any request.
    const before = srv.requests.length;
    const badChannel = await run(h.exe, ["upgrade", "--check", "--channel", "Beta.x", ...key()], env);
    expect([badChannel.code, badChannel.stderr]).toEqual([2, "error: invalid channel name 'Beta.x': 1-32 lowercase letters, digits or '-', starting with a letter\n"]);
    expect(srv.requests.length).toBe(before);
    const dry = await run(h.exe, ["upgrade", "--dry-run", ...key()], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would upgrade auditgraph ${OLD} -> ${NEW} (${TARGET})`);
    expect(dry.stdout).toContain("nothing was changed");
    expect(isExe(h.exe, "old")).toBe(true);
    expect(leftovers(h.bin)).toEqual([]);
  });

  test("upgrades by archive, keeps the previous executable, and --rollback puts it back", async () => {
    const h = install(f, base("good"));
    const r = await run(h.exe, ["upgrade", ...key()], h.env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`upgraded auditgraph ${OLD} -> ${NEW} (${TARGET}) in ${h.exe} by archive`);
    expect(isExe(h.exe, "new")).toBe(true);
    expect((await run(h.exe, ["version", "--json"], h.env)).json.version).toBe(NEW);
    expect(leftovers(h.bin)).toEqual([".auditgraph.previous"]);
    expect((await run(h.exe, ["upgrade", "--check", ...key()], h.env)).stdout).toContain(`auditgraph ${NEW} is up to date`);

    // --rollback with --dry-run or --check says what it would do and changes nothing; with a release
    // to choose it is a usage error.
    for (const flag of ["--dry-run", "--check"]) {
      const dry = await run(h.exe, ["upgrade", "--rollback", flag], h.env);
      expect([dry.code, dry.stdout]).toEqual([0, `would roll back auditgraph ${NEW} -> ${OLD} in ${h.exe} (nothing changed)\n`]);
      expect(isExe(h.exe, "new")).toBe(true);
    }
    const pinned = await run(h.exe, ["upgrade", "--rollback", "--version", OLD], h.env);
    expect(pinned.code).toBe(2);
    expect(pinned.stderr).toContain("--rollback puts back the version the last upgrade replaced; it takes no --version");
    expect(isExe(h.exe, "new")).toBe(true);

    const back = await run(h.exe, ["upgrade", "--rollback"], h.env);
    expect(back.code).toBe(0);
    expect(back.stdout).toContain(`rolled back auditgraph ${NEW} -> ${OLD}`);
    expect(isExe(h.exe, "old")).toBe(true);
    expect((await run(h.exe, ["version", "--json"], h.env)).json.version).toBe(OLD);
    // and the rollback can be undone the same way
    expect((await run(h.exe, ["upgrade", "--rollback", "--json"], h.env)).json).toMatchObject({ status: "rolled_back", from: OLD, to: NEW });
    expect(isExe(h.exe, "new")).toBe(true);
  }, 60_000);

  test("--version pins a release (a downgrade says so); an up-to-date install changes nothing", async () => {
    const h = install(f, base("current"));
    const same = await run(h.exe, ["upgrade", ...key()], h.env);
    expect(same.code).toBe(0);
    expect(same.stdout).toContain(`auditgraph ${OLD} is up to date`);
    expect(leftovers(h.bin)).toEqual([]);
    const pinned = await run(h.exe, ["upgrade", "--version", `v${NEW}`, "--dry-run", "--json", ...key()], { ...h.env, AUDITGRAPH_DOWNLOAD_URL: base("good") });
    expect(pinned.json).toMatchObject({ status: "dry_run", latest: NEW, method: "archive" });
    const h2 = install(f, base("good"), { exe: f.newExe });
    const down = await run(h2.exe, ["upgrade", "--version", OLD, "--dry-run", ...key()], h2.env);
    expect(down.stdout).toContain(`would downgrade auditgraph ${NEW} -> ${OLD}`);
    expect((await run(h2.exe, ["upgrade", ...key()], h2.env)).stdout).toContain(`auditgraph ${NEW} is up to date`);
  });

  test("uses the delta when it applies to this executable (--no-delta: the archive), else the archive", async () => {
    const h = install(f, base("delta"));
    const dry = await run(h.exe, ["upgrade", "--dry-run", "--json", ...key()], h.env);
    expect(dry.json).toMatchObject({ status: "dry_run", method: "delta", download: { name: `auditgraph-${TARGET}.from-${OLD}.patch` } });
    const r = await run(h.exe, ["upgrade", "--json", ...key()], h.env);
    expect(r.stderr).toBe("");
    expect(r.json).toMatchObject({ status: "upgraded", method: "delta", latest: NEW });
    expect(r.json.downloaded_bytes).toBeLessThan(f.newArchive.length / 20);
    expect(isExe(h.exe, "new")).toBe(true);
    expect((await run(h.exe, ["version", "--json"], h.env)).json.version).toBe(NEW);
    expect((await run(h.exe, ["upgrade", "--rollback"], h.env)).code).toBe(0);
    expect(isExe(h.exe, "old")).toBe(true);

    const full = await run(h.exe, ["upgrade", "--no-delta", "--dry-run", "--json", ...key()], h.env);
    expect(full.json).toMatchObject({ status: "dry_run", method: "archive", download: { name: `auditgraph-${TARGET}.tar.gz` } });

    const other = install(f, base("deltaother"));
    expect((await run(other.exe, ["upgrade", "--dry-run", "--json", ...key()], other.env)).json).toMatchObject({ method: "archive" });
  }, 40_000);

  test("SIGKILL at each step leaves a complete, working executable, and the next upgrade finishes", async () => {
    // the steps are downloaded, staged, probed, kept, swapped. "kept" is the one between the two
    // renames, and it leaves the most behind (a staged file, and a previous that is the current
    // executable); the others leave a subset of that (each run costs seconds here)
    const h = install(f, base("delta"));
    for (const step of ["kept"]) {
      const r = await run(h.exe, ["upgrade", ...key()], { ...h.env, AUDITGRAPH_UPGRADE_CRASH_AT: step });
      expect(r.code).toBe(137);
      expect(isExe(h.exe, "old")).toBe(true);
      expect((await run(h.exe, ["version", "--json"], h.env)).json.version).toBe(OLD);
    }
    expect(leftovers(h.bin).some((n) => n.startsWith(".auditgraph.upgrade-"))).toBe(true);
    expect(leftovers(h.bin)).toContain(".auditgraph.swap-lock"); // held by the killed process: taken over
    const r = await run(h.exe, ["upgrade", ...key()], h.env);
    expect(r.code).toBe(0);
    expect(isExe(h.exe, "new")).toBe(true);
    expect(leftovers(h.bin)).toEqual([".auditgraph.previous"]); // staged files of the killed runs are swept
  }, 60_000);

  const failures: [string, string, RegExp][] = [
    ["a tampered patch", "deltatampered", new RegExp(`auditgraph-linux-x64\\.from-${OLD.replaceAll(".", "\\.")}\\.patch does not match SHA256SUMS .*; nothing was changed$`)],
    ["a signature by another key", "badsig", /signature of .*SHA256SUMS does not verify: signed with key [0-9A-F]{16}, expected key [0-9A-F]{16}; nothing was changed$/],
    ["no signature", "nosig", /has no SHA256SUMS\.minisig, so it cannot be verified; nothing was changed$/],
    ["a tampered archive", "tampered", /auditgraph-linux-x64\.tar\.gz does not match SHA256SUMS .*; nothing was changed$/],
    ["a SHA256SUMS edited to match a swapped archive", "wrongsums", /signature of .*SHA256SUMS does not verify: signature verification failed; nothing was changed$/],
    ["a server that dies mid-download", "dies", /download of .*auditgraph-linux-x64\.tar\.gz (failed|was cut short).*; nothing was changed$/],
  ];
  for (const [what, site, message] of failures) {
    test(`${what}: one error line, non-zero exit, the installed executable unchanged`, async () => {
      const h = install(f, base(site));
      const r = await run(h.exe, ["upgrade", ...key()], h.env);
      expect(r.code).not.toBe(0);
      expect(oneLine(r)).toMatch(message);
      expect(isExe(h.exe, "old")).toBe(true);
      expect(leftovers(h.bin)).toEqual([]);
      expect((await run(h.exe, ["version", "--json"], h.env)).json.version).toBe(OLD);
    }, 60_000);
  }

  test.skipIf(process.getuid?.() !== 0)("a full disk while staging (a tmpfs, root only): one error line, nothing changed", async () => {
    const h = install(f, base("delta"));
    const small = join(h.home, "small");
    mkdirSync(small);
    // room for the installed executable, not for a second one
    const mb = Math.ceil(statSync(f.oldExe).size / 2 ** 20) + 8;
    const mount = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${mb}m`, "tmpfs", small], { stderr: "pipe" });
    if (mount.exitCode !== 0) throw new Error(`this test mounts a tmpfs: ${mount.stderr.toString().trim()}`);
    try {
      const exe = join(small, "auditgraph");
      copyFileSync(f.oldExe, exe);
      const r = await run(exe, ["upgrade", ...key()], h.env);
      expect(r.code).toBe(1);
      expect(oneLine(r)).toMatch(/cannot write the new executable next to .*: ENOSPC.*; nothing was changed$/);
      expect(readdirSync(small)).toEqual(["auditgraph"]);
      expect(isExe(exe, "old")).toBe(true);
    } finally {
      Bun.spawnSync(["umount", small]);
    }
  }, 60_000);

  test("without --minisign-key, the compiled-in project key (config/minisign.pub) rejects a release signed by another key", async () => {
    // the executables' sources had a throwaway key in config/minisign.pub (tests/helpers/release-pair.ts);
    // the project's own key id is checked in verify.test.ts
    expect(f.compiledKey.id).not.toBe(f.key.id);
    const h = install(f, base("good"));
    const r = await run(h.exe, ["upgrade", "--check"], h.env);
    expect(r.code).toBe(1);
    // minisign's .pub comment drops leading zeros from the id; messages give all 16 hex digits.
    const full = (id: string) => id.padStart(16, "0");
    expect(oneLine(r)).toContain(`signed with key ${full(f.key.id)}, expected key ${full(f.compiledKey.id)}`);
  });

  test("two upgrades at once: the version to roll back to is still the one before both", async () => {
    const h = install(f, base("good"));
    const [a, b] = await Promise.all([run(h.exe, ["upgrade", ...key()], h.env), run(h.exe, ["upgrade", ...key()], h.env)]);
    // One upgrades; the other upgrades first, finds it up to date, or finds the executable replaced meanwhile (exit 1, nothing changed).
    for (const r of [a, b]) expect([0, 1]).toContain(r.code);
    // (The check and the swap are one step under .auditgraph.swap-lock: never both.)
    expect([a, b].filter((r) => r.code === 0 && r.stdout.includes(`upgraded auditgraph ${OLD} -> ${NEW}`)).length).toBe(1);
    expect(leftovers(h.bin)).toEqual([".auditgraph.previous"]);
    for (const r of [a, b]) if (r.code === 1) expect(oneLine(r)).toContain("was replaced while this upgrade ran (another upgrade?); nothing was changed");
    expect(isExe(h.exe, "new")).toBe(true);
    const back = await run(h.exe, ["upgrade", "--rollback", "--json"], h.env);
    expect(back.json).toMatchObject({ status: "rolled_back", from: NEW, to: OLD });
    // Two rollbacks at once swap once: the second finds the executable replaced (they both swapped: back where they began).
    const [c, d] = await Promise.all([run(h.exe, ["upgrade", "--rollback"], h.env), run(h.exe, ["upgrade", "--rollback"], h.env)]);
    expect([c, d].filter((r) => r.code === 0).length).toBe(1);
    for (const r of [c, d]) if (r.code !== 0) expect(oneLine(r)).toContain("was replaced while this upgrade ran");
    expect(isExe(h.exe, "new")).toBe(true);
    expect(leftovers(h.bin)).toEqual([".auditgraph.previous"]);
  }, 90_000);

  test("the swap lock: a directory in its place is refused at once; a lock whose pid a later process reuses is taken over; a live holder is waited for, then one line", async () => {
    const h = install(f, base("good"));
    expect((await run(h.exe, ["upgrade", ...key()], h.env)).code).toBe(0);
    const lock = join(h.bin, ".auditgraph.swap-lock");
    mkdirSync(lock);
    const t0 = Date.now();
    const r = await run(h.exe, ["upgrade", "--rollback"], h.env);
    expect(r.code).toBe(1);
    expect(oneLine(r)).toContain(`${lock} is a directory, where the upgrade lock goes; nothing was changed`);
    expect(Date.now() - t0).toBeLessThan(20_000); // not the 30 s wait
    rmSync(lock, { recursive: true });
    // A live process started after the lock was written holds the pid by reuse: the lock is stale.
    const sleeper = Bun.spawn(["sleep", "60"]);
    try {
      writeFileSync(lock, `${sleeper.pid}\n`);
      const past = new Date(Date.now() - 3_600_000);
      utimesSync(lock, past, past);
      const back = await run(h.exe, ["upgrade", "--rollback", "--json"], h.env);
      expect(back.json).toMatchObject({ status: "rolled_back", from: NEW, to: OLD });
      // The same process holding a lock written after it started is a live holder: waited for, then one line, nothing changed.
      writeFileSync(lock, `${sleeper.pid}\n`);
      const busy = await run(h.exe, ["upgrade", "--rollback"], { ...h.env, AUDITGRAPH_LOCK_WAIT_MS: "300" });
      expect(busy.code).toBe(1);
      expect(oneLine(busy)).toContain(`another upgrade (pid ${sleeper.pid}) held ${lock} for 0.3 s; nothing was changed`);
      expect(isExe(h.exe, "old")).toBe(true);
      rmSync(lock);
    } finally { sleeper.kill(); }
    expect(leftovers(h.bin)).toEqual([".auditgraph.previous"]);
  }, 90_000);

  test("--rollback without a previous version says so", async () => {
    const h = install(f, base("good"));
    const r = await run(h.exe, ["upgrade", "--rollback"], h.env);
    expect(r.code).toBe(1);
    expect(oneLine(r)).toContain("there is no previous version to roll back to");
  });

  test("an incompatible artifact schema in the new release: the user is told a rebuild will be needed", async () => {
    const h = install(f, base("schema3"));
    const ws = join(h.home, "ws");
    mkdirSync(ws);
    writeFileSync(join(ws, "a.md"), "# A\n\nhello\n");
    expect((await run(h.exe, ["ingest"], h.env, ws)).code).toBe(0);
    const check = await run(h.exe, ["upgrade", "--check", ...key()], h.env, ws);
    expect(check.stdout).toContain("writes artifact schema 3.0.0, which cannot read this workspace's store (schema 2.0.0");
    expect(check.stdout).toContain("run 'auditgraph rebuild'");
    const json = await run(h.exe, ["upgrade", "--dry-run", "--json", ...key()], h.env, ws);
    expect(json.json.workspace).toMatchObject({ store_schema: "2.0.0", new_schema: "3.0.0", rebuild_needed: true });
    const compatible = install(f, base("good"));
    const ok = await run(compatible.exe, ["upgrade", "--check", "--json", ...key(), "--root", ws], compatible.env);
    expect(ok.json.workspace).toMatchObject({ rebuild_needed: false });
  }, 60_000);
});

describe("refusals: one line naming the command to use instead, nothing changed", () => {
  const refused = async (exe: string, env: Record<string, string>, instead: RegExp) => {
    const r = await run(exe, ["upgrade", ...key()], env);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(instead);
    expect(isExe(exe, "old")).toBe(true);
    return r;
  };

  test("a Homebrew Cellar path", async () => {
    const h = install(f, base("good"));
    const cellar = join(h.home, "homebrew", "Cellar", "auditgraph", OLD, "bin");
    const c = install(f, base("good"), { dir: cellar });
    await refused(c.exe, h.env, /was installed by Homebrew; use instead: brew upgrade auditgraph$/);
    expect(readdirSync(cellar)).toEqual(["auditgraph"]);
  });

  test("a container", async () => {
    const h = install(f, base("good"));
    const env = { ...h.env, container: "podman" };
    delete (env as Record<string, string | undefined>).AUDITGRAPH_UPGRADE_IN_CONTAINER;
    await refused(h.exe, env, /running in a container.*; use instead: pull a newer auditgraph image/);
  });

  test("an executable that belongs to another user, or a directory this user cannot write", async () => {
    if (process.getuid?.() === 0) {
      const h = install(f, base("good"), { copy: true });
      chownSync(h.exe, 65534, 65534);
      await refused(h.exe, h.env, /belongs to uid 65534, not to this user \(uid 0\); use instead: sudo -u '#65534' .* upgrade$/);
      // as uid 65534 in a directory it owns but cannot write
      const u = install(f, base("good"), { copy: true });
      for (const d of [u.home, u.bin]) chownSync(d, 65534, 65534);
      chownSync(u.exe, 65534, 65534);
      chmodSync(u.bin, 0o555);
      chmodSync(u.home, 0o755);
      chmodSync(f.root, 0o755);
      const r = await run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", u.exe], ["upgrade", ...key()], u.env);
      expect(r.code).toBe(2);
      expect(oneLine(r)).toMatch(/is not writable by this user; use instead: reinstall into a directory you can write: curl -fsSL .*install\.sh/);
    } else {
      const h = install(f, base("good"), { copy: true });
      chmodSync(h.bin, 0o555);
      await refused(h.exe, h.env, /is not writable by this user; use instead: reinstall/);
      chmodSync(h.bin, 0o755);
    }
  }, 60_000);

  test("a read-only executable of this user's in a directory it can write is upgraded (the new one is renamed in)", async () => {
    const h = install(f, base("good"), { copy: true });
    let cmd: string | string[] = h.exe;
    if (process.getuid?.() === 0) {
      // root may write any file: run as uid 65534, which owns the directory and the executable
      for (const p of [h.home, h.bin, h.exe]) chownSync(p, 65534, 65534);
      chmodSync(h.home, 0o755);
      chmodSync(f.root, 0o755);
      cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", h.exe];
    }
    chmodSync(h.exe, 0o555);
    const r = await run(cmd, ["upgrade", ...key()], h.env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(isExe(h.exe, "new")).toBe(true);
  }, 60_000);

  test("a build made for a package manager (the MANAGED define), and a run from source", async () => {
    const h = install(f, base("good"));
    const src = join(import.meta.dir, "..", "..", "src", "cli.ts");
    const managed = await run([process.execPath, "--define", `AUDITGRAPH_BUILD_MANAGED="apt upgrade auditgraph"`, src], ["upgrade"], h.env);
    expect(managed.code).toBe(2);
    expect(oneLine(managed)).toBe("error: this auditgraph was built for a package manager, which upgrades it; use instead: apt upgrade auditgraph");
    const source = await run([process.execPath, src], ["upgrade"], h.env);
    expect(source.code).toBe(2);
    expect(oneLine(source)).toMatch(/running from source .*; use instead: git pull$/);
  });
});

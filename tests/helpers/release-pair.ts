/**
 * Two one-target releases (linux-x64, auditgraph only) built from throwaway copies of this checkout,
 * shared by the tests that need a release and its successor: tests/release/delta.test.ts,
 * tests/lifecycle/lifecycle.test.ts and tests/upgrade-cmd/. The second has the next version, a
 * one-line TypeScript change (the version command's description gains " (and its build)") and a
 * delta patch from the first (`bun scripts/build.ts --previous`); both compile in a throwaway
 * minisign key (the copies' config/minisign.pub and install.sh's AG_PUBKEY) and are signed with it.
 * Built once per source state across the test processes of a run, and cached on disk, as
 * tests/helpers/release-build.ts does for the main build (sharedDir): two compiles instead of six.
 * Nothing here may be changed by a test: the files are read, served, hard-linked or copied.
 */
import { chmodSync, copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTarGzEntry } from "../../scripts/release/archive.ts";
import { publicKeyId } from "../../scripts/release/minisign.ts";
import { commitAll, copyCheckout, makeKey } from "../release/support.ts";
import { runSourceState, sharedDir } from "./release-build.ts";

export const PAIR_TARGET = "linux-x64";
export const V1 = "0.7.1";
export const V2 = "0.7.2";
/** What the second release's `auditgraph --help` shows and the first's does not. */
export const V2_CHANGE = "(and its build)";
const CACHE = join(tmpdir(), "auditgraph-release-pair");
const DONE = "pair.json";

export interface ReleasePair {
  /** The release's out dirs, as `bun scripts/build.ts` left them (the second with the patch). */
  out1: string;
  out2: string;
  /** Their auditgraph executables, taken out of the archives. */
  exe1: string;
  exe2: string;
  /** The copies' CHANGELOG.md, each with a section for its version. */
  changelog1: string;
  changelog2: string;
  /** stderr of the two `bun scripts/build.ts` runs. */
  log1: string;
  log2: string;
  /** The signing key: public key file, unencrypted secret key text, base64 key line, key id. */
  key: { pub: string; secret: string; pubLine: string; id: string };
  /** The patch's file name in out2. */
  patch: string;
}

/** Sets a copy's version, CHANGELOG section, trusted key and one-program target; commits. */
function prepare(dir: string, version: string, pub: string, edit?: () => void): void {
  const pkgPath = join(dir, "package.json");
  const pkg = JSON.parse(readFileSync(pkgPath, "utf8"));
  pkg.version = version;
  writeFileSync(pkgPath, JSON.stringify(pkg, null, 2) + "\n");
  const log = readFileSync(join(dir, "CHANGELOG.md"), "utf8").replace(/^## Unreleased$/m, `## ${version}\n\n- the test release ${version}.\n\n## Unreleased`);
  if (!log.includes(`## ${version}\n`)) throw new Error("CHANGELOG.md has no '## Unreleased' heading");
  writeFileSync(join(dir, "CHANGELOG.md"), log);
  // The copy's project key is the throwaway one: compiled into the executable, and in install.sh.
  const pubText = readFileSync(pub, "utf8");
  writeFileSync(join(dir, "config", "minisign.pub"), pubText);
  const installer = join(dir, "scripts", "install.sh");
  const keyLine = pubText.trim().split("\n")[1]!.trim();
  const script = readFileSync(installer, "utf8").replace(/^AG_PUBKEY='[^']*'$/m, `AG_PUBKEY='${keyLine}'`);
  if (!script.includes(keyLine)) throw new Error("install.sh has no AG_PUBKEY line");
  writeFileSync(installer, script);
  // These releases ship auditgraph only (release-server's executable would double the compile time).
  const targetFile = join(dir, "dist-targets", `${PAIR_TARGET}.json`);
  const target = JSON.parse(readFileSync(targetFile, "utf8"));
  target.programs = ["auditgraph"];
  writeFileSync(targetFile, JSON.stringify(target, null, 2) + "\n");
  edit?.();
  commitAll(dir, `release ${version}`, 1_700_000_100);
}

/** `bun scripts/build.ts --target linux-x64 ARGS` in `root`, signing with `secret`; returns its stderr. */
async function build(root: string, secret: string, args: string[]): Promise<string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("AUDITGRAPH_MINISIGN_")) env[k] = v;
  env.AUDITGRAPH_MINISIGN_SECRET_KEY = secret;
  const p = Bun.spawn([process.execPath, "scripts/build.ts", "--target", PAIR_TARGET, ...args], { cwd: root, env, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`bun scripts/build.ts ${args.join(" ")} in ${root} (exit ${code}): ${stderr}${stdout}`);
  return stderr;
}

async function make(dir: string): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  const key = makeKey(join(dir, "key"));
  const copies = join(dir, "copies");
  try {
    const c1 = copyCheckout(join(copies, "1"));
    prepare(c1, V1, key.pub);
    const c2 = copyCheckout(join(copies, "2"), c1);
    prepare(c2, V2, key.pub, () => {
      const f = join(c2, "src", "cli", "commands", "version.ts");
      const src = readFileSync(f, "utf8");
      const changed = src.replace(/description: "([^"]*)"/, (_m, d) => `description: "${d} ${V2_CHANGE}"`);
      if (changed === src) throw new Error("version.ts has no description to change");
      writeFileSync(f, changed);
    });
    const log1 = await build(c1, key.secret, ["--out", join(dir, "1")]);
    const log2 = await build(c2, key.secret, ["--out", join(dir, "2"), "--previous", join(dir, "1")]);
    writeFileSync(join(dir, "build-1.log"), log1);
    writeFileSync(join(dir, "build-2.log"), log2);
    copyFileSync(join(c1, "CHANGELOG.md"), join(dir, "CHANGELOG-1.md"));
    copyFileSync(join(c2, "CHANGELOG.md"), join(dir, "CHANGELOG-2.md"));
  } finally {
    rmSync(copies, { recursive: true, force: true });
  }
  for (const n of ["1", "2"]) {
    const exe = join(dir, `auditgraph-${n}`);
    writeFileSync(exe, readTarGzEntry(readFileSync(join(dir, n, `auditgraph-${PAIR_TARGET}.tar.gz`)), "auditgraph")!);
    chmodSync(exe, 0o755);
  }
  writeFileSync(join(dir, DONE), JSON.stringify({ v1: V1, v2: V2, target: PAIR_TARGET }) + "\n");
}

/** The pair of releases for this checkout's source state (built, or reused). */
export async function releasePair(): Promise<ReleasePair> {
  const key = new Bun.CryptoHasher("sha256").update(runSourceState()).update(`pair ${PAIR_TARGET} ${V1} ${V2} ${V2_CHANGE}`).digest("hex").slice(0, 24);
  const dir = await sharedDir(CACHE, key, DONE, make);
  const pub = join(dir, "key", "key.pub");
  const pubText = readFileSync(pub, "utf8");
  const out2 = join(dir, "2");
  const patch = `auditgraph-${PAIR_TARGET}.from-${V1}.patch`;
  if (!existsSync(join(out2, patch))) throw new Error(`${out2} has no ${patch}`);
  return {
    out1: join(dir, "1"),
    out2,
    exe1: join(dir, "auditgraph-1"),
    exe2: join(dir, "auditgraph-2"),
    changelog1: join(dir, "CHANGELOG-1.md"),
    changelog2: join(dir, "CHANGELOG-2.md"),
    log1: readFileSync(join(dir, "build-1.log"), "utf8"),
    log2: readFileSync(join(dir, "build-2.log"), "utf8"),
    key: { pub, secret: readFileSync(join(dir, "key", "key.sec"), "utf8"), pubLine: pubText.trim().split("\n")[1]!.trim(), id: publicKeyId(pubText, "key.pub") },
    patch,
  };
}

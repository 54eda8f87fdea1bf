/**
 * Release fixtures for the installer and formula tests: real compiled linux-x64 binaries packed in
 * the release layout (`auditgraph-<target>.tar.gz`, `SHA256SUMS` signed with a throwaway minisign
 * key, `release.json`), and a loopback server with GitHub's download paths.
 */
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import type { ReleaseManifest } from "../../src/schema/release.ts";

export const REPO = join(import.meta.dir, "../..");
export const CURRENT = pkg.version;
export const TARGET = "linux-x64";

function run(cmd: string[], opts: { cwd?: string; stdin?: Uint8Array } = {}): string {
  const r = Bun.spawnSync(cmd, { cwd: opts.cwd ?? REPO, stdin: opts.stdin, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (${r.exitCode}): ${r.stderr.toString()}`);
  return r.stdout.toString();
}

export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ag-install-${label}-`));
  chmodSync(dir, 0o755); // the read-only test runs the installer as another user
  return dir;
}

const sha256 = (bytes: Uint8Array) => new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

/** Builds auditgraph VERSION for TARGET into DIR in the release layout. */
async function buildRelease(dir: string, version: string, key: SigningKey): Promise<ReleaseManifest> {
  const stage = join(dir, "stage");
  mkdirSync(stage, { recursive: true });
  run([
    "bun", "build", "--compile", "src/cli.ts", "--outfile", join(stage, "auditgraph"),
    "--define", `AUDITGRAPH_BUILD_VERSION=${JSON.stringify(version)}`,
    "--define", `AUDITGRAPH_BUILD_TARGET=${JSON.stringify(TARGET)}`,
    "--define", `AUDITGRAPH_BUILD_COMMIT="fixture"`,
  ]);
  cpSync(join(REPO, "LICENSE"), join(stage, "LICENSE"));
  cpSync(join(REPO, "README.md"), join(stage, "README.md"));
  const asset = `auditgraph-${TARGET}.tar.gz`;
  const tar = Bun.spawnSync(
    ["tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "-C", stage, "-cf", "-", "auditgraph", "LICENSE", "README.md"],
    { stdout: "pipe" },
  );
  const gz = Bun.gzipSync(tar.stdout, { level: 1 });
  writeFileSync(join(dir, asset), gz);
  rmSync(stage, { recursive: true });
  cpSync(join(REPO, "scripts/install.sh"), join(dir, "install.sh"));
  const names = [asset, "install.sh"];
  const assets = names.map((name) => {
    const bytes = readFileSync(join(dir, name));
    const t = name === asset ? { target: TARGET, os: "linux", arch: "x64", libc: "glibc" } : { target: null, os: null, arch: null, libc: null };
    return { name, ...t, size: bytes.length, sha256: sha256(bytes) };
  });
  writeFileSync(join(dir, "SHA256SUMS"), assets.map((a) => `${a.sha256}  ${a.name}\n`).sort().join(""));
  key.sign(join(dir, "SHA256SUMS"));
  const manifest: ReleaseManifest = {
    name: "auditgraph", version, schema_version: "1.0.0", commit: "fixture", source_date_epoch: 0, assets,
  };
  writeFileSync(join(dir, "release.json"), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}

export type SigningKey = { publicKey: string; sign(file: string): void };

/** A throwaway minisign key pair (no password). */
export function signingKey(dir: string): SigningKey {
  mkdirSync(dir, { recursive: true });
  const pub = join(dir, "test.pub");
  const sec = join(dir, "test.key");
  run(["minisign", "-G", "-W", "-f", "-p", pub, "-s", sec]);
  return {
    publicKey: readFileSync(pub, "utf8").split("\n")[1]!.trim(),
    sign: (file) => void run(["minisign", "-S", "-W", "-s", sec, "-m", file]),
  };
}

export type Releases = {
  root: string;
  key: SigningKey;
  /** Tag directories: v<CURRENT> (latest), v0.0.9, and broken variants. */
  tags: Record<string, string>;
  manifest: ReleaseManifest;
};

export const OLD = "0.0.9";
/** Release whose archive was altered after SHA256SUMS was written. */
export const TAMPERED = "6.6.6";
/** Release whose archive download breaks off half way. */
export const INTERRUPTED = "7.7.7";
/** Release whose SHA256SUMS is signed by another key. */
export const FORGED = "8.8.8";

export async function makeReleases(): Promise<Releases> {
  for (const tool of ["minisign", "tar"]) {
    if (!Bun.which(tool)) throw new Error(`${tool} is not installed (.ci/run installs it from .ci/packages.txt)`);
  }
  const root = tempDir("releases");
  const key = signingKey(root);
  const cur = join(root, `v${CURRENT}`);
  const old = join(root, `v${OLD}`);
  mkdirSync(cur);
  mkdirSync(old);
  const manifest = await buildRelease(cur, CURRENT, key);
  await buildRelease(old, OLD, key);
  const asset = `auditgraph-${TARGET}.tar.gz`;

  const tampered = join(root, `v${TAMPERED}`);
  cpSync(cur, tampered, { recursive: true });
  const bytes = readFileSync(join(tampered, asset));
  bytes[bytes.length >> 1]! ^= 0xff;
  writeFileSync(join(tampered, asset), bytes);

  const interrupted = join(root, `v${INTERRUPTED}`);
  cpSync(cur, interrupted, { recursive: true });

  const forged = join(root, `v${FORGED}`);
  cpSync(cur, forged, { recursive: true });
  signingKey(join(root, "other-key")).sign(join(forged, "SHA256SUMS"));

  const tags = Object.fromEntries([CURRENT, OLD, TAMPERED, INTERRUPTED, FORGED].map((v) => [`v${v}`, join(root, `v${v}`)]));
  return { root, key, tags, manifest };
}

/**
 * Serves the releases like GitHub: /releases/download/<tag>/<asset>, and
 * /releases/latest/download/<asset> redirecting to the newest tag. The INTERRUPTED release's
 * archive redirects to a socket that sends half the announced bytes and hangs up.
 */
export function serveReleases(rel: Releases) {
  const breaker = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async data(sock) {
        const bytes = await Bun.file(join(rel.tags[`v${INTERRUPTED}`]!, `auditgraph-${TARGET}.tar.gz`)).bytes();
        sock.write(`HTTP/1.1 200 OK\r\ncontent-type: application/gzip\r\ncontent-length: ${bytes.length}\r\n\r\n`);
        sock.write(bytes.subarray(0, 4096));
        sock.end();
      },
    },
  });
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      const latest = path.match(/^\/releases\/latest\/download\/([^/]+)$/);
      if (latest) return Response.redirect(`/releases/download/v${CURRENT}/${latest[1]}`, 302);
      const m = path.match(/^\/releases\/download\/([^/]+)\/([^/]+)$/);
      const dir = m && rel.tags[m[1]!];
      if (!m || !dir || m[2]!.includes("..")) return new Response("Not Found", { status: 404 });
      const file = Bun.file(join(dir, m[2]!));
      if (!(await file.exists())) return new Response("Not Found", { status: 404 });
      if (m[1] === `v${INTERRUPTED}` && m[2]!.endsWith(".tar.gz")) return Response.redirect(`http://127.0.0.1:${breaker.port}/${m[2]}`, 302);
      return new Response(file);
    },
  });
  return {
    url: server.url,
    stop() {
      server.stop(true);
      breaker.stop(true);
    },
  };
}

/**
 * Release fixtures for the installer and formula tests: the real release build (shared with other
 * test files through tests/helpers/release-build.ts), an older release compiled here, and broken
 * variants, each tag's SHA256SUMS signed with a throwaway minisign key; plus a loopback server
 * with GitHub's download paths.
 */
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tarGz } from "../../scripts/release/archive.ts";
import { checksum, renderSums } from "../../scripts/release/checksums.ts";
import { compile } from "../../scripts/release/compile.ts";
import { parseTargetFile } from "../../scripts/release/targets.ts";
import { releaseBuild } from "../helpers/release-build.ts";
import { requireTool, SHARED_TARGETS } from "../release/support.ts";
import type { ReleaseManifest } from "../../src/schema/release.ts";

export const REPO = join(import.meta.dir, "../..");
export const TARGET = "linux-x64";
/** The targets the Homebrew formula points at, plus the installer's: the shared build's list. */
export const RELEASE_TARGETS = SHARED_TARGETS;
export const ASSET = `auditgraph-${TARGET}.tar.gz`;

function run(cmd: string[]): string {
  const r = Bun.spawnSync(cmd, { cwd: REPO, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (${r.exitCode}): ${r.stderr.toString()}`);
  return r.stdout.toString();
}

export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ag-install-${label}-`));
  chmodSync(dir, 0o755); // the read-only test runs the installer as another user
  return dir;
}

/** Compiles auditgraph VERSION for linux-x64 the way the release build does, into DIR as the archive plus SHA256SUMS. */
async function buildOld(dir: string, version: string): Promise<void> {
  const exe = join(dir, "stage", "auditgraph");
  const target = parseTargetFile(join(REPO, "dist-targets", `${TARGET}.json`));
  await compile(REPO, "auditgraph", target, { version, commit: "0".repeat(40) }, exe);
  const archive = tarGz([{ name: "auditgraph", data: readFileSync(exe), mode: 0o755 }], 0);
  writeFileSync(join(dir, ASSET), archive);
  writeFileSync(join(dir, "SHA256SUMS"), renderSums([checksum(ASSET, archive)]));
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
  /** Per tag, the directories a file is looked up in, first match wins. */
  tags: Record<string, string[]>;
  /** The release build's out dir and manifest (the latest release). */
  out: string;
  manifest: ReleaseManifest;
};

export const OLD = "0.0.9";
/** Release whose archive was altered after SHA256SUMS was written. */
export const TAMPERED = "6.6.6";
/** Release whose archive download breaks off. */
export const INTERRUPTED = "7.7.7";
/** Release whose SHA256SUMS is signed by another key. */
export const FORGED = "8.8.8";
/** Release without SHA256SUMS.minisig. */
export const UNSIGNED = "5.5.5";
/** Release tagged with another version than the binary it holds. */
export const MISLABELED = "4.4.4";
/**
 * Release whose archive was swapped for another build, with SHA256SUMS edited to match and the
 * release's genuine SHA256SUMS.minisig kept: only the signature check can catch it.
 */
export const SWAPPED = "3.3.3";
/** The channel whose latest release is OLD on the test server (the default channel's is the build's). */
export const BETA = "beta";

export async function makeReleases(): Promise<Releases> {
  requireTool("minisign", "minisign");
  requireTool("tar", "tar");
  const out = await releaseBuild(RELEASE_TARGETS);
  const manifest: ReleaseManifest = JSON.parse(readFileSync(join(out, "release.json"), "utf8"));
  const root = tempDir("releases");
  const key = signingKey(join(root, "key"));
  const other = signingKey(join(root, "other-key"));
  const tags: Record<string, string[]> = {};
  // Each tag gets its own directory holding what differs from the build, then falls back to it.
  const overlay = (version: string, signer: SigningKey | undefined, edit?: (dir: string) => void) => {
    const dir = join(root, `v${version}`);
    mkdirSync(dir);
    cpSync(join(out, "SHA256SUMS"), join(dir, "SHA256SUMS"));
    edit?.(dir);
    signer?.sign(join(dir, "SHA256SUMS"));
    tags[`v${version}`] = [dir, out];
  };
  overlay(manifest.version, key);
  overlay(TAMPERED, key, (dir) => {
    const bytes = readFileSync(join(out, ASSET));
    bytes[bytes.length >> 1]! ^= 0xff;
    writeFileSync(join(dir, ASSET), bytes);
  });
  overlay(INTERRUPTED, key);
  overlay(FORGED, other);
  overlay(UNSIGNED, undefined); // the shared build it falls back to is unsigned too
  overlay(MISLABELED, key);
  const old = join(root, `v${OLD}`);
  await buildOld(old, OLD);
  key.sign(join(old, "SHA256SUMS"));
  tags[`v${OLD}`] = [old];
  tags[`tool/${OLD}`] = [old]; // a tag that is no v<version> (a release server takes any tag git does)
  const swapped = join(root, `v${SWAPPED}`);
  mkdirSync(swapped);
  cpSync(join(old, ASSET), join(swapped, ASSET));
  cpSync(join(root, `v${manifest.version}`, "SHA256SUMS.minisig"), join(swapped, "SHA256SUMS.minisig"));
  const oldLine = readFileSync(join(old, "SHA256SUMS"), "utf8").trim();
  writeFileSync(join(swapped, "SHA256SUMS"), readFileSync(join(out, "SHA256SUMS"), "utf8").replace(new RegExp(`^[0-9a-f]{64}  ${ASSET}$`, "m"), oldLine));
  tags[`v${SWAPPED}`] = [swapped, out];
  return { root, key, tags, out, manifest };
}

/** One request the release server received: its path, query and the headers a rollout reads. */
export type Seen = { path: string; query: string; installId: string | null; channel: string | null; auth: string | null };

/**
 * Serves the releases like GitHub: /releases/download/<tag>/<asset>, and
 * /releases/latest/download/<asset> redirecting to the newest tag; like our release server,
 * `?channel=beta` (or X-Release-Channel) on a latest download gets the BETA channel's release
 * (OLD). The INTERRUPTED release's archive redirects to a socket that sends half the announced
 * bytes and hangs up. Every request is recorded in `seen`.
 */
export function serveReleases(rel: Releases) {
  const breaker = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async data(sock) {
        const bytes = await Bun.file(join(rel.out, ASSET)).bytes();
        sock.write(`HTTP/1.1 200 OK\r\ncontent-type: application/gzip\r\ncontent-length: ${bytes.length}\r\n\r\n`);
        sock.write(bytes.subarray(0, 4096));
        sock.end();
      },
    },
  });
  const seen: Seen[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const path = url.pathname;
      const channel = url.searchParams.get("channel") ?? req.headers.get("x-release-channel");
      seen.push({ path, query: url.search, installId: req.headers.get("x-install-id"), channel: req.headers.get("x-release-channel"), auth: req.headers.get("authorization") });
      const latest = path.match(/^\/releases\/latest\/download\/([^/]+)$/);
      if (latest) return Response.redirect(`/releases/download/v${channel === BETA ? OLD : rel.manifest.version}/${latest[1]}`, 302);
      const m = path.match(/^\/releases\/download\/([^/]+)\/([^/]+)$/);
      const dirs = m ? rel.tags[decodeURIComponent(m[1]!)] : undefined;
      if (!m || !dirs || m[2]!.includes("..")) return new Response("Not Found", { status: 404 });
      if (m[1] === `v${INTERRUPTED}` && m[2] === ASSET) return Response.redirect(`http://127.0.0.1:${breaker.port}/${m[2]}`, 302);
      for (const dir of dirs) {
        const file = Bun.file(join(dir, m[2]!));
        if (await file.exists()) return new Response(file);
      }
      return new Response("Not Found", { status: 404 });
    },
  });
  return {
    url: server.url,
    seen,
    stop() {
      server.stop(true);
      breaker.stop(true);
    },
  };
}

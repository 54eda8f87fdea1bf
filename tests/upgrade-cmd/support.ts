/**
 * What the `auditgraph upgrade` tests share: two real compiled executables (an "installed" old
 * version and the release's new one, with its archive and the delta patch between them: the pair of
 * releases shared with tests/release/delta.test.ts and tests/lifecycle/, tests/helpers/release-pair.ts,
 * which compile in a key of their own), throwaway minisign keys, release layouts built in memory
 * (GitHub's paths, with variants: tampered, wrongly signed...), and a loopback server that serves
 * them, records requests and can die mid-download.
 */
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PAIR_TARGET, releasePair, V1, V2 } from "../helpers/release-pair.ts";
import { makeKey } from "../release/support.ts";

export const REPO = join(import.meta.dir, "..", "..");
export const TARGET = PAIR_TARGET;
export const OLD = V1;
export const NEW = V2;
const CACHE = join(tmpdir(), "auditgraph-upgrade-test");

const sha256 = (b: Uint8Array | string) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

export interface Fixture {
  root: string;
  oldExe: string;
  newExe: string;
  newArchive: Uint8Array;
  /** The delta patch from the old executable to the new one, as the release build made it. */
  patch: string;
  /** The key the executables compile in (the pair's config/minisign.pub): not `key`, nor `otherKey`. */
  compiledKey: { id: string };
  key: { pub: string; sec: string; pubLine: string; id: string };
  otherKey: { pub: string; sec: string; pubLine: string; id: string };
}

/** Removes runs left by killed test processes (and older layouts of this cache), once idle for 10 minutes. */
function prune(): void {
  for (const name of readdirSync(CACHE)) {
    const p = join(CACHE, name);
    try { if (Date.now() - statSync(p).mtimeMs > 10 * 60_000) rmSync(p, { recursive: true, force: true }); } catch {}
  }
}

export async function fixture(): Promise<Fixture> {
  const pair = await releasePair();
  mkdirSync(CACHE, { recursive: true });
  prune();
  // beside the pair's executables (the same file system), which installs hard-link
  const root = mkdtempSync(join(CACHE, "run-"));
  return {
    root,
    oldExe: pair.exe1,
    newExe: pair.exe2,
    newArchive: new Uint8Array(readFileSync(join(pair.out2, `auditgraph-${TARGET}.tar.gz`))),
    patch: join(pair.out2, pair.patch),
    compiledKey: { id: pair.key.id },
    key: makeKey(join(root, "key")),
    otherKey: makeKey(join(root, "other-key")),
  };
}

/** The delta from the old executable to the new one (src/shared/delta.ts). */
export async function patchOf(f: Fixture): Promise<Uint8Array> {
  return new Uint8Array(readFileSync(f.patch));
}

/** A release's files (name → bytes), SHA256SUMS signed with `sec` unless told otherwise. */
export function releaseFiles(f: Fixture, version: string, o: {
  archive?: Uint8Array; sec?: string; schema?: string; extra?: Record<string, Uint8Array>;
  sumsEdit?: (sums: string) => string; noSig?: boolean;
  /** release.json fields per asset name (a patch's source and result). */
  assetFields?: Record<string, Record<string, unknown>>;
} = {}): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const archive = o.archive ?? f.newArchive;
  files.set(`auditgraph-${TARGET}.tar.gz`, archive);
  for (const [k, v] of Object.entries(o.extra ?? {})) files.set(k, v);
  let sums = [...files].sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, b]) => `${sha256(b)}  ${n}\n`).join("");
  if (o.sumsEdit) sums = o.sumsEdit(sums);
  const dir = mkdtempSync(join(f.root, "sign-"));
  writeFileSync(join(dir, "SHA256SUMS"), sums);
  if (!o.noSig) {
    const r = Bun.spawnSync(["minisign", "-S", "-W", "-s", o.sec ?? f.key.sec, "-m", join(dir, "SHA256SUMS"), "-t", `timestamp:1700000000\tfile:SHA256SUMS\thashed`], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`minisign -S failed: ${r.stderr}`);
    files.set("SHA256SUMS.minisig", readFileSync(join(dir, "SHA256SUMS.minisig")));
  }
  files.set("SHA256SUMS", new TextEncoder().encode(sums));
  files.set("release.json", new TextEncoder().encode(JSON.stringify({
    name: "auditgraph", version, schema_version: o.schema ?? "2.0.0", commit: "test", source_date_epoch: 1700000000,
    assets: [...files].map(([name, b]) => ({ name, target: name.includes(TARGET) ? TARGET : null, os: null, arch: null, libc: null, size: b.length, sha256: sha256(b), ...o.assetFields?.[name] })),
  })));
  return files;
}

export interface Served { url: string; requests: { path: string; search: string; headers: Record<string, string> }[]; stop: () => void }

/**
 * Serves sites: `/<site>/releases/download/v<version>/<name>` and `/<site>/releases/latest/download/<name>`
 * (the site's `latest` version). `dieAfter`: a file of which only that many bytes are sent before the
 * connection is dropped.
 */
export function serve(sites: Record<string, { latest: string; releases: Record<string, Map<string, Uint8Array>>; dieAfter?: { name: string; bytes: number }; delayMs?: number }>): Served {
  const requests: Served["requests"] = [];
  const dying = Bun.listen({
    hostname: "127.0.0.1", port: 0,
    socket: {
      data(sock, chunk) {
        const [, total, sent] = /GET \/(\d+)\/(\d+)/.exec(chunk.toString()) ?? [];
        sock.write(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${total}\r\n\r\n`);
        sock.write(new Uint8Array(Number(sent)));
        setTimeout(() => sock.end(), 50);
      },
    },
  });
  const server = Bun.serve({
    port: 0, hostname: "127.0.0.1",
    async fetch(req) {
      const u = new URL(req.url);
      requests.push({ path: u.pathname, search: u.search, headers: Object.fromEntries(req.headers) });
      const m = /^\/([^/]+)\/releases\/(?:latest\/download|download\/v([^/]+))\/([^/]+)$/.exec(u.pathname);
      const site = m ? sites[m[1]!] : undefined;
      if (!m || !site) return new Response("not found", { status: 404 });
      if (site.delayMs) await Bun.sleep(site.delayMs);
      const version = m[2] ?? site.latest;
      const body = site.releases[version]?.get(m[3]!);
      if (!body) return new Response("not found", { status: 404 });
      if (site.dieAfter && site.dieAfter.name === m[3]) {
        // redirected to a raw socket that sends the headers and part of the body, then hangs up
        return Response.redirect(`http://127.0.0.1:${dying.port}/${body.length}/${site.dieAfter.bytes}`, 302);
      }
      return new Response(body);
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, requests, stop: () => { server.stop(true); dying.stop(true); } };
}

export interface Home { home: string; bin: string; exe: string; env: Record<string, string> }

/** A fresh HOME with the old executable "installed" in HOME/bin (a hard link: upgrades only rename). */
export function install(f: Fixture, base: string, o: { copy?: boolean; dir?: string; exe?: string } = {}): Home {
  const home = mkdtempSync(join(f.root, "home-"));
  const bin = o.dir ?? join(home, "bin");
  mkdirSync(bin, { recursive: true });
  const exe = join(bin, "auditgraph");
  if (o.copy) copyFileSync(o.exe ?? f.oldExe, exe);
  else linkSync(o.exe ?? f.oldExe, exe);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith("AUDITGRAPH_") || k.startsWith("XDG_") || k === "NO_COLOR" || k === "container") continue;
    if (["CI", "CONTINUOUS_INTEGRATION", "BUILD_NUMBER", "RUN_ID", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "TF_BUILD", "JENKINS_URL", "TEAMCITY_VERSION", "CIRCLECI", "TRAVIS"].includes(k)) continue;
    env[k] = v;
  }
  Object.assign(env, { HOME: home, AUDITGRAPH_DOWNLOAD_URL: base, AUDITGRAPH_UPGRADE_IN_CONTAINER: "1" });
  return { home, bin, exe, env };
}

export type Run = { code: number; stdout: string; stderr: string; json: any };

/** Runs a command without blocking the event loop (the test's server answers it). */
export async function run(exe: string | string[], args: string[], env: Record<string, string>, cwd?: string): Promise<Run> {
  const p = Bun.spawn([...(Array.isArray(exe) ? exe : [exe]), ...args], { env, cwd, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  let json: any;
  try { json = JSON.parse(stdout); } catch {}
  return { code, stdout, stderr, json };
}

/** sha256 of a file, streamed by sha256sum (a 100 MB read into one buffer is slow on a loaded machine). */
export const fileSha = (p: string) => Bun.spawnSync(["sha256sum", p]).stdout.toString().split(" ")[0]!;
/** Same bytes? (cmp stops at the first difference) */
export const sameFile = (a: string, b: string) => Bun.spawnSync(["cmp", "-s", a, b]).exitCode === 0;
export { sha256 };

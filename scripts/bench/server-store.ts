/**
 * Release store benchmark: publishes N releases (default 10,000) with 5 artifacts each into a
 * SQLite data directory through ReleaseService, then times, with the database at that size:
 * an app's latest release (without a channel, on a channel at 30%, and for clients outside a
 * channel's first rollout), a page of releases and a token check.
 * Also times blob uploads (hash + fsync + rename).
 *
 *   bun scripts/bench/server-store.ts [--releases N] [--keep DIR]
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig } from "../../src/release-server/config.ts";
import type { StoredBlob } from "../../src/release-server/blobs/store.ts";
import { DB_FILE, openService, ReleaseService } from "../../src/release-server/service.ts";

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const N = Number(flag("releases") ?? 10_000);
const keep = flag("keep");
const dir = keep ?? mkdtempSync(join(tmpdir(), "bench-server-store-"));

async function* bytes(seed: number, size: number) {
  const chunk = new Uint8Array(Math.min(size, 1 << 20));
  for (let sent = 0; sent < size; sent += chunk.length) {
    chunk.fill(seed % 251);
    chunk[0] = seed & 0xff;
    chunk[1] = (seed >> 8) & 0xff;
    yield chunk.subarray(0, Math.min(chunk.length, size - sent));
  }
}

/** Mean time per call in microseconds over `n` calls (after a short warm-up). */
async function timeIt(n: number, fn: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < Math.min(100, n); i++) await fn(i);
  const t = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return ((performance.now() - t) * 1000) / n;
}

const s = await openService(dir, defaultConfig());
const op = ReleaseService.operator("bench");
try {
  // Blob uploads.
  let t = performance.now();
  const small: StoredBlob[] = [];
  for (let i = 0; i < 200; i++) small.push(await s.putBlob(bytes(i, 256 * 1024)));
  const smallMs = performance.now() - t;
  t = performance.now();
  await s.putBlob(bytes(9999, 256 * 1024 * 1024));
  const bigMs = performance.now() - t;

  // Releases: 5 artifacts each, referencing already stored blobs (platform detection reads them).
  const app = await s.createApp({ owner: "bench", slug: "app" }, op);
  const names = ["linux-x64.tar.gz", "linux-arm64.tar.gz", "darwin-x64.tar.gz", "darwin-arm64.tar.gz", "SHA256SUMS"];
  t = performance.now();
  let lastId = 0;
  for (let i = 0; i < N; i++) {
    const files = names.map((n, k) => ({ filename: `tool-${n}`, blob: small[(i + k) % small.length] }));
    const version = `${Math.floor(i / 1000)}.${Math.floor(i / 10) % 100}.${i % 10}`;
    lastId = (await s.publishRelease(app, { version, channel: i % 2 ? "beta" : "stable" }, files, op)).release.id;
  }
  const publishMs = performance.now() - t;
  await s.promote(app, "stable", lastId - 1, {}, op);
  await s.promote(app, "stable", lastId, { rolloutPercent: 30 }, op);
  await s.promote(app, "canary", lastId, { rolloutPercent: 0.01 }, op); // a first rollout: no previous release

  const tokens: string[] = [];
  for (let i = 0; i < 1000; i++) tokens.push((await s.createToken({ name: `t${i}`, actions: ["publish"], apps: ["bench/app"] }, op)).raw);

  const latest = await timeIt(10_000, async () => await s.latestRelease(app));
  const latestChannel = await timeIt(10_000, async (i) => await s.latestRelease(app, { channel: "stable", installId: `install-${i}` }));
  const firstRollout = await timeIt(10_000, async (i) => await s.latestRelease(app, { channel: "canary", installId: `install-${i}` }));
  const page = await timeIt(2_000, async (i) => await s.listReleases(app, { page: 1 + (i % 50), perPage: 30, drafts: i % 2 === 0 }));
  const auth = await timeIt(10_000, async (i) => s.authorize(await s.authenticate(tokens[i % tokens.length]), "publish", { app, channel: "beta" }));
  const bad = await timeIt(10_000, async () => {
    try {
      await s.authenticate("rls_" + "0".repeat(49));
    } catch {}
  });
  await s.flush();

  const dbBytes = statSync(join(dir, DB_FILE)).size + (statSync(join(dir, `${DB_FILE}-wal`), { throwIfNoEntry: false })?.size ?? 0);
  const f = (n: number, d = 1) => n.toFixed(d);
  console.log(`server-store benchmark (bun ${Bun.version}, SQLite WAL, synchronous=FULL)`);
  console.log(`  blob put, 200 x 256 KiB:        ${f(200 / (smallMs / 1000), 0)} blobs/s (${f(smallMs / 200, 2)} ms each)`);
  console.log(`  blob put, 1 x 256 MiB:          ${f(256 / (bigMs / 1000), 0)} MiB/s`);
  console.log(`  publish ${N} releases x 5 artifacts: ${f(publishMs / 1000, 2)} s = ${f(N / (publishMs / 1000), 0)} releases/s (${f(publishMs / N, 2)} ms each, one transaction per release)`);
  console.log(`  database size:                  ${f(dbBytes / 1048576, 1)} MiB (${N} releases, ${N * 5} artifacts, ${N + 1002} audit events)`);
  console.log(`  latest release (no channel):    ${f(latest)} µs`);
  console.log(`  latest on channel (30% rollout, by install id): ${f(latestChannel)} µs`);
  console.log(`  latest outside a first rollout (0.01%, held on an older release): ${f(firstRollout)} µs`);
  console.log(`  list releases, a page of 30 (pages 1-50, with/without drafts): ${f(page)} µs`);
  console.log(`  token check (authenticate + authorize, 1000 tokens): ${f(auth)} µs`);
  console.log(`  malformed token rejected:       ${f(bad)} µs`);
} finally {
  await s.close();
  if (!keep) rmSync(dir, { recursive: true, force: true });
}

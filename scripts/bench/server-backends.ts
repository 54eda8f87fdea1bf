/**
 * The PostgreSQL + S3 half of `bun run bench:server-http --backend postgres+s3` (server-http.ts runs
 * the SQLite + disk figures first, in the same run). Starts a throwaway PostgreSQL cluster and a
 * single-node radosgw (the test suite's helpers: tests/release-server/support/), three `serve`
 * replicas on them and a fourth with `redirect_downloads`, then prints:
 *   1. `releases/latest` with wrk at 64 connections through one replica and through three (three wrk
 *      processes of 22 connections at once, one per replica): requests/s summed, worst p99;
 *   2. peak RSS growth of each replica during 8 concurrent 100 MiB uploads spread over the three;
 *   3. upload of the big file through a replica (multipart into S3) and downloads of it proxied
 *      through a replica and, with redirect_downloads, straight from S3 (curl -L follows the 302).
 * Needs the Debian packages of .ci/packages.txt (postgresql-15, ceph) plus curl and wrk.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/release-server/config.ts";
import { openService, ReleaseService } from "../../src/release-server/service.ts";
import { startPostgres } from "../../tests/release-server/support/postgres.ts";
import { startRgw } from "../../tests/release-server/support/rgw.ts";

export interface BenchEnv {
  dir: string;
  admin: string;
  big: string;
  bigBytes: number;
  mid: string;
  seconds: number;
  have(tool: string): boolean;
  sh(cmd: string[]): string;
  spawnServer(args: string[], env: Record<string, string>): Promise<{ url: string; pid: number }>;
  rssOf(pid: number): number;
  mib(b: number): string;
  mbps(bytes: number, seconds: number): number;
  median(xs: number[]): number;
}

export async function backendsBench(b: BenchEnv): Promise<void> {
  const { mbps, median } = b;
  console.log("\n--- PostgreSQL + S3 (radosgw), three replicas ---");
  const pg = await startPostgres();
  // memstore: the 8 x 100 MiB uploads (staged, then copied to their digest key) and the big file twice, with room
  const rgw = await startRgw({ memstoreBytes: 2 * 2 ** 30 + 3 * b.bigBytes });
  const started: Array<{ pid: number }> = [];
  try {
    const dbUrl = await pg.createDatabase();
    const yaml = (extra = "") =>
      `uploads:\n  max_bytes: ${Math.max(b.bigBytes, 200 * 2 ** 20) + 1}\nstorage:\n  blobs: s3\n  s3:\n    bucket: ${rgw.bucket}\n    endpoint: ${rgw.endpoint}\n    region: ${rgw.region}\n    prefix: bench/\n${extra}`;
    const config = join(b.dir, "pg-s3.yaml");
    const redirectConfig = join(b.dir, "pg-s3-redirect.yaml");
    writeFileSync(config, yaml());
    writeFileSync(redirectConfig, yaml("    redirect_downloads: true\n"));
    // The same data as the SQLite + disk run: an app with one small release.
    const env = { ...rgw.env, RELEASE_SERVER_DATABASE_URL: dbUrl, RELEASE_SERVER_ADMIN_TOKEN: b.admin };
    const cfg = loadConfig(config).config;
    for (const [k, v] of Object.entries(rgw.env)) process.env[k] = v;
    const s = await openService(join(b.dir, "pg-seed"), { ...cfg, storage: { ...cfg.storage, database: dbUrl } });
    const app = await s.createApp({ owner: "bench", slug: "tool" }, ReleaseService.operator("bench"));
    const small = await s.putBlob((async function* () { yield new Uint8Array(4096).fill(1); })());
    await s.publishRelease(app, { version: "1.0.0" }, [{ filename: "tool.tgz", blob: small }], ReleaseService.operator("bench"));
    await s.close();

    const replicas = await Promise.all(["a", "b", "c"].map((n) => b.spawnServer(["--data", join(b.dir, `pg-${n}`), "--config", config], env)));
    const redirecting = await b.spawnServer(["--data", join(b.dir, "pg-r"), "--config", redirectConfig], env);
    started.push(...replicas, redirecting);

    // 1. latest at 64 connections through one replica, then through three.
    if (b.have("wrk")) {
      const wrk = (url: string, conns: number) =>
        Bun.spawn(["wrk", "-t1", `-c${conns}`, `-d${b.seconds}s`, "--latency", `${url}/api/v3/repos/bench/tool/releases/latest`], { stdout: "pipe" });
      const parse = async (p: ReturnType<typeof wrk>) => {
        const out = await new Response(p.stdout).text();
        const ms = (v: string) => (v.endsWith("us") ? Number(v.slice(0, -2)) / 1000 : v.endsWith("ms") ? Number(v.slice(0, -2)) : Number(v.slice(0, -1)) * 1000);
        return { rps: Number(out.match(/Requests\/sec:\s+([\d.]+)/)![1]), p99: ms(out.match(/\s99%\s+([\d.]+\w+)/)![1]!), errors: Number(out.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0) };
      };
      const one = await parse(wrk(replicas[0]!.url, 64));
      console.log(`releases/latest, 64 connections, ${b.seconds}s, one replica: ${one.rps.toFixed(0)} requests/s, p99 ${one.p99.toFixed(2)} ms, non-2xx ${one.errors}`);
      const three = await Promise.all(replicas.map((r, i) => parse(wrk(r.url, i === 0 ? 22 : 21))));
      console.log(`releases/latest, 64 connections, ${b.seconds}s, three replicas: ${three.reduce((a, x) => a + x.rps, 0).toFixed(0)} requests/s ` +
        `(${three.map((x) => x.rps.toFixed(0)).join(" + ")}), worst p99 ${Math.max(...three.map((x) => x.p99)).toFixed(2)} ms, non-2xx ${three.reduce((a, x) => a + x.errors, 0)}`);
    } else console.log("releases/latest: skipped (wrk is not installed)");

    // 2. 8 concurrent 100 MiB uploads spread over the three replicas: peak RSS growth of each.
    const before = replicas.map((r) => b.rssOf(r.pid));
    const peaks = [...before];
    const sampler = setInterval(() => replicas.forEach((r, i) => { peaks[i] = Math.max(peaks[i]!, b.rssOf(r.pid)); }), 20);
    const t8 = performance.now();
    const codes = await Promise.all(Array.from({ length: 8 }, async (_, i) => {
      const p = Bun.spawn(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", `Authorization: Bearer ${b.admin}`, "-H", "Content-Type: application/octet-stream",
        "-X", "POST", "-T", b.mid, `${replicas[i % 3]!.url}/apps/bench/tool/upload?name=mid-${i}.bin&version=2.0.${i}`], { stdout: "pipe" });
      return (await new Response(p.stdout).text()).trim();
    }));
    clearInterval(sampler);
    const t8s = (performance.now() - t8) / 1000;
    console.log(`8 concurrent 100 MiB uploads over three replicas: statuses ${[...new Set(codes)].join(",")}, ${t8s.toFixed(1)} s (${mbps(800 * 2 ** 20, t8s).toFixed(0)} MB/s aggregate), ` +
      `peak RSS growth per replica ${peaks.map((p, i) => `+${b.mib(p - before[i]!)}`).join(", ")} (${before.map(b.mib).join(", ")} before)`);

    // 3. The big file: upload through A (multipart into S3), download proxied through B, and by redirect.
    const timed = (cmd: string[]) => {
      const t = performance.now();
      const out = b.sh(cmd);
      return { s: (performance.now() - t) / 1000, out: out.trim() };
    };
    const mb = b.bigBytes / 2 ** 20;
    const up = timed(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-H", `Authorization: Bearer ${b.admin}`, "-H", "Content-Type: application/octet-stream",
      "-X", "POST", "-T", b.big, `${replicas[0]!.url}/apps/bench/tool/upload?name=big.bin&version=3.0.0`]);
    if (!up.out.endsWith("\n201")) throw new Error(`big upload answered ${up.out}`);
    console.log(`upload ${mb} MiB through a replica into S3: ${mbps(b.bigBytes, up.s).toFixed(0)} MB/s (${up.s.toFixed(1)} s)`);
    const get = (url: string, follow: boolean) => {
      const r = timed(["curl", "-sS", ...(follow ? ["-L"] : []), "-o", "/dev/null", "-w", "%{size_download} %{num_redirects}", url]);
      const [size, redirects] = r.out.split(" ").map(Number);
      if (size !== b.bigBytes) throw new Error(`${url}: got ${size} bytes`);
      return { s: r.s, redirects: redirects! };
    };
    const proxied = [1, 2, 3].map(() => get(`${replicas[1]!.url}/bench/tool/releases/download/v3.0.0/big.bin`, false).s);
    const redirected = [1, 2, 3].map(() => get(`${redirecting.url}/bench/tool/releases/download/v3.0.0/big.bin`, true));
    console.log(`download ${mb} MiB, median of 3: proxied through a replica ${mbps(b.bigBytes, median(proxied)).toFixed(0)} MB/s, ` +
      `redirect_downloads (302 to a presigned URL, then S3) ${mbps(b.bigBytes, median(redirected.map((r) => r.s))).toFixed(0)} MB/s (redirects followed: ${redirected[0]!.redirects})`);
  } finally {
    // the replicas go before their database and bucket (else they log a failed flush each)
    for (const r of started) try { process.kill(r.pid, "SIGKILL"); } catch {}
    rgw.stop();
    await pg.stop();
  }
}

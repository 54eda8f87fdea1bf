/**
 * HTTP benchmark of `release-server serve`, loopback only, bounded in time (a few minutes):
 *   1. `releases/latest` with wrk at 64 connections for --seconds (default 10): requests/s, p50, p99;
 *   2. peak server RSS during 8 concurrent 100 MB uploads (curl, raw body);
 *   3. upload throughput of a --size-mb (default 1024) file with a Content-Length (curl -T) next to
 *      `dd conv=fsync` of the same file to the same disk, --runs times each (default 3), alternating,
 *      so that load from elsewhere on the machine hits both alike: median MB/s and ratio, each run's
 *      ratio, the server's CPU time per GiB (all its threads) and its peak RSS growth per upload;
 *      then the same file sent chunked (no Content-Length: the counting path);
 *   4. download throughput of the stored blob next to nginx serving that same file (sendfile on),
 *      5 alternating runs each.
 *
 *   bun scripts/bench/server-http.ts [--size-mb N] [--seconds N] [--runs N] [--backend postgres+s3]
 * With `--backend postgres+s3`, the same run then measures three replicas on PostgreSQL and S3
 * (scripts/bench/server-backends.ts) next to these SQLite + disk figures.
 * Everything lives under the temp directory: TMPDIR=/dev/shm measures on tmpfs, where the disk is
 * no limit and the upload path's CPU cost shows. Needs curl and dd; wrk and nginx are optional
 * (apt-get install wrk nginx), their sections are skipped without them.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig } from "../../src/release-server/config.ts";
import { generateToken } from "../../src/release-server/domain/tokens.ts";
import { openService, ReleaseService } from "../../src/release-server/service.ts";

const argv = process.argv.slice(2);
const flag = (name: string, dflt: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const SIZE_MB = flag("size-mb", 1024);
const SECONDS = flag("seconds", 10);
const RUNS = flag("runs", 3);
const MAIN = join(import.meta.dir, "../../src/release-server/main.ts");
const backendAt = argv.indexOf("--backend");
const BACKEND = backendAt >= 0 ? argv[backendAt + 1] : "sqlite+disk";
if (BACKEND !== "sqlite+disk" && BACKEND !== "postgres+s3") {
  console.error(`error: --backend must be sqlite+disk or postgres+s3, got '${BACKEND}'`);
  process.exit(2);
}

const have = (tool: string) => Boolean(Bun.which(tool) || Bun.which(tool, { PATH: "/usr/sbin:/usr/bin" }));
for (const tool of ["curl", "dd"]) {
  if (!have(tool)) {
    console.error(`error: ${tool} is not installed (apt-get install ${tool === "dd" ? "coreutils" : tool})`);
    process.exit(2);
  }
}

const dir = mkdtempSync(join(tmpdir(), "bench-server-http-"));
const data = join(dir, "data");
const admin = generateToken();
const procs: Array<{ kill(sig?: number | NodeJS.Signals): void; exited: Promise<number> }> = [];

const sh = (cmd: string[], opts: { cwd?: string } = {}) => {
  const r = Bun.spawnSync(cmd, { cwd: opts.cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd[0]} failed: ${r.stderr.toString().trim().split("\n").at(-1)}`);
  return r.stdout.toString();
};
const seconds = (fn: () => void) => {
  const t = performance.now();
  fn();
  return (performance.now() - t) / 1000;
};
const mbps = (bytes: number, s: number) => bytes / 1e6 / s;
const rssOf = (pid: number) => Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/)![1]) * 1024;
/** User + system CPU seconds of a process, all its threads (utime and stime of /proc/<pid>/stat, in clock ticks of 1/100 s). */
const cpuOf = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
};
const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

try {
  // Data: an app with one small release (the `latest` target) and the big file on the same disk.
  const s = await openService(data, defaultConfig());
  const app = await s.createApp({ owner: "bench", slug: "tool" }, ReleaseService.operator("bench"));
  const small = await s.putBlob((async function* () { yield new Uint8Array(4096).fill(1); })());
  await s.publishRelease(app, { version: "1.0.0" }, [{ filename: "tool.tgz", blob: small }], ReleaseService.operator("bench"));
  await s.close();
  const big = join(dir, "big.bin");
  sh(["dd", "if=/dev/urandom", `of=${big}`, "bs=1M", `count=${SIZE_MB}`, "status=none"]);
  const mid = join(dir, "mid.bin");
  sh(["dd", "if=/dev/urandom", `of=${mid}`, "bs=1M", "count=100", "status=none"]);
  const bigBytes = SIZE_MB * 1048576;

  const server = Bun.spawn(["bun", MAIN, "serve", "--data", data, "--port", "0", "--host", "127.0.0.1"], {
    env: { ...process.env, RELEASE_SERVER_ADMIN_TOKEN: admin },
    stdout: "pipe",
    stderr: "inherit",
  });
  procs.push(server);
  const reader = (server.stdout as ReadableStream<Uint8Array>).getReader();
  let first = "";
  while (!first.includes("\n")) first += new TextDecoder().decode((await reader.read()).value);
  const url = JSON.parse(first.split("\n")[0]!).url.replace(/\/$/, "");
  // Keep draining the access log so the server never blocks on a full pipe.
  (async () => { while (!(await reader.read()).done); })();
  console.log(`release-server at ${url}, Bun ${Bun.version}, ${SIZE_MB} MiB test file\n`);

  // 1. latest at 64 connections.
  if (have("wrk")) {
    const out = sh(["wrk", "-t2", "-c64", `-d${SECONDS}s`, "--latency", `${url}/api/v3/repos/bench/tool/releases/latest`]);
    const rps = out.match(/Requests\/sec:\s+([\d.]+)/)![1];
    const p50 = out.match(/\s50%\s+([\d.]+\w+)/)![1];
    const p99 = out.match(/\s99%\s+([\d.]+\w+)/)![1];
    const errors = out.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? "0";
    console.log(`releases/latest, 64 connections, ${SECONDS}s: ${rps} requests/s, p50 ${p50}, p99 ${p99}, non-2xx ${errors}`);
  } else console.log("releases/latest: skipped (wrk is not installed)");

  // 2. Peak RSS during 8 concurrent 100 MB uploads.
  const rssBefore = rssOf(server.pid);
  const t8 = performance.now();
  const uploads = Array.from({ length: 8 }, (_, i) =>
    Bun.spawn(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", `Authorization: Bearer ${admin}`, "-H", "Content-Type: application/octet-stream",
      "-X", "POST", "-T", mid, `${url}/apps/bench/tool/upload?name=mid-${i}.bin&version=2.0.${i}`], { stdout: "pipe" }));
  let peak = 0;
  const sampler = setInterval(() => { peak = Math.max(peak, rssOf(server.pid)); }, 20);
  const codes = await Promise.all(uploads.map(async (p) => { await p.exited; return new Response(p.stdout).text(); }));
  clearInterval(sampler);
  const t8s = (performance.now() - t8) / 1000;
  console.log(`8 concurrent 100 MiB uploads: statuses ${[...new Set(codes)].join(",")}, ${t8s.toFixed(1)} s (${mbps(800 * 1048576, t8s).toFixed(0)} MB/s aggregate), ` +
    `server RSS before ${mib(rssBefore)}, peak ${mib(peak)} (+${mib(peak - rssBefore)})`);

  // 3. Upload of the big file vs dd with fsync to the same disk, alternating; server CPU and RSS per upload.
  const uploadBig = async (name: string, version: string, chunked: boolean) => {
    const rss0 = rssOf(server.pid);
    const cpu0 = cpuOf(server.pid);
    let peakRss = rss0;
    const t = performance.now();
    const p = Bun.spawn(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", `Authorization: Bearer ${admin}`, "-H", "Content-Type: application/octet-stream",
      ...(chunked ? ["-H", "Transfer-Encoding: chunked"] : []), "-X", "POST", "-T", big, `${url}/apps/bench/tool/upload?name=${name}&version=${version}`], { stdout: "pipe" });
    const sampler = setInterval(() => { peakRss = Math.max(peakRss, rssOf(server.pid)); }, 10);
    const code = (await new Response(p.stdout).text()).trim();
    await p.exited;
    clearInterval(sampler);
    const s = (performance.now() - t) / 1000;
    if (code !== "201") throw new Error(`upload answered ${code}`);
    return { s, cpu: cpuOf(server.pid) - cpu0, rss: Math.max(peakRss, rssOf(server.pid)) - rss0 };
  };
  const dd = () => {
    const s = seconds(() => sh(["dd", `if=${big}`, `of=${join(data, "dd.out")}`, "bs=1M", "conv=fsync", "status=none"]));
    rmSync(join(data, "dd.out"));
    return s;
  };
  const gib = bigBytes / 1073741824;
  const report = (label: string, ups: Array<{ s: number; cpu: number; rss: number }>, dds: number[]) => {
    const upRate = mbps(bigBytes, median(ups.map((u) => u.s)));
    const ddRate = mbps(bigBytes, median(dds));
    const pairs = ups.map((u, i) => (dds[i]! / u.s).toFixed(2)).join(" ");
    console.log(`${label} ${SIZE_MB} MiB, median of ${ups.length}: release-server ${upRate.toFixed(0)} MB/s, dd conv=fsync ${ddRate.toFixed(0)} MB/s, ` +
      `ratio ${(upRate / ddRate).toFixed(2)} (target >= 0.7; per run ${pairs}); server CPU ${(median(ups.map((u) => u.cpu)) / gib).toFixed(2)} s per GiB; ` +
      `peak RSS growth per upload ${mib(median(ups.map((u) => u.rss)))} (max ${mib(Math.max(...ups.map((u) => u.rss)))})`);
  };
  const up: Array<{ s: number; cpu: number; rss: number }> = [];
  const ddt: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    up.push(await uploadBig(`big-${i}.bin`, `3.0.${i}`, false));
    ddt.push(dd());
  }
  report("upload (Content-Length)", up, ddt);
  const upChunked: Array<{ s: number; cpu: number; rss: number }> = [];
  const ddChunked: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    upChunked.push(await uploadBig(`big-chunked-${i}.bin`, `4.0.${i}`, true));
    ddChunked.push(dd());
  }
  report("upload (chunked)", upChunked, ddChunked);

  // 4. Download of the same file vs nginx.
  if (have("nginx")) await downloads(url, big, bigBytes);
  else console.log("download: skipped (nginx is not installed)");

  if (BACKEND === "postgres+s3") {
    const { backendsBench } = await import("./server-backends.ts");
    await backendsBench({ dir, admin, big, bigBytes, mid, seconds: SECONDS, have, sh, spawnServer, rssOf, mib, mbps, median });
  }
} finally {
  for (const p of procs) p.kill("SIGTERM");
  await Promise.all(procs.map((p) => p.exited));
  rmSync(dir, { recursive: true, force: true });
}

/** Starts `serve` with ARGS on a free loopback port; resolves with its URL once it listens. */
async function spawnServer(args: string[], env: Record<string, string>): Promise<{ url: string; pid: number }> {
  const p = Bun.spawn(["bun", MAIN, "serve", "--port", "0", "--host", "127.0.0.1", ...args], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "inherit" });
  procs.push(p);
  const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
  let first = "";
  while (!first.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`serve ${args.join(" ")} exited before listening`);
    first += new TextDecoder().decode(value);
  }
  // Drain the access log; show what went wrong (errors, 4xx/5xx answers) on stderr.
  (async () => {
    const dec = new TextDecoder();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      for (const line of dec.decode(r.value).split("\n")) if (/"level":"(warn|error)"|"status":[45]\d\d/.test(line)) console.error(line);
    }
  })();
  return { url: JSON.parse(first.split("\n")[0]!).url.replace(/\/$/, ""), pid: p.pid };
}

async function downloads(url: string, big: string, bigBytes: number) {
  const port = await freePort();
  const ngx = join(dir, "nginx");
  mkdirSync(join(ngx, "www"), { recursive: true });
  // nginx serves the very file release-server serves: the stored blob.
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(big).stream()) hasher.update(chunk);
  const hex = hasher.digest("hex");
  sh(["ln", join(data, "blobs", "sha256", hex.slice(0, 2), hex.slice(2, 4), hex), join(ngx, "www", "big.bin")]);
  writeFileSync(join(ngx, "nginx.conf"), `worker_processes 1;
pid ${ngx}/nginx.pid;
error_log ${ngx}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on; tcp_nopush on;
  client_body_temp_path ${ngx}/tmp; proxy_temp_path ${ngx}/tmp; fastcgi_temp_path ${ngx}/tmp; uwsgi_temp_path ${ngx}/tmp; scgi_temp_path ${ngx}/tmp;
  server { listen 127.0.0.1:${port}; root ${ngx}/www; }
}
`);
  const nginx = Bun.spawn(["nginx", "-c", join(ngx, "nginx.conf"), "-g", "daemon off; user root;"], { stderr: "inherit" });
  procs.push(nginx);
  await Bun.sleep(300);
  const get = (u: string) => () => {
    const size = sh(["curl", "-sS", "-o", "/dev/null", "-w", "%{size_download}", u]);
    if (Number(size) !== bigBytes) throw new Error(`${u}: got ${size} bytes`);
  };
  const ours: number[] = [];
  const theirs: number[] = [];
  // Alternating runs, so that load from elsewhere on the machine hits both sides alike.
  for (let i = 0; i < 5; i++) {
    ours.push(seconds(get(`${url}/bench/tool/releases/download/v3.0.0/big-0.bin`)));
    theirs.push(seconds(get(`http://127.0.0.1:${port}/big.bin`)));
  }
  const rates = (xs: number[]) => ({ median: mbps(bigBytes, median(xs)), best: mbps(bigBytes, Math.min(...xs)) });
  const o = rates(ours);
  const n = rates(theirs);
  console.log(`download ${SIZE_MB} MiB, 5 alternating runs: release-server median ${o.median.toFixed(0)} MB/s (best ${o.best.toFixed(0)}), ` +
    `nginx median ${n.median.toFixed(0)} MB/s (best ${n.best.toFixed(0)}), ratio ${(o.median / n.median).toFixed(2)} median, ${(o.best / n.best).toFixed(2)} best (target >= 0.9)`);
}

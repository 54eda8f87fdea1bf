/**
 * A real S3 server that checks SigV4 signatures for the S3 blob store tests: Ceph's radosgw on a
 * single-node cluster (rgw-up.sh), started in a temp directory on loopback ports of its own, and
 * stopped by the PIDs it wrote. About 20 s to start; start it once per test file (beforeAll).
 * The Debian packages are listed in .ci/packages.txt; without them this fails loudly.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from "node:fs";
import { freePort } from "./ports.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Rgw {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  region: string;
  /** Environment for the server process / S3 store (credentials the way Bun reads them). */
  env: Record<string, string>;
  stop(): void;
  /** Stops (SIGSTOP) or resumes (SIGCONT) radosgw: a store that does not answer (connections are accepted, nothing more). */
  freeze(on: boolean): void;
}

const TOOLS = ["ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph", "ceph-authtool", "monmaptool", "curl"];

/** `memstoreBytes`: the OSD's size, all in memory (default 1 GiB, enough for the tests; a benchmark of big uploads needs more). */
export async function startRgw(opts: { memstoreBytes?: number } = {}): Promise<Rgw> {
  const missing = TOOLS.filter((t) => !Bun.which(t, { PATH: `${process.env.PATH}:/usr/sbin:/sbin` }));
  if (missing.length) {
    throw new Error(
      `the S3 tests need Ceph's radosgw (missing: ${missing.join(", ")}): apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common (see .ci/packages.txt)`,
    );
  }
  // Two clusters bootstrapping at once (test files run in parallel) make one's OSD fail with
  // "wrong fsid": bootstraps take turns, through a lock directory shared by the test processes.
  const release = await startLock();
  try {
    // Retries with other ports: a port found free can be taken before the daemon binds it, and on a
    // machine loaded far beyond its cores the OSD can come up without its cluster's fsid ("wrong fsid").
    const failures: string[] = [];
    for (let attempt = 1; ; attempt++) {
      try {
        return await startOnce(opts.memstoreBytes);
      } catch (err) {
        failures.push((err as Error).message);
        // Five tries, 3 to 12 s apart: three tries 2 and 4 s apart all failed once in CI's load.
        if (attempt === 5) throw new Error(`${failures.at(-1)}\n(earlier attempts: ${failures.slice(0, -1).map((m) => m.split("\n")[0]).join("; ")})`);
        await Bun.sleep(3000 * attempt);
      }
    }
  } finally {
    release();
  }
}

/** Waits for the cross-process start lock (a directory; one older than 3 minutes is a crashed holder's). */
async function startLock(): Promise<() => void> {
  const lock = join(tmpdir(), "auditgraph-rgw-start.lock");
  for (;;) {
    try {
      mkdirSync(lock);
      return () => { try { rmdirSync(lock); } catch {} };
    } catch {
      try { if (Date.now() - statSync(lock).mtimeMs > 180_000) rmdirSync(lock); } catch {}
      await Bun.sleep(250);
    }
  }
}

async function startOnce(memstoreBytes = 2 ** 30): Promise<Rgw> {
  const dir = mkdtempSync(join(tmpdir(), "rs-rgw-"));
  const rgwPort = await freePort();
  let monPort = await freePort();
  while (monPort === rgwPort) monPort = await freePort();
  const script = join(import.meta.dir, "rgw-up.sh");
  const proc = Bun.spawn(["sh", script, join(dir, "ceph"), String(rgwPort), String(monPort), String(memstoreBytes)], { stdout: "pipe", stderr: "pipe", env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const stop = () => {
    for (const name of ["client.rgw", "osd.0", "mon.a"]) {
      const pidFile = join(dir, "ceph", "run", `ceph-${name}.pid`);
      if (!existsSync(pidFile)) continue;
      const pid = Number(readFileSync(pidFile, "utf8").trim());
      try {
        if (pid > 0) process.kill(pid, "SIGKILL");
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  };
  if (code !== 0 || !out.includes("rgw ready")) {
    const logDir = join(dir, "ceph", "log");
    const logs = existsSync(logDir)
      ? readdirSync(logDir)
          .map((f) => `--- ${f}\n${readFileSync(join(logDir, f), "utf8").split("\n").slice(-15).join("\n")}`)
          .join("\n")
      : "";
    stop();
    throw new Error(`radosgw did not start (exit ${code}, ports ${rgwPort}/${monPort}):\n${out}\n${err}\n${logs}`);
  }
  const endpoint = `http://127.0.0.1:${rgwPort}`;
  const creds = { accessKeyId: "TESTKEY", secretAccessKey: "TESTSECRET" };
  return {
    endpoint,
    ...creds,
    bucket: "releases",
    region: "us-east-1",
    env: { S3_ACCESS_KEY_ID: creds.accessKeyId, S3_SECRET_ACCESS_KEY: creds.secretAccessKey },
    stop,
    freeze(on: boolean) {
      const pid = Number(readFileSync(join(dir, "ceph", "run", "ceph-client.rgw.pid"), "utf8").trim());
      if (pid > 0) process.kill(pid, on ? "SIGSTOP" : "SIGCONT");
    },
  };
}

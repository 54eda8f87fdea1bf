/**
 * A real PostgreSQL 15 server for the tests: a throwaway cluster (initdb) in a temp directory,
 * listening on a free loopback port, started once per test file (beforeAll, about 1-2 s) and
 * stopped by its data directory (pg_ctl stop -m immediate). initdb refuses to run as root, so as
 * root the cluster belongs to the `postgres` user (runuser). Debian's postgresql-15 package is
 * listed in .ci/packages.txt; without it this fails loudly.
 */
import { SQL } from "bun";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { afterAll, beforeAll } from "bun:test";
import { freePort } from "./ports.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN = "/usr/lib/postgresql/15/bin";

export interface Postgres {
  /** The server's `postgres` database (for administration). */
  url: string;
  /** A new, empty database on this server; its URL. */
  createDatabase(): Promise<string>;
  /** Stops (SIGSTOP) or resumes (SIGCONT) the server and every backend it forked: a server that does not answer (nothing once stopped). */
  freeze(on: boolean): void;
  stop(): Promise<void>;
}

function run(cmd: string[], asPostgres: boolean): { code: number; out: string } {
  const argv = asPostgres ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd;
  const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode ?? -1, out: p.stdout.toString() + p.stderr.toString() };
}

export async function startPostgres(): Promise<Postgres> {
  for (const tool of ["initdb", "pg_ctl"]) {
    if (!existsSync(join(BIN, tool))) {
      throw new Error(`the PostgreSQL tests need ${join(BIN, tool)}: apt-get install -y --no-install-recommends postgresql-15 (see .ci/packages.txt)`);
    }
  }
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "rs-pg-"));
  const data = join(dir, "data");
  if (root) {
    chmodSync(dir, 0o777);
    const chown = Bun.spawnSync(["install", "-d", "-o", "postgres", "-m", "700", data]);
    if (chown.exitCode !== 0) throw new Error(`cannot create ${data} for the postgres user: ${chown.stderr.toString()}`);
  }
  const init = run([join(BIN, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"], root);
  if (init.code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed:\n${init.out}`);
  }
  const port = await freePort();
  const opts = `-c listen_addresses=127.0.0.1 -p ${port} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c unix_socket_directories=${data} -c max_connections=200`;
  const start = run([join(BIN, "pg_ctl"), "-D", data, "-o", opts, "-l", join(data, "log"), "-w", "-t", "60", "start"], root);
  if (start.code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`pg_ctl start failed:\n${start.out}`);
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const admin = new SQL({ url, max: 2 });
  let n = 0;
  return {
    url,
    async createDatabase() {
      const name = `t${process.pid}_${++n}`;
      await admin.unsafe(`CREATE DATABASE ${name}`);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    freeze(on: boolean) {
      let pid: number;
      try { pid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]); } catch { return; } // stopped: nothing to freeze or thaw
      const sig = on ? "STOP" : "CONT";
      // The backends first when freezing (the server would otherwise notice nothing), the server first when thawing.
      const children = () => Bun.spawnSync(["pkill", `-${sig}`, "-P", String(pid)]);
      const server = () => Bun.spawnSync(["kill", `-${sig}`, String(pid)]);
      if (on) { children(); server(); } else { server(); children(); }
    },
    async stop() {
      await admin.close().catch(() => {});
      run([join(BIN, "pg_ctl"), "-D", data, "-m", "immediate", "stop"], root);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One PostgreSQL server for the calling test file: started before its tests, stopped after them. */
export function usePostgres(): () => Postgres {
  let pg: Postgres | undefined;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
  });
  return () => pg!;
}

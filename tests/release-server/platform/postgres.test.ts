/**
 * The PostgreSQL repositories against a real server (support/postgres.ts starts one for this file):
 * the one repository contract, migrations under the advisory lock (replicas starting together
 * migrate once), and a database newer than the binary refused with exit 9.
 */
import { describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultConfig } from "../../../src/release-server/config.ts";
import { openService, ReleaseService } from "../../../src/release-server/service.ts";
import { LATEST_SCHEMA, MIGRATIONS } from "../../../src/release-server/storage/migrations.ts";
import { migratePostgres, PG_MIGRATIONS } from "../../../src/release-server/storage/postgres-migrations.ts";
import { openPostgres } from "../../../src/release-server/storage/postgres.ts";
import { startPostgres, usePostgres, type Postgres } from "../support/postgres.ts";
import { auth, startServer, tempData, type Running } from "../http/server.ts";
import { chunks, CLI, REPO, tempDir } from "./fixtures.ts";
import { repositoryContract } from "./repository.contract.ts";

const pg = usePostgres();

repositoryContract("postgres", async () => {
  const url = await pg().createDatabase();
  const repos = await openPostgres(url);
  const others: Array<{ close(): Promise<void> }> = [];
  return {
    repos,
    replica: async () => {
      const r = await openPostgres(url);
      others.push(r);
      return r;
    },
    async done() {
      for (const r of others) await r.close();
      await repos.close();
    },
  };
});

/** Starts `release-server serve` on the database; resolves with its log lines once it listens. */
async function serve(url: string, dataDir: string, env: Record<string, string> = {}) {
  const proc = Bun.spawn(["bun", CLI, "serve", "--port", "0", "--data", dataDir], {
    cwd: REPO,
    env: { ...process.env, RELEASE_SERVER_DATABASE_URL: url, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: Array<Record<string, unknown>> = [];
  // Read the log as it comes (also after startup: the tests look at later lines).
  const pump = (async () => {
    let buf = "";
    for await (const chunk of proc.stdout) {
      buf += new TextDecoder().decode(chunk);
      const parts = buf.split("\n");
      buf = parts.pop()!;
      for (const p of parts) if (p.trim()) lines.push(JSON.parse(p));
    }
  })();
  const deadline = Date.now() + 30_000;
  while (!lines.some((l) => l.msg === "database")) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`serve did not start (${proc.exitCode}): ${await new Response(proc.stderr).text()}`);
    await Bun.sleep(20);
  }
  return { proc, lines, pump, url: String(lines.find((l) => l.msg === "listening")!.url) };
}

describe("PostgreSQL migrations", () => {
  test("the same versions as SQLite's", () => {
    expect(PG_MIGRATIONS.map((m) => [m.version, m.name])).toEqual(MIGRATIONS.map((m) => [m.version, m.name]));
  });

  test("two openers at once: one applies every migration, the other waits for it and applies none", async () => {
    const url = await pg().createDatabase();
    const a = new SQL({ url, max: 2 });
    const b = new SQL({ url, max: 2 });
    try {
      const results = await Promise.all([migratePostgres(a, "a"), migratePostgres(b, "b")]);
      expect(results.map((r) => r.length).sort()).toEqual([0, LATEST_SCHEMA]);
      expect(results.flat()).toEqual(MIGRATIONS.map((m) => m.version));
      const rows = await a`SELECT version FROM schema_migrations ORDER BY version`;
      expect(rows.map((r: { version: number }) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("a database of schema 3 (releases unique by version) keeps its rows; then tags of one version coexist", async () => {
    const url = await pg().createDatabase();
    const sql = new SQL({ url, max: 1 });
    try {
      await sql.unsafe(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
      for (const m of PG_MIGRATIONS.filter((m) => m.version <= 3)) {
        if (m.sql.trim()) await sql.unsafe(m.sql);
        await sql`INSERT INTO schema_migrations (version, name) VALUES (${m.version}, ${m.name})`;
      }
      await sql`INSERT INTO apps (owner, slug, display_name, bundle_ids, visibility, created_at, updated_at) VALUES ('acme', 'tool', 'Tool', '{}', 'public', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`;
      const insert = (version: string, tag: string) =>
        sql`INSERT INTO releases (app_id, version, tag, draft, prerelease, created_by, created_at, published_at, version_key)
            VALUES (1, ${version}, ${tag}, false, false, 't', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '')`;
      await insert("1.0.0", "v1.0.0");
      expect(await insert("1.0.0", "1.0.0").then(() => "inserted", (e) => String(e))).toContain("releases_by_version");
    } finally {
      await sql.close();
    }
    const repos = await openPostgres(url);
    try {
      const first = await repos.releases.byTag(1, "v1.0.0");
      expect(first?.version).toBe("1.0.0");
      const again = await repos.releases.create({ ...first!, id: undefined, tag: "1.0.0", created_at: "2026-01-02T00:00:00Z" } as never);
      expect(again.version).toBe("1.0.0");
      expect((await repos.releases.byVersion(1, "1.0.0"))?.id).toBe(first!.id);
      await expect(repos.releases.create({ ...first!, id: undefined } as never)).rejects.toMatchObject({ kind: "conflict" });
    } finally {
      await repos.close();
    }
  });

  test("two servers started together on one database migrate it once and both serve", async () => {
    using tmp = tempDir();
    const url = await pg().createDatabase();
    const servers = await Promise.all([serve(url, join(tmp.dir, "a")), serve(url, join(tmp.dir, "b"))]);
    try {
      const migrated = servers.map((s) => s.lines.find((l) => l.msg === "database")!.migrated as number[]);
      expect(migrated.map((m) => m.length).sort()).toEqual([0, LATEST_SCHEMA]);
      for (const s of servers) {
        expect(s.lines.find((l) => l.msg === "database")).toMatchObject({ kind: "postgres" });
        expect((await fetch(new URL("/readyz", s.url))).status).toBe(200);
      }
    } finally {
      for (const s of servers) s.proc.kill("SIGTERM");
      await Promise.all(servers.map((s) => s.proc.exited));
    }
  }, 60_000);

  test("a database newer than the binary is refused (exit 9) and left untouched", async () => {
    using tmp = tempDir();
    const url = await pg().createDatabase();
    await (await openPostgres(url)).close();
    const sql = new SQL({ url, max: 1 });
    try {
      await sql`INSERT INTO schema_migrations (version, name) VALUES (99, 'from the future')`;
      const err = await openPostgres(url).then(
        () => undefined,
        (e) => e,
      );
      expect(err).toMatchObject({ exitCode: 9, code: "database_newer" });
      expect(err.message).toContain("has schema version 99, newer than this release-server supports");
      expect(err.message).not.toContain("password");
      const cli = Bun.spawnSync(["bun", CLI, "migrate", "--data", join(tmp.dir, "data")], {
        cwd: REPO,
        env: { ...process.env, RELEASE_SERVER_DATABASE_URL: url },
      });
      expect(cli.exitCode).toBe(9);
      expect(cli.stderr.toString()).toContain("newer than this release-server supports");
      const [row] = await sql`SELECT max(version) AS v FROM schema_migrations`;
      expect(Number(row.v)).toBe(99);
    } finally {
      await sql.close();
    }
  }, 30_000);

  test("an unreachable database is one error line naming it (password masked), exit 1", () => {
    using tmp = tempDir();
    const url = pg().url.replace(/:\d+\//, ":1/").replace("postgres@", "postgres:s3cret@");
    const cli = Bun.spawnSync(["bun", CLI, "migrate", "--data", join(tmp.dir, "data")], { cwd: REPO, env: { ...process.env, RELEASE_SERVER_DATABASE_URL: url } });
    const err = cli.stderr.toString();
    expect(cli.exitCode).toBe(1);
    expect(err).toStartWith("error: cannot use database postgres://postgres:***@127.0.0.1:1/postgres: ");
    expect(err).not.toContain("s3cret");
    expect(err).not.toContain("    at ");
  });

  test("a database URL that does not parse (a bad port, a bracket, a stray %) is a usage error naming the setting, exit 2, never an internal error", () => {
    using tmp = tempDir();
    for (const url of ["postgres://u:s3cret@127.0.0.1:99999/db", "postgres://[bad", "postgres://u:s3cret%@127.0.0.1/db"]) {
      const cli = Bun.spawnSync(["bun", CLI, "migrate", "--data", join(tmp.dir, "data")], { cwd: REPO, env: { ...process.env, RELEASE_SERVER_DATABASE_URL: url } });
      const err = cli.stderr.toString();
      expect({ url, code: cli.exitCode }).toEqual({ url, code: 2 });
      expect(err).toStartWith("error: RELEASE_SERVER_DATABASE_URL ");
      expect(err).not.toContain("internal error");
      expect(err).not.toContain("s3cret");
    }
    const config = join(tmp.dir, "bad.yaml");
    writeFileSync(config, 'storage:\n  database: "postgres://u@127.0.0.1:0/db"\n');
    const fromFile = Bun.spawnSync(["bun", CLI, "migrate", "--data", join(tmp.dir, "data"), "--config", config], { cwd: REPO, env: { ...process.env, RELEASE_SERVER_DATABASE_URL: "" } });
    expect(fromFile.exitCode).toBe(2);
    expect(fromFile.stderr.toString()).toStartWith(`error: ${config}:2: storage.database: has port 0`);
  });

  test("a password in the URL never reaches a message", async () => {
    const url = (await pg().createDatabase()).replace("postgres@", "postgres:s3cret@");
    const sql = new SQL({ url, max: 1 });
    try {
      await migratePostgres(sql, "x");
      await sql`INSERT INTO schema_migrations (version, name) VALUES (98, 'from the future')`;
    } finally {
      await sql.close();
    }
    const err = await openPostgres(url).then(
      () => undefined,
      (e) => e as Error,
    );
    expect(err?.message).toContain("postgres://postgres:***@127.0.0.1");
    expect(err?.message).not.toContain("s3cret");
  });
});

describe("the background retention sweep", () => {
  test("two servers sweeping one database: the releases go once, and each server logs its rounds", async () => {
    using tmp = tempDir();
    const url = await pg().createDatabase();
    const seedConfig = defaultConfig();
    seedConfig.storage.database = url;
    const seed = await openService(join(tmp.dir, "seed"), seedConfig);
    const op = ReleaseService.operator("cli:test");
    const app = await seed.createApp({ owner: "acme", slug: "tool" }, op);
    for (const v of ["1.0.0", "1.1.0", "1.2.0", "1.3.0"]) {
      await seed.publishRelease(app, { version: v }, [{ filename: `t-${v}.txt`, blob: await seed.putBlob(chunks(v)) }], op);
    }
    await seed.close();
    const config = join(tmp.dir, "server.yaml");
    writeFileSync(config, "retention:\n  default: { keep_last: 1 }\n  channels: {}\n  sweep_minutes: 0.005\n");
    const servers = await Promise.all(["a", "b"].map((n) => serve(url, join(tmp.dir, n), { RELEASE_SERVER_CONFIG: config })));
    const sql = new SQL({ url, max: 1 });
    try {
      const deadline = Date.now() + 20_000;
      const count = async () => Number((await sql`SELECT count(*) AS n FROM releases`)[0].n);
      while ((await count()) > 1 && Date.now() < deadline) await Bun.sleep(100);
      expect(await count()).toBe(1);
      await Bun.sleep(1500); // more rounds on both servers: nothing left to delete, nothing deleted twice
      const deletes = await sql`SELECT target_id FROM audit_events WHERE action = 'release.delete'`;
      expect(deletes).toHaveLength(3);
      expect(new Set(deletes.map((r: { target_id: string }) => r.target_id)).size).toBe(3);
    } finally {
      await sql.close();
      for (const s of servers) s.proc.kill("SIGTERM");
      await Promise.all(servers.map((s) => s.proc.exited));
      await Promise.all(servers.map((s) => s.pump));
    }
    for (const s of servers) {
      const rounds = s.lines.filter((l) => l.msg === "retention");
      expect(rounds.length).toBeGreaterThan(0);
      expect(rounds.every((r) => r.level === "info")).toBe(true);
    }
  }, 60_000);
});

/**
 * A server on a PostgreSQL of its own (the test may freeze or stop it), both gone afterwards
 * whatever the test did to them.
 */
async function onOwnPostgres(test: (own: Postgres, srv: Running) => Promise<void>, config?: string): Promise<void> {
  const own = await startPostgres();
  let srv: Running | undefined;
  try {
    const t = tempData();
    const args: string[] = [];
    if (config !== undefined) { writeFileSync(join(t.dir, "release-server.yaml"), config); args.push("--config", join(t.dir, "release-server.yaml")); }
    srv = await startServer({ ...t, args, env: { RELEASE_SERVER_DATABASE_URL: await own.createDatabase() } });
    await test(own, srv);
  } finally {
    own.freeze(false);
    srv?.proc.kill("SIGKILL");
    await own.stop().catch(() => {});
  }
}

describe("readiness", () => {
  test("a database that does not answer (frozen): /readyz is 503 within a few seconds, not a hang; ready again once it answers", () => onOwnPostgres(async (own, srv) => {
    expect((await fetch(`${srv.url}/readyz`)).status).toBe(200);
    own.freeze(true);
    const t0 = Date.now();
    const r = await fetch(`${srv.url}/readyz`, { signal: AbortSignal.timeout(20_000) });
    expect({ status: r.status, prompt: Date.now() - t0 < 10_000 }).toEqual({ status: 503, prompt: true });
    expect(((await r.json()) as { message: string }).message).toContain("the database did not answer within 2 s");
    own.freeze(false);
    let ready = 0;
    for (let i = 0; i < 50 && ready !== 200; i++) { ready = (await fetch(`${srv.url}/readyz`)).status; if (ready !== 200) await Bun.sleep(200); }
    expect(ready).toBe(200);
  }), 60_000);
});

/** A database of its own (so it can be frozen) and repositories with a 1 s deadline; thawed, closed and stopped after `fn`, however it ends. */
async function onFreezable(fn: (repos: Awaited<ReturnType<typeof openPostgres>>, own: Postgres) => Promise<void>): Promise<void> {
  const own = await startPostgres();
  try {
    const repos = await openPostgres(await own.createDatabase(), { timeoutMs: 1000 });
    try {
      await fn(repos, own);
    } finally {
      own.freeze(false); // a failed expectation must not leave close() waiting on a frozen database
      await repos.close();
    }
  } finally {
    own.freeze(false);
    await own.stop().catch(() => {});
  }
}

/** An app row to write. */
const appRow = (owner: string, slug = "write") => ({ owner, slug, display_name: owner, bundle_ids: {}, visibility: "public" as const, created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z" });

describe("deadlines", () => {
  test("a transaction whose start passes the deadline (a frozen database) is unavailable at once, and rolls back when the database answers after", () => onFreezable(async (repos, own) => {
    own.freeze(true);
    const t0 = Date.now();
    let ran = false;
    const err = await repos.transaction(async () => {
      ran = true;
      await repos.apps.create(appRow("late"));
    }).then(() => undefined, (e: { kind?: string; message?: string }) => e);
    expect({ kind: err?.kind, message: err?.message, prompt: Date.now() - t0 < 5_000 }).toEqual({ kind: "unavailable", message: "the database did not answer within 1 s; try again later", prompt: true });
    own.freeze(false);
    // The BEGIN sent while frozen is answered now: the transaction it starts must not run its writes.
    let apps: unknown[] = [];
    for (let i = 0; i < 20; i++) { apps = await repos.apps.list(); await Bun.sleep(100); }
    expect({ ran, apps }).toEqual({ ran: false, apps: [] });
  }), 60_000);

  test("COMMIT has no deadline: a transaction whose work succeeded waits for a database that stopped answering, then succeeds, its write kept (a 503 there could be a commit that lands)", () => onFreezable(async (repos, own) => {
    let settled: string | undefined;
    const done = repos.transaction(async () => {
      await repos.apps.create(appRow("kept"));
      own.freeze(true); // the COMMIT that follows waits for the database
      return "committed";
    }).then((v) => (settled = v), (e: Error) => (settled = `error: ${e.message}`));
    await Bun.sleep(2_500); // past the 1 s deadline
    expect(settled).toBeUndefined();
    own.freeze(false);
    await done;
    expect(settled).toBe("committed");
    expect((await repos.apps.list()).map((a) => a.owner)).toEqual(["kept"]);
  }), 60_000);

  test("a transaction whose work fails answers its caller at once while the rollback waits for a database that stopped answering; nothing it wrote stays", () => onFreezable(async (repos, own) => {
    const t0 = Date.now();
    const err = await repos.transaction(async () => {
      await repos.apps.create(appRow("doomed"));
      own.freeze(true); // the ROLLBACK that follows waits for the database
      throw new Error("the work failed");
    }).then(() => undefined, (e: Error) => e);
    expect({ message: err?.message, prompt: Date.now() - t0 < 3_000 }).toEqual({ message: "the work failed", prompt: true });
    own.freeze(false);
    let apps: unknown[] = [{}];
    for (let i = 0; i < 50 && apps.length; i++) { apps = await repos.apps.list(); await Bun.sleep(100); }
    expect(apps).toEqual([]);
  }), 60_000);

  test("a transaction that waits for the write lock past the deadline is unavailable, and writes nothing when it gets the lock after", async () => {
    const repos = await openPostgres(await pg().createDatabase(), { timeoutMs: 1000 });
    let entered!: () => void, release = () => {};
    try {
      const app = (slug: string) => appRow("lock", slug);
      const inside = new Promise<void>((r) => { entered = r; });
      const held = new Promise<void>((r) => { release = r; });
      // The first transaction holds the write lock (it has written) until released.
      const first = repos.transaction(async () => { await repos.apps.create(app("first")); entered(); await held; });
      await inside;
      const t0 = Date.now();
      let ran = false;
      const err = await repos.transaction(async () => { ran = true; await repos.apps.create(app("second")); })
        .then(() => undefined, (e: { kind?: string; message?: string }) => e);
      expect({ kind: err?.kind, message: err?.message, prompt: Date.now() - t0 < 5_000 }).toEqual({ kind: "unavailable", message: "the database did not answer within 1 s; try again later", prompt: true });
      release();
      await first;
      // The second's wait for the lock ends when the first commits: it must roll back, not write.
      let slugs: string[] = [];
      for (let i = 0; i < 10; i++) { slugs = (await repos.apps.list()).map((a) => a.slug).sort(); await Bun.sleep(100); }
      expect({ ran, slugs }).toEqual({ ran: false, slugs: ["first"] });
    } finally {
      release(); // a failed expectation must not leave the first transaction holding the lock
      await repos.close();
    }
  }, 60_000);

  test("a database that does not answer (frozen): reads and writes are 503 after storage.timeout_seconds, not a hang; served again once it answers", () => onOwnPostgres(async (own, srv) => {
    const api = `${srv.url}/api/v3/repos/acme/tool/releases`;
    const get = () => fetch(api, { headers: auth(srv.admin), signal: AbortSignal.timeout(20_000) });
    const post = () => fetch(api, { method: "POST", headers: { ...auth(srv.admin), "content-type": "application/json" }, body: JSON.stringify({ tag_name: "v1.0.0" }), signal: AbortSignal.timeout(20_000) });
    expect((await get()).status).toBe(404); // no such app: the database answered
    own.freeze(true);
    for (const [what, call] of [["read", get], ["write", post], ["read again", get]] as const) {
      const t0 = Date.now();
      const r = await call();
      const body = (await r.json()) as { message: string };
      expect({ what, status: r.status, prompt: Date.now() - t0 < 8_000, retry: r.headers.get("retry-after") }).toEqual({ what, status: 503, prompt: true, retry: "5" });
      expect(body.message).toBe("the database did not answer within 1 s; try again later");
    }
    own.freeze(false);
    let status = 0;
    for (let i = 0; i < 50 && status !== 404; i++) { status = (await get()).status; if (status !== 404) await Bun.sleep(200); }
    expect(status).toBe(404);
    expect(srv.proc.exitCode).toBeNull();
  }, "storage:\n  timeout_seconds: 1\n"), 60_000);
});

describe("shutdown", () => {
  test("SIGTERM after the database went away: the batched counters cannot be flushed, so an error log line and exit 1, promptly (not a hang)", () => onOwnPostgres(async (own, srv) => {
    // an authenticated request: the token's last use waits in the batch for the next flush
    expect((await fetch(`${srv.url}/api/v3/`, { headers: auth(srv.admin) })).status).toBe(200);
    await own.stop();
    srv.proc.kill("SIGTERM");
    const code = await Promise.race([srv.proc.exited, Bun.sleep(30_000).then(() => "still running after 30 s")]);
    expect(code).toBe(1);
    expect(JSON.parse(srv.logs.at(-1)!)).toMatchObject({ level: "error", msg: "stopped", error: expect.stringContaining("could not flush batched counters") });
  }), 60_000);
});

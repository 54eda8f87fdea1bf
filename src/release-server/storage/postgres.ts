/**
 * PostgreSQL repositories on Bun's built-in client (`SQL` from "bun"): the same queries and the
 * same contract as SQLite, for several stateless replicas sharing one database.
 *
 * - Transactions run on one pooled connection (`sql.begin`); calls made inside one (tracked with
 *   AsyncLocalStorage, so nested `transaction` calls join it) use that connection, every other call
 *   uses the pool. Each transaction first takes the write lock, a transaction-scoped advisory lock
 *   (`pg_advisory_xact_lock`), so writers of all replicas queue as SQLite's BEGIN IMMEDIATE makes
 *   processes queue: the service's read-check-write steps (a tag that must not exist yet, a channel's
 *   previous release) see the state they change. Readers never wait for it.
 * - A unique violation (SQLSTATE 23505) becomes `Conflict`, as SQLite's UNIQUE constraint does.
 * - Text columns use the "C" collation, so orderings and the version key compare bytes as SQLite
 *   does, whatever the database's locale.
 * - `exclusive(name)` holds a session advisory lock (`pg_try_advisory_lock`) on a reserved
 *   connection; it is released with the connection if the process dies.
 * - Every call has a deadline (`storage.timeout_seconds`): a query, taking a connection for
 *   `exclusive`, a transaction's start (connection, BEGIN) and its wait for the write lock. A
 *   database that does not answer (frozen, a network that drops packets) makes the call
 *   `Unavailable` (HTTP 503) then; it hung the request as long as the database did. An abandoned
 *   query goes on and its connection comes back to the pool once the database answers again; a
 *   transaction that begins after its caller gave up rolls back; COMMIT has no deadline (see
 *   `transaction`).
 */
import { SQL } from "bun";
import { AsyncLocalStorage } from "node:async_hooks";
import { deadline } from "../../shared/deadline.ts";
import { AgError } from "../../shared/errors.ts";
import { Conflict, ServerExit, Unavailable } from "../domain/errors.ts";
import type { App, Artifact, AuditEvent, Channel, Release, Token } from "../domain/model.ts";
import type { AuditFilter, NewApp, NewArtifact, NewAuditEvent, NewRelease, NewToken, Repositories } from "../domain/repository.ts";
import { versionKey } from "../domain/versions.ts";
import { migratePostgres } from "./postgres-migrations.ts";
import { draftFilter, newestWithArtifactSql } from "./sql.ts";

type Row = Record<string, any>;
type Exec = SQL;

/** Advisory lock keys: (namespace, id). The namespace spells "rlsv". */
const LOCK_NAMESPACE = 0x726c7376;
/** 1 is the migration lock (postgres-migrations.ts). */
const LOCK_WRITE = 2;
/** Named locks (`exclusive`) live in their own namespace, keyed by a hash of the name. */
const NAMED_NAMESPACE = 0x726c736e;

const json = (s: string) => JSON.parse(s);
const num = (v: unknown) => (v === null || v === undefined ? v : Number(v));

const toApp = (r: Row): App => ({ ...r, bundle_ids: json(r.bundle_ids) }) as App;
const toRelease = ({ version_key: _key, ...r }: Row): Release => r as Release;
const toArtifact = (r: Row): Artifact =>
  ({ ...r, size_bytes: num(r.size_bytes), download_count: num(r.download_count), metadata: json(r.metadata), state: "uploaded" }) as Artifact;
const toChannel = (r: Row): Channel => ({ ...r, rollout_percent: Number(r.rollout_percent), policy: json(r.policy) }) as Channel;
const toToken = (r: Row): Token => ({ ...r, scopes: json(r.scopes) }) as Token;
const toEvent = (r: Row): AuditEvent => ({ ...r, metadata: json(r.metadata) }) as AuditEvent;

/** "?" placeholders (as in sqlite.ts) → PostgreSQL's "$1", "$2", ... */
const numbered = (text: string) => {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
};

function fnv32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193);
  return h | 0;
}

const isUniqueViolation = (err: unknown) => err instanceof SQL.PostgresError && err.errno === "23505";

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "postgres://…";
  }
}

/** Connects, migrates (under the migration lock) and returns the repositories. */
export async function openPostgres(url: string, opts: { max?: number; applied?: number[]; timeoutMs?: number } = {}): Promise<Repositories> {
  const sql = new SQL({ url, max: opts.max ?? 10 });
  try {
    const applied = await migratePostgres(sql, redactUrl(url));
    opts.applied?.push(...applied);
  } catch (err) {
    await sql.close().catch(() => {});
    if (err instanceof AgError) throw err; // a database newer than this binary (exit 9)
    throw new AgError(`cannot use database ${redactUrl(url)}: ${err instanceof Error ? err.message : String(err)}`, {
      exitCode: ServerExit.internal,
      code: "database_unavailable",
      hint: "check storage.database or RELEASE_SERVER_DATABASE_URL, and that the PostgreSQL server accepts this user",
    });
  }
  return postgresRepositories(sql, opts.timeoutMs ?? 0);
}

/** The error of a call past its deadline. */
const late = (ms: number) => new Unavailable(`the database did not answer within ${ms / 1000} s; try again later`);


function postgresRepositories(sql: SQL, timeoutMs: number): Repositories {
  const als = new AsyncLocalStorage<Exec>();
  const exec = (): Exec => als.getStore() ?? sql;
  const run = async (text: string, params: unknown[] = []): Promise<Row[]> => (await deadline(Promise.resolve(exec().unsafe(numbered(text), params as any[])), timeoutMs, () => late(timeoutMs))) as Row[];
  const one = async <T>(text: string, map: (r: Row) => T, ...params: unknown[]): Promise<T | undefined> => {
    const rows = await run(text, params);
    return rows.length ? map(rows[0]!) : undefined;
  };
  const many = async <T>(text: string, map: (r: Row) => T, ...params: unknown[]): Promise<T[]> => (await run(text, params)).map(map);
  const count = async (text: string, ...params: unknown[]): Promise<number> => Number((await run(text, params))[0]!.n);
  const value = (v: unknown) => (v !== null && typeof v === "object" ? JSON.stringify(v) : (v ?? null));
  const unique = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (isUniqueViolation(err)) throw new Conflict(what);
      throw err;
    }
  };
  const insert = async (table: string, rec: Row): Promise<number> => {
    // An id is always the database's (a record passed back in may carry `id: undefined`).
    const cols = Object.keys(rec).filter((c) => c !== "id" && rec[c] !== undefined);
    const rows = await run(`INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")}) RETURNING id`, cols.map((c) => value(rec[c])));
    return Number(rows[0]!.id);
  };
  const update = async (table: string, id: number, patch: Row) => {
    const cols = Object.keys(patch).filter((c) => patch[c] !== undefined);
    if (cols.length === 0) return;
    await run(`UPDATE ${table} SET ${cols.map((c) => `${c} = ?`).join(", ")} WHERE id = ?`, [...cols.map((c) => value(patch[c])), id]);
  };

  const apps = {
    async create(a: NewApp): Promise<App> {
      const id = await unique(`app ${a.owner}/${a.slug} already exists`, () => insert("apps", a));
      return { id, ...a };
    },
    get: (id: number) => one("SELECT * FROM apps WHERE id = ?", toApp, id),
    bySlug: (owner: string, slug: string) => one("SELECT * FROM apps WHERE owner = ? AND slug = ?", toApp, owner, slug),
    list: () => many("SELECT * FROM apps ORDER BY owner, slug", toApp),
  };

  const releases = {
    async create(r: NewRelease): Promise<Release> {
      const id = await unique(`tag ${r.tag} already exists`, () => insert("releases", { ...r, version_key: versionKey(r.version) }));
      return { id, ...r };
    },
    get: (id: number) => one("SELECT * FROM releases WHERE id = ?", toRelease, id),
    byTag: (appId: number, tag: string) => one("SELECT * FROM releases WHERE app_id = ? AND tag = ?", toRelease, appId, tag),
    byVersion: (appId: number, version: string) =>
      one("SELECT * FROM releases WHERE app_id = ? AND version = ? ORDER BY created_at, id LIMIT 1", toRelease, appId, version),
    async list(appId: number, page: { offset: number; limit: number; drafts: boolean | string[] }) {
      const { sql: visible, params: channels } = draftFilter(page.drafts, "");
      const where = `app_id = ?${visible}`;
      const order = "ORDER BY created_at DESC, id DESC";
      const items = await many(`SELECT * FROM releases WHERE ${where} ${order} LIMIT ? OFFSET ?`, toRelease, appId, ...channels, page.limit, page.offset);
      const total = await count(`SELECT count(*) AS n FROM releases WHERE ${where}`, appId, ...channels);
      return { items, total };
    },
    all: (appId: number) => many("SELECT * FROM releases WHERE app_id = ? ORDER BY created_at DESC, id DESC", toRelease, appId),
    newestWithArtifact(appId: number, filename: string, drafts: boolean | string[]) {
      const { sql: visible, params } = draftFilter(drafts, "r.");
      return one(newestWithArtifactSql(visible), toRelease, appId, filename, appId, ...params);
    },
    latestPublished: (appId: number, notAfter?: Release) =>
      notAfter
        ? one(
          `SELECT * FROM releases WHERE app_id = ? AND NOT draft AND NOT prerelease AND published_at IS NOT NULL
             AND (version_key, created_at, id) < (?, ?, ?) ORDER BY version_key DESC, created_at DESC, id DESC LIMIT 1`,
          toRelease,
          appId,
          versionKey(notAfter.version),
          notAfter.created_at,
          notAfter.id,
        )
        : one(
          `SELECT * FROM releases WHERE app_id = ? AND NOT draft AND NOT prerelease AND published_at IS NOT NULL
             ORDER BY version_key DESC, created_at DESC, id DESC LIMIT 1`,
          toRelease,
          appId,
        ),
    async update(id: number, patch: Partial<Release>): Promise<Release> {
      const row: Row = patch.version === undefined ? patch : { ...patch, version_key: versionKey(patch.version) };
      await unique(`tag ${patch.tag} already exists`, () => update("releases", id, row));
      return (await releases.get(id))!;
    },
    async delete(id: number) {
      await run("DELETE FROM releases WHERE id = ?", [id]);
    },
  };

  const artifacts = {
    async create(a: NewArtifact): Promise<Artifact> {
      const { state: _state, ...row } = a;
      const id = await unique(`artifact ${a.filename} already exists in this release`, () => insert("artifacts", row));
      return { id, ...a };
    },
    get: (id: number) => one("SELECT * FROM artifacts WHERE id = ?", toArtifact, id),
    byName: (releaseId: number, filename: string) => one("SELECT * FROM artifacts WHERE release_id = ? AND filename = ?", toArtifact, releaseId, filename),
    listByRelease: (releaseId: number) => many("SELECT * FROM artifacts WHERE release_id = ? ORDER BY id", toArtifact, releaseId),
    async update(id: number, patch: Partial<Artifact>): Promise<Artifact> {
      await unique(`artifact ${patch.filename} already exists in this release`, () => update("artifacts", id, patch));
      return (await artifacts.get(id))!;
    },
    countBySha: (sha256: string) => count("SELECT count(*) AS n FROM artifacts WHERE sha256 = ?", sha256),
    referencedShas: async () => new Set((await run("SELECT DISTINCT sha256 FROM artifacts")).map((r) => r.sha256 as string)),
    async delete(id: number) {
      await run("DELETE FROM artifacts WHERE id = ?", [id]);
    },
    async addDownloads(counts: Map<number, number>) {
      if (counts.size === 0) return;
      // One statement: each row gains its count (an increment, so batches of replicas add up).
      const ids = [...counts.keys()];
      await run(
        `UPDATE artifacts SET download_count = artifacts.download_count + c.n
           FROM (SELECT * FROM unnest(?::int[], ?::bigint[]) AS t(id, n)) AS c WHERE artifacts.id = c.id`,
        [`{${ids.join(",")}}`, `{${ids.map((id) => counts.get(id)).join(",")}}`],
      );
    },
  };

  const channels = {
    get: (appId: number, name: string) => one("SELECT * FROM channels WHERE app_id = ? AND name = ?", toChannel, appId, name),
    list: (appId: number) => many("SELECT * FROM channels WHERE app_id = ? ORDER BY name", toChannel, appId),
    async put(c: Channel): Promise<Channel> {
      await run(
        `INSERT INTO channels (app_id, name, current_release_id, previous_release_id, rollout_percent, policy, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (app_id, name) DO UPDATE SET current_release_id = excluded.current_release_id,
           previous_release_id = excluded.previous_release_id, rollout_percent = excluded.rollout_percent,
           policy = excluded.policy, updated_at = excluded.updated_at`,
        [c.app_id, c.name, c.current_release_id, c.previous_release_id, c.rollout_percent, JSON.stringify(c.policy), c.updated_at],
      );
      return (await channels.get(c.app_id, c.name))!;
    },
  };

  const tokens = {
    async create(t: NewToken): Promise<Token> {
      const id = await unique("token already exists", () => insert("tokens", t));
      return { id, ...t };
    },
    get: (id: number) => one("SELECT * FROM tokens WHERE id = ?", toToken, id),
    byHash: (hash: string) => one("SELECT * FROM tokens WHERE token_hash = ?", toToken, hash),
    list: () => many("SELECT * FROM tokens ORDER BY id", toToken),
    async update(id: number, patch: Partial<Token>): Promise<Token> {
      await update("tokens", id, patch);
      return (await tokens.get(id))!;
    },
    async touch(lastUsed: Map<number, string>) {
      for (const [id, at] of lastUsed) {
        await run("UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)", [at, id, at]);
      }
    },
  };

  const audit = {
    async append(e: NewAuditEvent): Promise<AuditEvent> {
      return { id: await insert("audit_events", e), ...e };
    },
    list(f: AuditFilter): Promise<AuditEvent[]> {
      const where: string[] = [];
      const params: unknown[] = [];
      const add = (clause: string, v: unknown) => {
        if (v !== undefined) where.push(clause), params.push(v);
      };
      add("id < ?", f.before);
      add("action = ?", f.action);
      add("target_type = ?", f.target_type);
      add("target_id = ?", f.target_id);
      return many(`SELECT * FROM audit_events ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY id DESC LIMIT ?`, toEvent, ...params, f.limit);
    },
  };

  return { apps, releases, artifacts, channels, tokens, audit,
    async transaction<T>(fn: () => Promise<T>): Promise<T> {
      if (als.getStore()) return fn();
      // Deadlines that never leave a write in doubt: starting (a connection, BEGIN) has one, and a
      // transaction that starts after it gave up rolls back at once (it would have written minutes
      // later, after the caller was told 503); the write lock's wait and the queries in `fn` have
      // their own (`run`); when `fn` fails the caller hears at once while the rollback goes on; once
      // `fn` has succeeded, COMMIT is waited for as long as it takes (a 503 then could be a commit that
      // lands: a retried download count would be counted twice).
      return new Promise<T>((resolve, reject) => {
        let started = false;
        let abandoned = false;
        const timer = timeoutMs > 0 ? setTimeout(() => { if (!started) { abandoned = true; reject(late(timeoutMs)); } }, timeoutMs) : undefined;
        sql.begin(async (tx) => {
          if (abandoned) throw late(timeoutMs);
          started = true;
          clearTimeout(timer);
          try {
            return await als.run(tx as unknown as Exec, async () => {
              await run("SELECT pg_advisory_xact_lock(?::int, ?::int)", [LOCK_NAMESPACE, LOCK_WRITE]);
              return fn();
            });
          } catch (err) {
            reject(err);
            throw err;
          }
        }).then((v) => resolve(v as T), (err: unknown) => reject(err)).finally(() => clearTimeout(timer)); // a pending timer kept a stopping process alive
      });
    },
    async exclusive<T>(name: string, fn: () => Promise<T>) {
      let gaveUp = false;
      const reserving = sql.reserve();
      // A connection that comes after the deadline goes back to the pool.
      reserving.then((c) => { if (gaveUp) c.release(); }, () => {});
      const conn = await deadline(reserving, timeoutMs, () => late(timeoutMs)).catch((err: unknown) => { gaveUp = true; throw err; });
      try {
        const key = fnv32(name);
        const [row] = await conn`SELECT pg_try_advisory_lock(${NAMED_NAMESPACE}::int, ${key}::int) AS ok`;
        if (!row.ok) return { locked: false as const };
        try {
          return { locked: true as const, value: await fn() };
        } finally {
          await conn`SELECT pg_advisory_unlock(${NAMED_NAMESPACE}::int, ${key}::int)`;
        }
      } finally {
        conn.release();
      }
    },
    async close() {
      await sql.close();
    },
  };
}

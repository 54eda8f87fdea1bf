/**
 * SQLite repositories (bun:sqlite): WAL journal, foreign keys on, synchronous=FULL (a publish that
 * returned is on disk), a busy timeout so concurrent processes queue for the write lock, and
 * cached prepared statements (`db.query`). Write transactions take the lock up front
 * (BEGIN IMMEDIATE) so two publishers never deadlock upgrading a read lock.
 */
import { Database, SQLiteError } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Conflict, Unavailable } from "../domain/errors.ts";
import type { App, Artifact, AuditEvent, Channel, Release, Token } from "../domain/model.ts";
import type { AuditFilter, NewApp, NewArtifact, NewAuditEvent, NewRelease, NewToken, Repositories } from "../domain/repository.ts";
import { versionKey } from "../domain/versions.ts";
import { migrate } from "./migrations.ts";
import { newLane, serialized, type Lane, type SyncStore } from "./serial.ts";
import { draftFilter, newestWithArtifactSql } from "./sql.ts";

type Row = Record<string, any>;

const json = (s: string) => JSON.parse(s);
const bool = (n: number) => n !== 0;

const toApp = (r: Row): App => ({ ...r, bundle_ids: json(r.bundle_ids) }) as App;
const toRelease = ({ version_key: _key, ...r }: Row): Release => ({ ...r, draft: bool(r.draft), prerelease: bool(r.prerelease) }) as Release;
const toArtifact = (r: Row): Artifact => ({ ...r, metadata: json(r.metadata), state: "uploaded" }) as Artifact;
const toChannel = (r: Row): Channel => ({ ...r, policy: json(r.policy) }) as Channel;
const toToken = (r: Row): Token => ({ ...r, scopes: json(r.scopes) }) as Token;
const toEvent = (r: Row): AuditEvent => ({ ...r, metadata: json(r.metadata) }) as AuditEvent;
/** Tables whose ids are never reused: inserted with the id after the largest one made (migration 6, table id_high). */
const ID_TABLES = new Set(["apps", "releases", "artifacts", "tokens", "audit_events"]);

/** Runs an insert/update; a UNIQUE violation becomes Conflict(`what`). */
function unique<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SQLiteError && String(err.code).startsWith("SQLITE_CONSTRAINT_UNIQUE")) throw new Conflict(what);
    throw err;
  }
}

/** Opens (creating if needed) and migrates the database file. */
export function openSqlite(file: string, info: { applied?: number[] } = {}): Repositories {
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file, { create: true, strict: true });
  try {
    db.run(`PRAGMA busy_timeout = ${BUSY_MS}`);
    walMode(db);
    db.run("PRAGMA synchronous = FULL");
    db.run("PRAGMA foreign_keys = ON");
    const applied = migrate(db, file);
    info.applied?.push(...applied);
    fillVersionKeys(db);
  } catch (err) {
    db.close();
    throw isBusy(err) ? locked(file) : err;
  }
  return serialized(sqliteStore(db, file), laneFor(file));
}

const BUSY_MS = 10_000;
const isBusy = (err: unknown) => err instanceof SQLiteError && String(err.code).startsWith("SQLITE_BUSY");
/** 503 / exit 1: another process held the write lock past the busy timeout. */
const locked = (file: string) => new Unavailable(`database ${file} stayed locked by another process for ${BUSY_MS / 1000} s; try again later`);

/**
 * Switches the file to WAL, waiting as the busy timeout would. Several processes opening a fresh
 * file at once: the switch can answer SQLITE_BUSY at once, because SQLite does not call the busy
 * handler for a connection that holds a read lock and wants the write lock (it could deadlock).
 */
function walMode(db: Database): void {
  const deadline = Date.now() + BUSY_MS;
  for (let pause = 2; ; pause = Math.min(pause * 2, 100)) {
    try {
      db.run("PRAGMA journal_mode = WAL");
      return;
    } catch (err) {
      if (!isBusy(err) || Date.now() >= deadline) throw err;
      Bun.sleepSync(pause);
    }
  }
}

/** Connections to one file in this process take turns (see serial.ts `Lane`). */
const lanes = new Map<string, Lane>();
function laneFor(file: string): Lane {
  const key = resolve(file);
  let lane = lanes.get(key);
  if (!lane) lanes.set(key, (lane = newLane()));
  return lane;
}

/** Computes the order key of releases written before migration 2 (once: afterwards none is NULL). */
function fillVersionKeys(db: Database): void {
  const rows = db.query("SELECT id, version FROM releases WHERE version_key IS NULL").all() as Row[];
  if (rows.length === 0) return;
  const set = db.query("UPDATE releases SET version_key = ? WHERE id = ?");
  db.transaction(() => {
    for (const r of rows) set.run(versionKey(r.version), r.id);
  }).immediate();
}

function sqliteStore(db: Database, file: string): SyncStore {
  const one = <T>(sql: string, map: (r: Row) => T, ...params: any[]): T | undefined => {
    const r = db.query(sql).get(...params) as Row | null;
    return r ? map(r) : undefined;
  };
  const many = <T>(sql: string, map: (r: Row) => T, ...params: any[]): T[] => (db.query(sql).all(...params) as Row[]).map(map);
  const insert = (table: string, rec: Row): number => {
    const cols = Object.keys(rec);
    // A new id is past every id the table ever had (migration 6: ids are never reused).
    // (Past the table's own largest id too: rows loaded without the triggers, a hand restore, must not make a collision, a 500.)
    const id = ID_TABLES.has(table) ? `(SELECT max(last, coalesce((SELECT max(id) FROM ${table}), 0)) + 1 FROM id_high WHERE name = '${table}'), ` : "";
    const sql = `INSERT INTO ${table} (${id ? "id, " : ""}${cols.join(", ")}) VALUES (${id}${cols.map(() => "?").join(", ")})`;
    const vals = cols.map((c) => {
      const v = rec[c];
      if (typeof v === "boolean") return v ? 1 : 0;
      if (v !== null && typeof v === "object") return JSON.stringify(v);
      return v ?? null;
    });
    return Number(db.query(sql).run(...vals).lastInsertRowid);
  };
  const update = (table: string, id: number, patch: Row) => {
    const cols = Object.keys(patch).filter((c) => patch[c] !== undefined);
    if (cols.length === 0) return;
    const vals = cols.map((c) => (typeof patch[c] === "boolean" ? (patch[c] ? 1 : 0) : patch[c]));
    db.query(`UPDATE ${table} SET ${cols.map((c) => `${c} = ?`).join(", ")} WHERE id = ?`).run(...vals, id);
  };

  const apps = {
    create(a: NewApp): App {
      const id = unique(`app ${a.owner}/${a.slug} already exists`, () => insert("apps", a));
      return { id, ...a };
    },
    get: (id: number) => one("SELECT * FROM apps WHERE id = ?", toApp, id),
    bySlug: (owner: string, slug: string) => one("SELECT * FROM apps WHERE owner = ? AND slug = ?", toApp, owner, slug),
    list: () => many("SELECT * FROM apps ORDER BY owner, slug", toApp),
  };

  const releases = {
    create(r: NewRelease): Release {
      const id = unique(`tag ${r.tag} already exists`, () => insert("releases", { ...r, version_key: versionKey(r.version) }));
      return { id, ...r };
    },
    get: (id: number) => one("SELECT * FROM releases WHERE id = ?", toRelease, id),
    byTag: (appId: number, tag: string) => one("SELECT * FROM releases WHERE app_id = ? AND tag = ?", toRelease, appId, tag),
    byVersion: (appId: number, version: string) =>
      one("SELECT * FROM releases WHERE app_id = ? AND version = ? ORDER BY created_at, id LIMIT 1", toRelease, appId, version),
    list(appId: number, page: { offset: number; limit: number; drafts: boolean | string[] }) {
      // Separate statements rather than `draft <= ?` so each is served by its own index; the page's
      // ids come from the index alone, so skipping `offset` rows does not read them.
      const { sql: visible, params: channels } = draftFilter(page.drafts, "");
      const where = `app_id = ?${visible}`;
      const order = "ORDER BY created_at DESC, id DESC";
      const items = many(
        `SELECT * FROM releases WHERE id IN (SELECT id FROM releases WHERE ${where} ${order} LIMIT ? OFFSET ?) ${order}`,
        toRelease,
        appId,
        ...channels,
        page.limit,
        page.offset,
      );
      const total = (db.query(`SELECT count(*) AS n FROM releases WHERE ${where}`).get(appId, ...channels) as Row).n as number;
      return { items, total };
    },
    all: (appId: number) => many("SELECT * FROM releases WHERE app_id = ? ORDER BY created_at DESC, id DESC", toRelease, appId),
    newestWithArtifact(appId: number, filename: string, drafts: boolean | string[]) {
      const { sql: visible, params } = draftFilter(drafts, "r.");
      return one(newestWithArtifactSql(visible), toRelease, appId, filename, appId, ...params);
    },
    latestPublished: (appId: number, notAfter?: Release) =>
      one(
        `SELECT * FROM releases WHERE app_id = ? AND draft = 0 AND prerelease = 0 AND published_at IS NOT NULL
           AND (version_key, created_at, id) < (?, ?, ?) ORDER BY version_key DESC, created_at DESC, id DESC LIMIT 1`,
        toRelease,
        appId,
        // "\u{10FFFF}" ranks above every key; ids start at 1.
        ...(notAfter ? [versionKey(notAfter.version), notAfter.created_at, notAfter.id] : ["\u{10FFFF}", "", 0]),
      ),
    update(id: number, patch: Partial<Release>): Release {
      const row: Row = patch.version === undefined ? patch : { ...patch, version_key: versionKey(patch.version) };
      unique(`tag ${patch.tag} already exists`, () => update("releases", id, row));
      return releases.get(id)!;
    },
    delete(id: number) {
      db.query("DELETE FROM releases WHERE id = ?").run(id);
    },
  };

  const artifacts = {
    create(a: NewArtifact): Artifact {
      const { state: _state, ...row } = a;
      const id = unique(`artifact ${a.filename} already exists in this release`, () => insert("artifacts", row));
      return { id, ...a };
    },
    get: (id: number) => one("SELECT * FROM artifacts WHERE id = ?", toArtifact, id),
    byName: (releaseId: number, filename: string) => one("SELECT * FROM artifacts WHERE release_id = ? AND filename = ?", toArtifact, releaseId, filename),
    listByRelease: (releaseId: number) => many("SELECT * FROM artifacts WHERE release_id = ? ORDER BY id", toArtifact, releaseId),
    update(id: number, patch: Partial<Artifact>): Artifact {
      unique(`artifact ${patch.filename} already exists in this release`, () => update("artifacts", id, patch));
      return artifacts.get(id)!;
    },
    countBySha: (sha256: string) => (db.query("SELECT count(*) AS n FROM artifacts WHERE sha256 = ?").get(sha256) as Row).n as number,
    referencedShas: () => new Set((db.query("SELECT DISTINCT sha256 FROM artifacts").all() as Row[]).map((r) => r.sha256 as string)),
    delete(id: number) {
      db.query("DELETE FROM artifacts WHERE id = ?").run(id);
    },
    addDownloads(counts: Map<number, number>) {
      const q = db.query("UPDATE artifacts SET download_count = download_count + ? WHERE id = ?");
      for (const [id, n] of counts) q.run(n, id);
    },
  };

  const channels = {
    get: (appId: number, name: string) => one("SELECT * FROM channels WHERE app_id = ? AND name = ?", toChannel, appId, name),
    list: (appId: number) => many("SELECT * FROM channels WHERE app_id = ? ORDER BY name", toChannel, appId),
    put(c: Channel): Channel {
      db.query(
        `INSERT INTO channels (app_id, name, current_release_id, previous_release_id, rollout_percent, policy, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (app_id, name) DO UPDATE SET current_release_id = excluded.current_release_id,
           previous_release_id = excluded.previous_release_id, rollout_percent = excluded.rollout_percent,
           policy = excluded.policy, updated_at = excluded.updated_at`,
      ).run(c.app_id, c.name, c.current_release_id, c.previous_release_id, c.rollout_percent, JSON.stringify(c.policy), c.updated_at);
      return channels.get(c.app_id, c.name)!;
    },
  };

  const tokens = {
    create(t: NewToken): Token {
      const id = unique("token already exists", () => insert("tokens", t));
      return { id, ...t };
    },
    get: (id: number) => one("SELECT * FROM tokens WHERE id = ?", toToken, id),
    byHash: (hash: string) => one("SELECT * FROM tokens WHERE token_hash = ?", toToken, hash),
    list: () => many("SELECT * FROM tokens ORDER BY id", toToken),
    update(id: number, patch: Partial<Token>): Token {
      update("tokens", id, patch);
      return tokens.get(id)!;
    },
    touch(lastUsed: Map<number, string>) {
      const q = db.query("UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)");
      for (const [id, at] of lastUsed) q.run(at, id, at);
    },
  };

  const audit = {
    append(e: NewAuditEvent): AuditEvent {
      return { id: insert("audit_events", e), ...e };
    },
    list(f: AuditFilter): AuditEvent[] {
      const where: string[] = [];
      const params: any[] = [];
      const add = (sql: string, v: unknown) => {
        if (v !== undefined) where.push(sql), params.push(v);
      };
      add("id < ?", f.before);
      add("action = ?", f.action);
      add("target_type = ?", f.target_type);
      add("target_id = ?", f.target_id);
      const sql = `SELECT * FROM audit_events ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY id DESC LIMIT ?`;
      return many(sql, toEvent, ...params, f.limit);
    },
  };

  return { apps, releases, artifacts, channels, tokens, audit,
    begin() {
      try {
        db.run("BEGIN IMMEDIATE");
      } catch (err) {
        throw isBusy(err) ? locked(file) : err;
      }
    },
    commit() {
      db.run("COMMIT");
    },
    rollback() {
      if (db.inTransaction) db.run("ROLLBACK");
    },
    tryLock(name: string, holder: string, ttlMs: number) {
      const now = Date.now();
      const r = db
        .query(
          `INSERT INTO locks (name, holder, expires_at) VALUES (?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
           WHERE locks.holder = excluded.holder OR locks.expires_at < ?`,
        )
        .run(name, holder, now + ttlMs, now);
      return r.changes === 1;
    },
    unlock(name: string, holder: string) {
      db.query("DELETE FROM locks WHERE name = ? AND holder = ?").run(name, holder);
    },
    close() {
      db.close();
    },
  };
}

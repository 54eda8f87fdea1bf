/**
 * Versioned schema migrations, applied in order at open. The database's version is SQLite's
 * `user_version`; a database newer than the newest migration here is refused (exit 9) rather than
 * touched. Never edit a released migration: append a new one. PostgreSQL has the same versions
 * (postgres-migrations.ts); a test keeps the two lists in step.
 */
import type { Database } from "bun:sqlite";
import { AgError } from "../../shared/errors.ts";
import { ServerExit } from "../domain/errors.ts";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "initial schema",
    sql: `
CREATE TABLE apps (
  id INTEGER PRIMARY KEY,
  owner TEXT NOT NULL,
  slug TEXT NOT NULL,
  display_name TEXT NOT NULL,
  bundle_ids TEXT NOT NULL,
  visibility TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX apps_by_slug ON apps (owner, slug);

CREATE TABLE releases (
  id INTEGER PRIMARY KEY,
  app_id INTEGER NOT NULL REFERENCES apps (id),
  version TEXT NOT NULL,
  build INTEGER,
  tag TEXT NOT NULL,
  name TEXT,
  notes TEXT,
  channel TEXT,
  draft INTEGER NOT NULL,
  prerelease INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  published_at TEXT
);
CREATE UNIQUE INDEX releases_by_version ON releases (app_id, version);
CREATE UNIQUE INDEX releases_by_tag ON releases (app_id, tag);
CREATE INDEX releases_by_app ON releases (app_id, created_at DESC, id DESC);
CREATE INDEX releases_by_app_published ON releases (app_id, draft, created_at DESC, id DESC);

CREATE TABLE artifacts (
  id INTEGER PRIMARY KEY,
  app_id INTEGER NOT NULL REFERENCES apps (id),
  release_id INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
  platform TEXT,
  filename TEXT NOT NULL,
  label TEXT,
  content_type TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  storage_key TEXT NOT NULL,
  metadata TEXT NOT NULL,
  validation_status TEXT NOT NULL CHECK (validation_status IN ('valid', 'invalid', 'unchecked')),
  validation_reason TEXT,
  download_count INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX artifacts_by_name ON artifacts (release_id, filename);
CREATE INDEX artifacts_by_digest ON artifacts (sha256);

CREATE TABLE channels (
  app_id INTEGER NOT NULL REFERENCES apps (id),
  name TEXT NOT NULL,
  current_release_id INTEGER REFERENCES releases (id),
  previous_release_id INTEGER REFERENCES releases (id),
  rollout_percent REAL NOT NULL CHECK (rollout_percent BETWEEN 0 AND 100),
  policy TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (app_id, name)
);
CREATE INDEX channels_by_current ON channels (current_release_id);
CREATE INDEX channels_by_previous ON channels (previous_release_id);

CREATE TABLE tokens (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  display_prefix TEXT NOT NULL,
  scopes TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  last_used_at TEXT,
  revoked_at TEXT
);
CREATE UNIQUE INDEX tokens_by_hash ON tokens (token_hash);

CREATE TABLE audit_events (
  id INTEGER PRIMARY KEY,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target_type TEXT NOT NULL,
  target_id TEXT NOT NULL,
  metadata TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX audit_by_action ON audit_events (action, id);
CREATE INDEX audit_by_target ON audit_events (target_type, target_id, id);
`,
  },
  {
    version: 2,
    name: "releases: version order key (any tag is a release; semver ones order by version)",
    // NULL until filled: sqlite.ts computes the key (domain/versions.ts) for such rows at open.
    sql: `
ALTER TABLE releases ADD COLUMN version_key TEXT;
CREATE INDEX releases_by_app_version_key ON releases (app_id, draft, prerelease, version_key DESC, created_at DESC, id DESC);
`,
  },
  {
    version: 3,
    name: "locks: named leases shared by the processes on one database (one retention run at a time)",
    sql: `
CREATE TABLE locks (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
`,
  },
  {
    version: 4,
    name: "releases: unique by tag only (1.0.0, v1.0.0 and v1.0.0+build.7 are three tags of one version)",
    // Rows written before were unique by version too, which this keeps true of them.
    sql: `
DROP INDEX releases_by_version;
CREATE INDEX releases_by_version ON releases (app_id, version, created_at, id);
`,
  },
  {
    version: 5,
    name: "artifacts: by app and file name (the newest release with a file of that name, in one query)",
    // The seed's /assets/{name} read one release after another, one query each (5,000 releases: up to 0.5 s for a 404).
    sql: `
CREATE INDEX artifacts_by_app_name ON artifacts (app_id, filename, release_id);
`,
  },
  {
    version: 6,
    name: "ids: never reused (a deleted release's or asset's id named the next one made)",
    // An INTEGER PRIMARY KEY takes the largest id + 1, so deleting the newest row gave its id to the
    // next: a stale upload_url, a retried DELETE or an audit entry then named another release.
    // sqlite.ts inserts with the id after `last`; the triggers keep `last` at the largest id made.
    // A release or asset deleted before this migration is named by the audit log (release.delete,
    // artifact.delete, and the assets a release.delete took with it): `last` starts past those ids
    // too. Apps and tokens are never deleted.
    sql: `
CREATE TABLE id_high (name TEXT PRIMARY KEY, last INTEGER NOT NULL);
INSERT INTO id_high (name, last) SELECT 'apps', coalesce(max(id), 0) FROM apps;
INSERT INTO id_high (name, last) SELECT 'releases', max(coalesce((SELECT max(id) FROM releases), 0), coalesce((SELECT max(CAST(target_id AS INTEGER)) FROM audit_events WHERE target_type = 'release'), 0));
INSERT INTO id_high (name, last) SELECT 'artifacts', max(
  coalesce((SELECT max(id) FROM artifacts), 0),
  coalesce((SELECT max(CAST(target_id AS INTEGER)) FROM audit_events WHERE target_type = 'artifact'), 0),
  coalesce((SELECT max(CAST(json_extract(a.value, '$.id') AS INTEGER)) FROM audit_events, json_each(audit_events.metadata, '$.artifacts') AS a
            WHERE audit_events.action = 'release.delete' AND json_valid(audit_events.metadata)), 0));
INSERT INTO id_high (name, last) SELECT 'tokens', coalesce(max(id), 0) FROM tokens;
INSERT INTO id_high (name, last) SELECT 'audit_events', coalesce(max(id), 0) FROM audit_events;
CREATE TRIGGER apps_id_high AFTER INSERT ON apps BEGIN UPDATE id_high SET last = NEW.id WHERE name = 'apps' AND last < NEW.id; END;
CREATE TRIGGER releases_id_high AFTER INSERT ON releases BEGIN UPDATE id_high SET last = NEW.id WHERE name = 'releases' AND last < NEW.id; END;
CREATE TRIGGER artifacts_id_high AFTER INSERT ON artifacts BEGIN UPDATE id_high SET last = NEW.id WHERE name = 'artifacts' AND last < NEW.id; END;
CREATE TRIGGER tokens_id_high AFTER INSERT ON tokens BEGIN UPDATE id_high SET last = NEW.id WHERE name = 'tokens' AND last < NEW.id; END;
CREATE TRIGGER audit_events_id_high AFTER INSERT ON audit_events BEGIN UPDATE id_high SET last = NEW.id WHERE name = 'audit_events' AND last < NEW.id; END;
`,
  },
];

export const LATEST_SCHEMA = MIGRATIONS[MIGRATIONS.length - 1].version;

export function schemaVersion(db: Database): number {
  return (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
}

/** Exit 9: the database (a file, or a redacted URL) was written by a newer release-server. */
export function refuseNewer(file: string, found: number): never {
  throw new AgError(`database ${file} has schema version ${found}, newer than this release-server supports (${LATEST_SCHEMA})`, {
    exitCode: ServerExit.databaseNewer,
    code: "database_newer",
    hint: "run a release-server at least as new as the one that last wrote this database",
  });
}

/** Applies pending migrations under the write lock; returns the versions applied. */
export function migrate(db: Database, file: string): number[] {
  const before = schemaVersion(db);
  if (before > LATEST_SCHEMA) refuseNewer(file, before);
  if (before === LATEST_SCHEMA) return [];
  return db.transaction(() => {
    // Another process may have migrated between our read and the lock.
    const current = schemaVersion(db);
    if (current > LATEST_SCHEMA) refuseNewer(file, current);
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      db.run(m.sql);
      db.run(`PRAGMA user_version = ${m.version}`);
      applied.push(m.version);
    }
    return applied;
  }).immediate();
}

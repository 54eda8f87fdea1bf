/**
 * In-memory repositories for fast tests: same contract as SQLite (uniqueness → Conflict, newest
 * first orderings, transactions that roll back on an exception by restoring a snapshot). The
 * synchronous store is made asynchronous by serial.ts, as SQLite's is.
 */
import { Conflict } from "../domain/errors.ts";
import { draftVisible } from "../domain/tokens.ts";
import type { App, Artifact, AuditEvent, Channel, Release, Token } from "../domain/model.ts";
import { compareForLatest } from "../domain/versions.ts";
import type { AuditFilter, NewApp, NewArtifact, NewAuditEvent, NewRelease, NewToken, Repositories } from "../domain/repository.ts";
import { serialized, type SyncStore } from "./serial.ts";

interface State {
  seq: number;
  apps: Map<number, App>;
  releases: Map<number, Release>;
  artifacts: Map<number, Artifact>;
  channels: Map<string, Channel>;
  tokens: Map<number, Token>;
  audit: AuditEvent[];
}

const newest = (a: Release, b: Release) => (a.created_at === b.created_at ? b.id - a.id : a.created_at < b.created_at ? 1 : -1);
const copy = <T>(v: T | undefined): T | undefined => (v === undefined ? undefined : structuredClone(v));

export function memoryRepositories(): Repositories {
  return serialized(memoryStore());
}

function memoryStore(): SyncStore {
  let s: State = { seq: 0, apps: new Map(), releases: new Map(), artifacts: new Map(), channels: new Map(), tokens: new Map(), audit: [] };
  let snapshot: State | undefined;
  const locks = new Map<string, { holder: string; expires: number }>();
  const nextId = () => ++s.seq;
  const find = <T>(m: Map<unknown, T>, pred: (v: T) => boolean) => copy([...m.values()].find(pred));
  const filter = <T>(m: Map<unknown, T>, pred: (v: T) => boolean) => [...m.values()].filter(pred).map((v) => structuredClone(v));
  const put = <T extends { id: number }>(m: Map<number, T>, rec: Omit<T, "id">): T => {
    const full = { id: nextId(), ...structuredClone(rec) } as T;
    m.set(full.id, full);
    return structuredClone(full);
  };

  const releasesOf = (appId: number) => filter(s.releases, (r) => r.app_id === appId).sort(newest);

  const apps = {
    create(a: NewApp): App {
      if (find(s.apps, (x) => x.owner === a.owner && x.slug === a.slug)) throw new Conflict(`app ${a.owner}/${a.slug} already exists`);
      return put(s.apps, a);
    },
    get: (id: number) => copy(s.apps.get(id)),
    bySlug: (owner: string, slug: string) => find(s.apps, (a) => a.owner === owner && a.slug === slug),
    list: () => filter(s.apps, () => true).sort((a, b) => (a.owner + "/" + a.slug < b.owner + "/" + b.slug ? -1 : 1)),
  };

  const releases = {
    create(r: NewRelease): Release {
      if (find(s.releases, (x) => x.app_id === r.app_id && x.tag === r.tag)) throw new Conflict(`tag ${r.tag} already exists`);
      return put(s.releases, r);
    },
    get: (id: number) => copy(s.releases.get(id)),
    byTag: (appId: number, tag: string) => find(s.releases, (r) => r.app_id === appId && r.tag === tag),
    byVersion: (appId: number, version: string) => releasesOf(appId).reverse().find((r) => r.version === version),
    list(appId: number, page: { offset: number; limit: number; drafts: boolean | string[] }) {
      const all = releasesOf(appId).filter((r) => draftVisible(page.drafts, r));
      return { items: all.slice(page.offset, page.offset + page.limit), total: all.length };
    },
    all: releasesOf,
    newestWithArtifact(appId: number, filename: string, drafts: boolean | string[]) {
      const having = new Set([...s.artifacts.values()].filter((a) => a.app_id === appId && a.filename === filename).map((a) => a.release_id));
      return releasesOf(appId).find((r) => having.has(r.id) && draftVisible(drafts, r));
    },
    latestPublished: (appId: number, notAfter?: Release) =>
      releasesOf(appId)
        .sort(compareForLatest)
        .find((r) => !r.draft && !r.prerelease && r.published_at !== null && (notAfter === undefined || compareForLatest(r, notAfter) > 0)),
    update(id: number, patch: Partial<Release>): Release {
      const cur = s.releases.get(id)!;
      if (patch.tag !== undefined && patch.tag !== cur.tag && find(s.releases, (x) => x.app_id === cur.app_id && x.tag === patch.tag)) {
        throw new Conflict(`tag ${patch.tag} already exists`);
      }
      const next = { ...cur, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
      s.releases.set(id, next);
      return structuredClone(next);
    },
    delete(id: number) {
      for (const a of [...s.artifacts.values()]) if (a.release_id === id) s.artifacts.delete(a.id);
      s.releases.delete(id);
    },
  };

  const artifacts = {
    create(a: NewArtifact): Artifact {
      if (find(s.artifacts, (x) => x.release_id === a.release_id && x.filename === a.filename)) {
        throw new Conflict(`artifact ${a.filename} already exists in this release`);
      }
      return put(s.artifacts, a);
    },
    get: (id: number) => copy(s.artifacts.get(id)),
    byName: (releaseId: number, filename: string) => find(s.artifacts, (a) => a.release_id === releaseId && a.filename === filename),
    listByRelease: (releaseId: number) => filter(s.artifacts, (a) => a.release_id === releaseId).sort((a, b) => a.id - b.id),
    update(id: number, patch: Partial<Artifact>): Artifact {
      const cur = s.artifacts.get(id)!;
      if (patch.filename !== undefined && patch.filename !== cur.filename && find(s.artifacts, (x) => x.release_id === cur.release_id && x.filename === patch.filename)) {
        throw new Conflict(`artifact ${patch.filename} already exists in this release`);
      }
      const next = { ...cur, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
      s.artifacts.set(id, next);
      return structuredClone(next);
    },
    countBySha: (sha256: string) => [...s.artifacts.values()].filter((a) => a.sha256 === sha256).length,
    referencedShas: () => new Set([...s.artifacts.values()].map((a) => a.sha256)),
    delete(id: number) {
      s.artifacts.delete(id);
    },
    addDownloads(counts: Map<number, number>) {
      for (const [id, n] of counts) {
        const a = s.artifacts.get(id);
        if (a) a.download_count += n;
      }
    },
  };

  const key = (appId: number, name: string) => `${appId}\u0000${name}`;
  const channels = {
    get: (appId: number, name: string) => copy(s.channels.get(key(appId, name))),
    list: (appId: number) => filter(s.channels, (c) => c.app_id === appId).sort((a, b) => (a.name < b.name ? -1 : 1)),
    put(c: Channel): Channel {
      s.channels.set(key(c.app_id, c.name), structuredClone(c));
      return structuredClone(c);
    },
  };

  const tokens = {
    create(t: NewToken): Token {
      if (find(s.tokens, (x) => x.token_hash === t.token_hash)) throw new Conflict("token already exists");
      return put(s.tokens, t);
    },
    get: (id: number) => copy(s.tokens.get(id)),
    byHash: (hash: string) => find(s.tokens, (t) => t.token_hash === hash),
    list: () => filter(s.tokens, () => true).sort((a, b) => a.id - b.id),
    update(id: number, patch: Partial<Token>): Token {
      const next = { ...s.tokens.get(id)!, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
      s.tokens.set(id, next);
      return structuredClone(next);
    },
    touch(lastUsed: Map<number, string>) {
      for (const [id, at] of lastUsed) {
        const t = s.tokens.get(id);
        if (t && (t.last_used_at === null || t.last_used_at < at)) t.last_used_at = at;
      }
    },
  };

  const audit = {
    append(e: NewAuditEvent): AuditEvent {
      const ev = { id: nextId(), ...structuredClone(e) };
      s.audit.push(ev);
      return structuredClone(ev);
    },
    list(f: AuditFilter): AuditEvent[] {
      return s.audit
        .filter(
          (e) =>
            (f.before === undefined || e.id < f.before) &&
            (f.action === undefined || e.action === f.action) &&
            (f.target_type === undefined || e.target_type === f.target_type) &&
            (f.target_id === undefined || e.target_id === f.target_id),
        )
        .reverse()
        .slice(0, f.limit)
        .map((e) => structuredClone(e));
    },
  };

  return { apps, releases, artifacts, channels, tokens, audit,
    begin() {
      snapshot = structuredClone(s);
    },
    commit() {
      snapshot = undefined;
    },
    rollback() {
      if (snapshot) s = snapshot;
      snapshot = undefined;
    },
    tryLock(name: string, holder: string, ttlMs: number) {
      const cur = locks.get(name);
      if (cur && cur.holder !== holder && cur.expires > Date.now()) return false;
      locks.set(name, { holder, expires: Date.now() + ttlMs });
      return true;
    },
    unlock(name: string, holder: string) {
      if (locks.get(name)?.holder === holder) locks.delete(name);
    },
    close() {},
  };
}

/**
 * ReleaseService: the one API the HTTP layer and the CLI call. It validates input at the domain
 * boundary, checks scopes, runs each state change in one repository transaction together with its
 * audit event, and keeps the blob store and the rows consistent (a blob is committed before the
 * row that references it; blobs are only removed by retention, after a grace period).
 *
 * Conventions:
 * - Every state-changing method takes the acting `Principal` (a token, or `operator()` for the
 *   CLI) and authorizes it itself, so a scoped token cannot act outside its scopes whichever layer
 *   calls. Read methods do not check: the caller decides what a principal may read (`authorize`).
 * - Failures are typed (`domain/errors.ts`): NotFound, Conflict, Forbidden, Unauthorized, Invalid,
 *   TooLarge, DigestMismatch, Unsupported, Aborted.
 * - Token last-used times and download counts are kept in memory and written in batches (every
 *   `tokens.flush_seconds`, on `flush()` and on `close()`), so requests do not each write.
 */
import { userInfo } from "node:os";
import { join } from "node:path";
import type { ServerConfig } from "./config.ts";
import { retentionPolicyFor } from "./config.ts";
import { DiskBlobStore, type BlobBody, type StoredBlob } from "./blobs/store.ts";
import { detectArtifact, validateForPlatform } from "./domain/detect.ts";
import { Conflict, Forbidden, Invalid, NotFound, Unauthorized } from "./domain/errors.ts";
import {
  isoSeconds,
  storageKeyFor,
  type Action,
  type App,
  type Artifact,
  type AuditEvent,
  type Channel,
  type ChannelPolicy,
  type Principal,
  type Release,
  type Token,
  type TokenScopes,
} from "./domain/model.ts";
import type { AuditFilter, Repositories } from "./domain/repository.ts";
import { planRetention } from "./domain/retention.ts";
import { inRollout, rolloutBucket } from "./domain/rollout.ts";
import { semverOf, versionForTag } from "./domain/versions.ts";
import { displayPrefix, generateToken, hashToken, scopeDenial, wellFormed } from "./domain/tokens.ts";
import {
  ArtifactInputSchema,
  ArtifactPatchSchema,
  ChannelNameSchema,
  ChannelPolicySchema,
  NewAppSchema,
  parseInput,
  ReleaseInputSchema,
  ReleasePatchSchema,
  NullableChannelSchema,
  RolloutPercentSchema,
  TagSchema,
  TokenInputSchema,
  VersionSchema,
  type ArtifactInput,
  type ArtifactPatch,
  type NewAppInput,
  type ReleaseInput,
  type ReleasePatch,
  type TokenInput,
} from "./domain/validate.ts";
import { openSqlite } from "./storage/sqlite.ts";

export interface ServiceOptions {
  repos: Repositories;
  blobs: DiskBlobStore;
  config: ServerConfig;
  /** Injectable for tests; defaults to the wall clock. */
  clock?: () => Date;
}

/** A release's files, already stored with `putBlob`, for `publishRelease`. */
export type PublishFile = ArtifactInput & { blob: StoredBlob };

export interface RetentionReport {
  dry_run: boolean;
  releases: Array<{ app: string; release_id: number; version: string; channel: string | null; reason: string }>;
  blobs: Array<{ sha256: string; size: number }>;
  staging: Array<{ name: string; size: number }>;
}

/** What `latestRelease` served and why (the HTTP layer folds `source` into caching decisions). */
export interface LatestResult {
  release: Release;
  /** "latest": no channel asked; "current": the channel's release; "previous": outside the rollout. */
  source: "latest" | "current" | "previous";
}

export const DB_FILE = "release-server.db";

export class ReleaseService {
  readonly repos: Repositories;
  readonly blobs: DiskBlobStore;
  readonly config: ServerConfig;
  private readonly clock: () => Date;
  private pendingLastUsed = new Map<number, string>();
  private pendingDownloads = new Map<number, number>();
  private lastFlushMs: number;

  constructor(opts: ServiceOptions) {
    this.repos = opts.repos;
    this.blobs = opts.blobs;
    this.config = opts.config;
    this.clock = opts.clock ?? (() => new Date());
    this.lastFlushMs = this.clock().getTime();
  }

  private now(): string {
    return isoSeconds(this.clock());
  }

  private audit(by: Principal, action: string, target_type: string, target_id: string | number, metadata: Record<string, unknown> = {}): void {
    this.repos.audit.append({ actor: by.actor, action, target_type, target_id: String(target_id), metadata, created_at: this.now() });
  }

  // ---------------------------------------------------------------- auth

  /** The operator running the CLI against the data directory: unrestricted. */
  static operator(name = `cli:${safeUser()}`): Principal {
    return { actor: name, token: null };
  }

  /**
   * Resolves a raw token (`rls_...`) to its principal. Unauthorized when it is malformed (bad
   * prefix/checksum: no lookup happens), unknown, revoked or expired.
   */
  authenticate(raw: string): Principal {
    if (!wellFormed(raw)) throw new Unauthorized("malformed token");
    const token = this.repos.tokens.byHash(hashToken(raw));
    if (!token) throw new Unauthorized("unknown token");
    const now = this.clock();
    if (token.revoked_at !== null) throw new Unauthorized(`token '${token.name}' was revoked`);
    if (token.expires_at !== null && Date.parse(token.expires_at) <= now.getTime()) throw new Unauthorized(`token '${token.name}' expired at ${token.expires_at}`);
    this.pendingLastUsed.set(token.id, isoSeconds(now));
    this.maybeFlush();
    return { actor: `token:${token.id}:${token.name}`, token };
  }

  /** Forbidden unless the principal may do `action` on the app (and channel, when one is involved). */
  authorize(by: Principal, action: Action, target: { app?: App; channel?: string | null } = {}): void {
    if (by.token === null) return;
    const why = scopeDenial(by.token.scopes, action, { appId: target.app?.id, channel: target.channel });
    if (why) throw new Forbidden(`${why}${target.app ? ` (${target.app.owner}/${target.app.slug})` : ""}`);
  }

  /**
   * Which drafts of `app` the principal may see (drafts are visible to whoever could publish
   * them): all (true), none (false), or those of the listed channels (a channel-scoped token).
   */
  draftScope(by: Principal | null, app: App): boolean | string[] {
    if (!by) return false;
    if (by.token === null) return true;
    const { scopes } = by.token;
    if (scopeDenial({ ...scopes, channels: null }, "publish", { appId: app.id }) !== undefined) return false;
    return scopes.channels === null ? true : [...scopes.channels];
  }

  /** Whether the principal may see this release (published, or a draft it could publish). */
  canSee(by: Principal | null, release: Release): boolean {
    if (!release.draft) return true;
    const scope = this.draftScope(by, this.getApp(release.app_id));
    return scope === true || (Array.isArray(scope) && release.channel !== null && scope.includes(release.channel));
  }

  /** Creates a token; `raw` is returned once and never stored. */
  createToken(input: TokenInput, by: Principal): { token: Token; raw: string } {
    this.authorize(by, "admin");
    const p = parseInput(TokenInputSchema, input, "token");
    const apps = p.apps == null ? null : p.apps.map((ref) => this.getAppBySlug(...(ref.split("/") as [string, string])).id);
    const { default_days, max_days } = this.config.tokens;
    const days = p.expires_in_days !== undefined ? p.expires_in_days : max_days > 0 ? Math.min(default_days, max_days) : default_days;
    if (max_days > 0 && (days === null || days > max_days)) throw new Invalid(`invalid token expires_in_days: must be at most ${max_days} days`);
    const raw = generateToken();
    const created = this.clock();
    const token = this.storeToken(raw, by, {
      name: p.name,
      scopes: { apps, channels: p.channels ?? null, actions: [...new Set(p.actions)] },
      created_at: isoSeconds(created),
      expires_at: days === null ? null : isoSeconds(new Date(created.getTime() + days * 86_400_000)),
    });
    return { token, raw };
  }

  /**
   * Registers a raw token given from outside (e.g. an admin token from the environment) as an
   * unexpiring admin token, once. Returns the stored token.
   */
  ensureBootstrapToken(raw: string, name: string): Token {
    if (!wellFormed(raw)) throw new Invalid("bootstrap token is malformed (expected rls_ followed by 49 base62 characters with a valid checksum)");
    const existing = this.repos.tokens.byHash(hashToken(raw));
    if (existing) return existing;
    const scopes: TokenScopes = { apps: null, channels: null, actions: ["admin"] };
    return this.storeToken(raw, ReleaseService.operator("bootstrap"), { name, scopes, created_at: this.now(), expires_at: null });
  }

  /** Stores the hash of `raw` (never `raw` itself) with its audit event. */
  private storeToken(raw: string, by: Principal, fields: Pick<Token, "name" | "scopes" | "created_at" | "expires_at">): Token {
    return this.repos.transaction(() => {
      const t = this.repos.tokens.create({
        ...fields,
        token_hash: hashToken(raw),
        display_prefix: displayPrefix(raw),
        created_by: by.actor,
        last_used_at: null,
        revoked_at: null,
      });
      this.audit(by, "token.create", "token", t.id, { name: t.name, scopes: t.scopes, expires_at: t.expires_at });
      return t;
    });
  }

  listTokens(): Token[] {
    return this.repos.tokens.list().map((t) => ({ ...t, last_used_at: this.pendingLastUsed.get(t.id) ?? t.last_used_at }));
  }

  revokeToken(id: number, by: Principal): Token {
    this.authorize(by, "admin");
    return this.repos.transaction(() => {
      const t = this.repos.tokens.get(id);
      if (!t) throw new NotFound(`no token with id ${id}`);
      if (t.revoked_at !== null) return t;
      const revoked = this.repos.tokens.update(id, { revoked_at: this.now() });
      this.audit(by, "token.revoke", "token", id, { name: t.name });
      return revoked;
    });
  }

  // ---------------------------------------------------------------- apps

  createApp(input: NewAppInput, by: Principal): App {
    this.authorize(by, "admin");
    const p = parseInput(NewAppSchema, input, "app");
    const now = this.now();
    return this.repos.transaction(() => {
      const app = this.repos.apps.create({
        owner: p.owner,
        slug: p.slug,
        display_name: p.display_name ?? p.slug,
        bundle_ids: p.bundle_ids,
        visibility: p.visibility,
        created_at: now,
        updated_at: now,
      });
      this.audit(by, "app.create", "app", app.id, { owner: app.owner, slug: app.slug });
      return app;
    });
  }

  getAppBySlug(owner: string, slug: string): App {
    const app = this.repos.apps.bySlug(owner.toLowerCase(), slug.toLowerCase());
    if (!app) throw new NotFound(`no app ${owner}/${slug}`);
    return app;
  }

  getApp(id: number): App {
    const app = this.repos.apps.get(id);
    if (!app) throw new NotFound(`no app with id ${id}`);
    return app;
  }

  listApps(): App[] {
    return this.repos.apps.list();
  }

  // ---------------------------------------------------------------- releases

  /** Creates a release without artifacts (GitHub's create-then-upload flow); published unless draft. */
  createRelease(app: App, input: ReleaseInput, by: Principal): Release {
    return this.publishRelease(app, input, [], by).release;
  }

  /**
   * Creates a release and all its artifacts in ONE transaction: either everything is visible or
   * nothing is. Blobs must already be stored (`putBlob`). Conflict when the version or tag exists.
   */
  publishRelease(app: App, input: ReleaseInput, files: PublishFile[], by: Principal): { release: Release; artifacts: Artifact[] } {
    const p = parseInput(ReleaseInputSchema, input, "release");
    this.authorize(by, "publish", { app, channel: p.channel ?? null });
    const prepared = files.map(({ blob, ...meta }) => this.prepareArtifact(app, meta, blob));
    const names = new Set<string>();
    for (const f of prepared) {
      if (names.has(f.filename)) throw new Conflict(`duplicate artifact name ${f.filename}`, { resource: "ReleaseAsset", code: "already_exists", field: "name" });
      names.add(f.filename);
    }
    const now = this.now();
    return this.repos.transaction(() => {
      const tag = p.tag ?? (semverOf(p.version) ? `v${p.version}` : p.version);
      if (this.repos.releases.byVersion(app.id, p.version)) throw new Conflict(`${app.owner}/${app.slug} already has version ${p.version}`, { resource: "Release", code: "already_exists", field: "version" });
      if (this.repos.releases.byTag(app.id, tag)) throw new Conflict(`${app.owner}/${app.slug} already has tag ${tag}`, { resource: "Release", code: "already_exists", field: "tag_name" });
      const release = this.repos.releases.create({
        app_id: app.id,
        version: p.version,
        build: p.build ?? null,
        tag,
        name: p.name ?? null,
        notes: p.notes ?? null,
        channel: p.channel ?? null,
        draft: p.draft,
        prerelease: p.prerelease,
        created_by: by.actor,
        created_at: now,
        published_at: p.draft ? null : now,
      });
      const artifacts = prepared.map((a) => this.repos.artifacts.create({ ...a, release_id: release.id, created_at: now, updated_at: now }));
      this.audit(by, p.draft ? "release.create" : "release.publish", "release", release.id, {
        app: `${app.owner}/${app.slug}`,
        version: release.version,
        tag,
        artifacts: artifacts.map((a) => ({ id: a.id, filename: a.filename, sha256: a.sha256 })),
      });
      return { release, artifacts };
    });
  }

  /**
   * Edits a release (GitHub PATCH). Turning `draft` off publishes it (sets `published_at`); turning
   * it back on unpublishes it. A new tag renames the release's version too when the version came
   * from the old tag (as a create over HTTP makes it). Moving a release to another channel needs
   * publish rights on both channels.
   */
  updateRelease(release: Release, patch: ReleasePatch, by: Principal): Release {
    const p = parseInput(ReleasePatchSchema, patch, "release");
    const app = this.getApp(release.app_id);
    this.authorize(by, "publish", { app, channel: release.channel });
    if (p.channel !== undefined && p.channel !== release.channel) this.authorize(by, "publish", { app, channel: p.channel });
    return this.repos.transaction(() => {
      const cur = this.getRelease(release.id);
      const changes: Partial<Release> = {};
      if (p.tag !== undefined && p.tag !== cur.tag) {
        if (this.repos.releases.byTag(cur.app_id, p.tag)) {
          throw new Conflict(`${app.owner}/${app.slug} already has tag ${p.tag}`, { resource: "Release", code: "already_exists", field: "tag_name" });
        }
        changes.tag = p.tag;
        const version = versionForTag(p.tag);
        if (cur.version === versionForTag(cur.tag) && version !== cur.version) {
          if (this.repos.releases.byVersion(cur.app_id, version)) {
            throw new Conflict(`${app.owner}/${app.slug} already has version ${version}`, { resource: "Release", code: "already_exists", field: "tag_name" });
          }
          changes.version = version;
        }
      }
      if (p.name !== undefined) changes.name = p.name;
      if (p.notes !== undefined) changes.notes = p.notes;
      if (p.prerelease !== undefined) changes.prerelease = p.prerelease;
      if (p.channel !== undefined) changes.channel = p.channel;
      const publishing = p.draft === false && cur.draft;
      const unpublishing = p.draft === true && !cur.draft;
      if (p.draft !== undefined) changes.draft = p.draft;
      if (publishing) changes.published_at = this.now();
      if (unpublishing) {
        if (this.repos.channels.pinnedReleaseIds().has(cur.id)) {
          throw new Conflict(`release ${cur.tag} is the current or previous release of a channel; it cannot become a draft`);
        }
        changes.published_at = null;
      }
      if (Object.keys(changes).length === 0) return cur; // nothing changed: no write, no event
      const updated = this.repos.releases.update(cur.id, changes);
      this.audit(by, publishing ? "release.publish" : "release.update", "release", cur.id, {
        app: `${app.owner}/${app.slug}`,
        version: updated.version,
        tag: updated.tag,
        changes: Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, k === "notes" && typeof v === "string" ? `(${v.length} characters)` : v])),
      });
      return updated;
    });
  }

  getRelease(id: number): Release {
    const r = this.repos.releases.get(id);
    if (!r) throw new NotFound(`no release with id ${id}`);
    return r;
  }

  getReleaseByTag(app: App, tag: string): Release {
    const r = this.repos.releases.byTag(app.id, parseInput(TagSchema, tag, "tag"));
    if (!r) throw new NotFound(`no release tagged ${tag} in ${app.owner}/${app.slug}`);
    return r;
  }

  /**
   * The app's release with this version, read as publishing reads it ("v1.2.3" and "1.2.3+build"
   * are 1.2.3), or undefined. Invalid when it is not a semantic version.
   */
  findReleaseByVersion(app: App, version: string): Release | undefined {
    return this.repos.releases.byVersion(app.id, parseInput(VersionSchema, version, "release version"));
  }

  /**
   * Newest first. `page` starts at 1; `perPage` is capped at 100; drafts are included unless
   * `drafts: false` (with channel names: only drafts of those channels, see `draftScope`).
   */
  listReleases(app: App, opts: { page: number; perPage: number; drafts?: boolean | string[] }): { items: Release[]; total: number } {
    const perPage = Math.max(1, Math.min(100, Math.floor(opts.perPage)));
    const page = Math.max(1, Math.floor(opts.page));
    return this.repos.releases.list(app.id, { offset: (page - 1) * perPage, limit: perPage, drafts: opts.drafts ?? true });
  }

  /**
   * The release a client should get. Without a channel: the newest published, non-draft,
   * non-prerelease release. With a channel: its current release when the rollout is complete or
   * the client's bucket (from `installId`) is inside it; otherwise the channel's previous release,
   * else the current one is withheld (NotFound only when the channel has nothing else to serve).
   */
  latestRelease(app: App, opts: { channel?: string; installId?: string } = {}): LatestResult {
    if (opts.channel === undefined) {
      const r = this.repos.releases.latestPublished(app.id);
      if (!r) throw new NotFound(`${app.owner}/${app.slug} has no published release`);
      return { release: r, source: "latest" };
    }
    const ch = this.getChannel(app, opts.channel);
    if (ch.current_release_id === null) throw new NotFound(`channel ${opts.channel} of ${app.owner}/${app.slug} has no release`);
    const inside = ch.rollout_percent >= 100 ||
      (opts.installId !== undefined && inRollout(ch.rollout_percent, rolloutBucket(app.id, ch.name, ch.current_release_id, opts.installId)));
    const current = this.getRelease(ch.current_release_id);
    if (inside) return { release: current, source: "current" };
    if (ch.previous_release_id !== null) return { release: this.getRelease(ch.previous_release_id), source: "previous" };
    // A first rollout has no previous channel release: hold the client on the app's newest published
    // release older than the candidate; when there is none, the candidate is all there is to serve
    // (a client must never read "no releases" while the channel has one).
    const older = this.repos.releases.latestPublished(app.id, current);
    return older ? { release: older, source: "previous" } : { release: current, source: "current" };
  }

  /** Deletes a release and its artifact rows (blobs go at the next retention run). Conflict if a channel points at it. */
  deleteRelease(release: Release, by: Principal): void {
    const app = this.getApp(release.app_id);
    this.authorize(by, "delete", { app, channel: release.channel });
    this.repos.transaction(() => {
      if (!this.repos.releases.get(release.id)) throw new NotFound(`no release with id ${release.id}`);
      if (this.repos.channels.pinnedReleaseIds().has(release.id)) {
        throw new Conflict(`release ${release.tag} is the current or previous release of a channel; promote or roll back first`);
      }
      this.deleteReleaseRows(app, release, by, {});
    });
  }

  private deleteReleaseRows(app: App, release: Release, by: Principal, extra: Record<string, unknown>): void {
    const artifacts = this.repos.artifacts.listByRelease(release.id);
    this.repos.releases.delete(release.id);
    this.audit(by, "release.delete", "release", release.id, {
      app: `${app.owner}/${app.slug}`,
      version: release.version,
      tag: release.tag,
      artifacts: artifacts.map((a) => ({ id: a.id, filename: a.filename, sha256: a.sha256 })),
      ...extra,
    });
  }

  // ---------------------------------------------------------------- artifacts

  /**
   * Streams an upload into the blob store (see blobs/store.ts for the commit protocol), at most the
   * configured `uploads.max_bytes`.
   */
  putBlob(body: BlobBody, opts: { expectedSha256?: string } = {}): Promise<StoredBlob> {
    return this.blobs.put(body, { maxBytes: this.config.uploads.max_bytes, expectedSha256: opts.expectedSha256 });
  }

  /** Adds one stored blob to a release as an artifact. Conflict on a duplicate file name. */
  addArtifact(release: Release, input: ArtifactInput, blob: StoredBlob, by: Principal): Artifact {
    const app = this.getApp(release.app_id);
    this.authorize(by, "publish", { app, channel: release.channel });
    const a = this.prepareArtifact(app, input, blob);
    const now = this.now();
    return this.repos.transaction(() => {
      if (!this.repos.releases.get(release.id)) throw new NotFound(`no release with id ${release.id}`);
      if (this.repos.artifacts.byName(release.id, a.filename)) {
        throw new Conflict(`release ${release.tag} already has an artifact named ${a.filename}`, { resource: "ReleaseAsset", code: "already_exists", field: "name" });
      }
      const created = this.repos.artifacts.create({ ...a, release_id: release.id, created_at: now, updated_at: now });
      this.audit(by, "artifact.create", "artifact", created.id, { release_id: release.id, filename: a.filename, sha256: a.sha256, size: a.size_bytes });
      return created;
    });
  }

  /**
   * Everything about an upload that does not depend on its bytes: scope, file name, label,
   * content type, the channel of a release it would create, and a duplicate name. Callers run it
   * BEFORE reading the body, so a refused upload stores nothing; `addArtifact`/`publishRelease`
   * check the same again under the write lock.
   */
  checkUpload(app: App, target: { release: Release } | { channel: string | null }, input: ArtifactInput, by: Principal): void {
    const channel = "release" in target ? target.release.channel : parseInput(NullableChannelSchema, target.channel, "channel");
    this.authorize(by, "publish", { app, channel });
    const p = parseInput(ArtifactInputSchema, input, "artifact");
    if ("release" in target && this.repos.artifacts.byName(target.release.id, p.filename)) {
      throw new Conflict(`release ${target.release.tag} already has an artifact named ${p.filename}`, { resource: "ReleaseAsset", code: "already_exists", field: "name" });
    }
  }

  /** Renames an artifact or changes its label (GitHub's asset PATCH). Conflict when the name is taken. */
  updateArtifact(id: number, patch: ArtifactPatch, by: Principal): Artifact {
    const p = parseInput(ArtifactPatchSchema, patch, "asset");
    const a = this.getArtifact(id);
    const release = this.getRelease(a.release_id);
    this.authorize(by, "publish", { app: this.getApp(a.app_id), channel: release.channel });
    return this.repos.transaction(() => {
      if (p.filename !== undefined && p.filename !== a.filename && this.repos.artifacts.byName(a.release_id, p.filename)) {
        throw new Conflict(`release ${release.tag} already has an artifact named ${p.filename}`, { resource: "ReleaseAsset", code: "already_exists", field: "name" });
      }
      const changes = { ...(p.filename !== undefined ? { filename: p.filename } : {}), ...(p.label !== undefined ? { label: p.label } : {}) };
      if (Object.keys(changes).length === 0) return a;
      const updated = this.repos.artifacts.update(id, { ...changes, updated_at: this.now() });
      this.audit(by, "artifact.update", "artifact", id, { release_id: a.release_id, from: { filename: a.filename, label: a.label }, changes });
      return this.withPendingDownloads(updated);
    });
  }

  private prepareArtifact(app: App, input: ArtifactInput, blob: StoredBlob) {
    const p = parseInput(ArtifactInputSchema, input, "artifact");
    const size = this.blobs.size(blob.sha256);
    if (size === undefined) throw new Invalid(`blob sha256:${blob.sha256} is not stored`);
    const metadata = this.blobs.withSource(blob.sha256, detectArtifact);
    const v = validateForPlatform(metadata, p.platform ?? null);
    return {
      app_id: app.id,
      platform: v.platform,
      filename: p.filename,
      label: p.label ?? null,
      content_type: p.content_type,
      size_bytes: size,
      sha256: blob.sha256,
      storage_key: storageKeyFor(blob.sha256),
      metadata,
      validation_status: v.status,
      validation_reason: v.reason,
      state: "uploaded" as const,
      download_count: 0,
    };
  }

  getArtifact(id: number): Artifact {
    const a = this.repos.artifacts.get(id);
    if (!a) throw new NotFound(`no artifact with id ${id}`);
    return this.withPendingDownloads(a);
  }

  listArtifacts(release: Release): Artifact[] {
    return this.repos.artifacts.listByRelease(release.id).map((a) => this.withPendingDownloads(a));
  }

  findArtifactByName(release: Release, filename: string): Artifact {
    const a = this.repos.artifacts.byName(release.id, filename);
    if (!a) throw new NotFound(`release ${release.tag} has no artifact named ${filename}`);
    return this.withPendingDownloads(a);
  }

  deleteArtifact(id: number, by: Principal): void {
    const a = this.getArtifact(id);
    const release = this.getRelease(a.release_id);
    this.authorize(by, "delete", { app: this.getApp(a.app_id), channel: release.channel });
    this.repos.transaction(() => {
      this.repos.artifacts.delete(id);
      this.audit(by, "artifact.delete", "artifact", id, { release_id: a.release_id, filename: a.filename, sha256: a.sha256 });
    });
  }

  /** Absolute path of a blob, for `Bun.file` downloads. */
  blobPath(sha256: string): string {
    return this.blobs.path(sha256);
  }

  /** Counts one download (in memory; written with the next flush). */
  countDownload(artifactId: number): void {
    this.pendingDownloads.set(artifactId, (this.pendingDownloads.get(artifactId) ?? 0) + 1);
    this.maybeFlush();
  }

  private withPendingDownloads(a: Artifact): Artifact {
    const n = this.pendingDownloads.get(a.id);
    return n ? { ...a, download_count: a.download_count + n } : a;
  }

  // ---------------------------------------------------------------- channels

  getChannel(app: App, name: string): Channel {
    return this.existing(app, name, this.repos.channels.get(app.id, parseInput(ChannelNameSchema, name, "channel")));
  }

  listChannels(app: App): Channel[] {
    return this.repos.channels.list(app.id);
  }

  /**
   * Points a channel (created on first use) at a release, with a rollout percentage (default 100).
   * The promotion gate runs inside the transaction after the pointer moved; when it fails the
   * whole change rolls back and Conflict explains why.
   */
  promote(app: App, channelName: string, releaseId: number, opts: { rolloutPercent?: number }, by: Principal): Channel {
    const rollout = parseInput(RolloutPercentSchema, opts.rolloutPercent ?? 100, "rollout percent");
    return this.changeChannel(app, channelName, "promote", by, (cur, name) => {
      const release = this.repos.releases.get(releaseId);
      if (!release || release.app_id !== app.id) throw new NotFound(`${app.owner}/${app.slug} has no release with id ${releaseId}`);
      const same = cur?.current_release_id === release.id;
      return {
        next: {
          current_release_id: release.id,
          previous_release_id: same ? cur!.previous_release_id : (cur?.current_release_id ?? null),
          rollout_percent: rollout,
          policy: cur?.policy ?? {},
        },
        event: "channel.promote",
        metadata: { release_id: release.id, version: release.version, from_release_id: cur?.current_release_id ?? null, rollout_percent: rollout },
        gate: (ch) => {
          const failures = this.gateFailures(ch);
          if (failures.length > 0) throw new Conflict(`promotion gate failed for ${release.tag} on ${name}: ${failures.join("; ")}`, { gate: failures });
        },
      };
    });
  }

  /** Checks the state a promotion produced (read back from the repository). */
  private gateFailures(ch: Channel): string[] {
    const release = ch.current_release_id === null ? undefined : this.repos.releases.get(ch.current_release_id);
    if (!release) return ["the release does not exist"];
    const out: string[] = [];
    if (release.draft || release.published_at === null) out.push("the release is a draft");
    const artifacts = this.repos.artifacts.listByRelease(release.id);
    if (artifacts.length === 0) out.push("the release has no artifacts");
    if (ch.policy.require_valid !== false) {
      for (const a of artifacts) if (a.validation_status === "invalid") out.push(`${a.filename} is invalid: ${a.validation_reason}`);
    }
    return out;
  }

  /** Puts the channel back on its previous release (at 100%). Conflict when there is none. */
  rollback(app: App, channelName: string, by: Principal): Channel {
    return this.changeChannel(app, channelName, "promote", by, (cur, name) => {
      const ch = this.existing(app, name, cur);
      if (ch.previous_release_id === null) throw new Conflict(`channel ${name} of ${app.owner}/${app.slug} has no previous release to roll back to`);
      return {
        next: { ...ch, current_release_id: ch.previous_release_id, previous_release_id: null, rollout_percent: 100 },
        event: "channel.rollback",
        metadata: { from_release_id: ch.current_release_id, to_release_id: ch.previous_release_id },
      };
    });
  }

  /** Changes the share of clients that get the channel's current release (0 halts it). */
  setRollout(app: App, channelName: string, percent: number, by: Principal): Channel {
    const rollout = parseInput(RolloutPercentSchema, percent, "rollout percent");
    return this.changeChannel(app, channelName, "promote", by, (cur, name) => {
      const ch = this.existing(app, name, cur);
      return { next: { ...ch, rollout_percent: rollout }, event: "channel.rollout", metadata: { from: ch.rollout_percent, to: rollout } };
    });
  }

  /**
   * Replaces a channel's policy (retention `keep_last`/`keep_days`, gate `require_valid`); creates
   * the channel, pointing nowhere, if it does not exist yet.
   */
  setChannelPolicy(app: App, channelName: string, policy: ChannelPolicy, by: Principal): Channel {
    const p = parseInput(ChannelPolicySchema, policy, "channel policy");
    return this.changeChannel(app, channelName, "admin", by, (cur) => ({
      next: {
        current_release_id: cur?.current_release_id ?? null,
        previous_release_id: cur?.previous_release_id ?? null,
        rollout_percent: cur?.rollout_percent ?? 100,
        policy: p,
      },
      event: "channel.policy",
      metadata: { from: cur?.policy ?? null, to: p },
    }));
  }

  /**
   * The shape of every channel change: validate the name, authorize, then in one transaction
   * compute the new state from the current one, store it, run the optional gate on what was
   * stored (a throw rolls everything back) and write the audit event.
   */
  private changeChannel(
    app: App,
    channelName: string,
    action: Action,
    by: Principal,
    change: (
      cur: Channel | undefined,
      name: string,
    ) => { next: Pick<Channel, "current_release_id" | "previous_release_id" | "rollout_percent" | "policy">; event: string; metadata: Record<string, unknown>; gate?: (ch: Channel) => void },
  ): Channel {
    const name = parseInput(ChannelNameSchema, channelName, "channel");
    this.authorize(by, action, { app, channel: name });
    return this.repos.transaction(() => {
      const { next, event, metadata, gate } = change(this.repos.channels.get(app.id, name), name);
      const { current_release_id, previous_release_id, rollout_percent, policy } = next;
      const ch = this.repos.channels.put({ app_id: app.id, name, current_release_id, previous_release_id, rollout_percent, policy, updated_at: this.now() });
      gate?.(ch);
      this.audit(by, event, "channel", `${app.id}/${name}`, { app: `${app.owner}/${app.slug}`, ...metadata });
      return ch;
    });
  }

  private existing(app: App, name: string, ch: Channel | undefined): Channel {
    if (!ch) throw new NotFound(`${app.owner}/${app.slug} has no channel ${name}`);
    return ch;
  }

  // ---------------------------------------------------------------- retention

  /**
   * Applies the retention policies: deletes releases no policy keeps (never one a channel points
   * at), then blobs no artifact references (older than the grace period), then stale staged
   * uploads. Every deletion is an audit event. With `dryRun` nothing changes and the report lists
   * what would go.
   */
  runRetention(opts: { dryRun: boolean }, by: Principal): RetentionReport {
    this.authorize(by, "admin");
    const nowMs = this.clock().getTime();
    const report: RetentionReport = { dry_run: opts.dryRun, releases: [], blobs: [], staging: [] };
    this.repos.transaction(() => {
      const pinned = this.repos.channels.pinnedReleaseIds();
      for (const app of this.repos.apps.list()) {
        const ref = `${app.owner}/${app.slug}`;
        const byChannel = new Map<string | null, Release[]>();
        for (const r of this.repos.releases.all(app.id)) {
          const group = byChannel.get(r.channel);
          if (group) group.push(r);
          else byChannel.set(r.channel, [r]);
        }
        for (const [channel, releases] of byChannel) {
          const rowPolicy = channel === null ? undefined : this.repos.channels.get(app.id, channel)?.policy;
          const policy = retentionPolicyFor(this.config, ref, channel, rowPolicy);
          for (const d of planRetention(releases, policy, pinned, nowMs)) {
            report.releases.push({ app: ref, release_id: d.release.id, version: d.release.version, channel, reason: d.reason });
            if (!opts.dryRun) this.deleteReleaseRows(app, d.release, by, { reason: d.reason, retention: true });
          }
        }
      }
    });
    const referenced = this.repos.artifacts.referencedShas();
    if (opts.dryRun) {
      // Nothing was deleted: a blob whose every reference is in a release that would go, would go too.
      const doomed = new Map<string, number>();
      for (const r of report.releases) for (const a of this.repos.artifacts.listByRelease(r.release_id)) doomed.set(a.sha256, (doomed.get(a.sha256) ?? 0) + 1);
      for (const [sha, n] of doomed) if (this.repos.artifacts.countBySha(sha) === n) referenced.delete(sha);
    }
    const graceMs = this.config.retention.blob_grace_hours * 3_600_000;
    for (const b of this.blobs.list()) {
      if (referenced.has(b.sha256) || nowMs - b.mtimeMs < graceMs) continue;
      if (opts.dryRun || this.deleteBlobIfUnreferenced(b.sha256, b.size, by)) report.blobs.push({ sha256: b.sha256, size: b.size });
    }
    const maxAge = this.config.retention.staging_max_age_hours * 3_600_000;
    report.staging = opts.dryRun ? this.blobs.staleStaging(nowMs, maxAge) : this.blobs.sweepStaging(nowMs, maxAge);
    if (!opts.dryRun) {
      this.repos.transaction(() => {
        for (const f of report.staging) this.audit(by, "staging.delete", "staging", f.name, { size: f.size, retention: true });
        this.audit(by, "retention.run", "retention", "-", { releases: report.releases.length, blobs: report.blobs.length, staging: report.staging.length });
      });
    }
    return report;
  }

  /** Re-checks under the write lock (an upload may have referenced the blob meanwhile), then deletes. */
  private deleteBlobIfUnreferenced(sha256: string, size: number, by: Principal): boolean {
    return this.repos.transaction(() => {
      if (this.repos.artifacts.countBySha(sha256) > 0 || !this.blobs.delete(sha256)) return false;
      this.audit(by, "blob.delete", "blob", sha256, { size, retention: true });
      return true;
    });
  }

  // ---------------------------------------------------------------- audit and lifecycle

  /** Newest first. */
  listAudit(filter: Partial<AuditFilter> = {}): AuditEvent[] {
    return this.repos.audit.list({ ...filter, limit: Math.max(1, Math.min(1000, filter.limit ?? 100)) });
  }

  private maybeFlush(): void {
    if (this.clock().getTime() - this.lastFlushMs >= this.config.tokens.flush_seconds * 1000) this.flush();
  }

  /** Writes batched last-used times and download counts now. */
  flush(): void {
    this.lastFlushMs = this.clock().getTime();
    if (this.pendingLastUsed.size === 0 && this.pendingDownloads.size === 0) return;
    const lastUsed = this.pendingLastUsed;
    const downloads = this.pendingDownloads;
    this.pendingLastUsed = new Map();
    this.pendingDownloads = new Map();
    this.repos.transaction(() => {
      this.repos.tokens.touch(lastUsed);
      this.repos.artifacts.addDownloads(downloads);
    });
  }

  close(): void {
    this.flush();
    this.repos.close();
  }
}

/**
 * Opens the service on a data directory: `<data>/release-server.db` (migrated on open; refused
 * when newer than this binary) and the blob store, sweeping uploads interrupted by a crash.
 */
export function openService(dataDir: string, config: ServerConfig, clock?: () => Date): ReleaseService {
  const repos = openSqlite(join(dataDir, DB_FILE));
  const blobs = new DiskBlobStore(dataDir);
  blobs.sweepStaging((clock?.() ?? new Date()).getTime(), config.retention.staging_max_age_hours * 3_600_000);
  return new ReleaseService({ repos, blobs, config, clock });
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "operator";
  }
}

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
import type { ServerConfig } from "./config.ts";
import { retentionPolicyFor } from "./config.ts";
import { openCheckedBlobStore } from "./blobs/open.ts";
import type { BlobBody, BlobStore, StoredBlob } from "./blobs/types.ts";
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
import { DB_FILE, openRepositories, type DatabaseInfo } from "./storage/open.ts";

export interface ServiceOptions {
  repos: Repositories;
  blobs: BlobStore;
  config: ServerConfig;
  /** Injectable for tests; defaults to the wall clock. */
  clock?: () => Date;
  /** Which database the repositories are on (for logs and `migrate`). */
  database?: DatabaseInfo;
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

export { DB_FILE };

export class ReleaseService {
  readonly repos: Repositories;
  readonly blobs: BlobStore;
  readonly config: ServerConfig;
  readonly database: DatabaseInfo | undefined;
  private readonly clock: () => Date;
  private pendingLastUsed = new Map<number, string>();
  private pendingDownloads = new Map<number, number>();
  private lastFlushMs: number;

  constructor(opts: ServiceOptions) {
    this.repos = opts.repos;
    this.blobs = opts.blobs;
    this.config = opts.config;
    this.database = opts.database;
    this.clock = opts.clock ?? (() => new Date());
    this.lastFlushMs = this.clock().getTime();
  }

  private now(): string {
    return isoSeconds(this.clock());
  }

  private async audit(by: Principal, action: string, target_type: string, target_id: string | number, metadata: Record<string, unknown> = {}): Promise<void> {
    await this.repos.audit.append({ actor: by.actor, action, target_type, target_id: String(target_id), metadata, created_at: this.now() });
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
  async authenticate(raw: string): Promise<Principal> {
    if (!wellFormed(raw)) throw new Unauthorized("malformed token");
    const token = await this.repos.tokens.byHash(hashToken(raw));
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
  async canSee(by: Principal | null, release: Release): Promise<boolean> {
    if (!release.draft) return true;
    const scope = this.draftScope(by, await this.getApp(release.app_id));
    return scope === true || (Array.isArray(scope) && release.channel !== null && scope.includes(release.channel));
  }

  /** Creates a token; `raw` is returned once and never stored. */
  async createToken(input: TokenInput, by: Principal): Promise<{ token: Token; raw: string }> {
    this.authorize(by, "admin");
    const p = parseInput(TokenInputSchema, input, "token");
    const apps = p.apps == null ? null : await Promise.all(p.apps.map(async (ref) => (await this.getAppBySlug(...(ref.split("/") as [string, string]))).id));
    const { default_days, max_days } = this.config.tokens;
    const days = p.expires_in_days !== undefined ? p.expires_in_days : max_days > 0 ? Math.min(default_days, max_days) : default_days;
    if (max_days > 0 && (days === null || days > max_days)) throw new Invalid(`invalid token expires_in_days: must be at most ${max_days} days`);
    const raw = generateToken();
    const created = this.clock();
    const token = await this.storeToken(raw, by, {
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
  async ensureBootstrapToken(raw: string, name: string): Promise<Token> {
    if (!wellFormed(raw)) throw new Invalid("bootstrap token is malformed (expected rls_ followed by 49 base62 characters with a valid checksum)");
    const existing = await this.repos.tokens.byHash(hashToken(raw));
    if (existing) return existing;
    const scopes: TokenScopes = { apps: null, channels: null, actions: ["admin"] };
    return await this.storeToken(raw, ReleaseService.operator("bootstrap"), { name, scopes, created_at: this.now(), expires_at: null });
  }

  /** Stores the hash of `raw` (never `raw` itself) with its audit event. */
  private async storeToken(raw: string, by: Principal, fields: Pick<Token, "name" | "scopes" | "created_at" | "expires_at">): Promise<Token> {
    return this.repos.transaction(async () => {
      const t = await this.repos.tokens.create({
        ...fields,
        token_hash: hashToken(raw),
        display_prefix: displayPrefix(raw),
        created_by: by.actor,
        last_used_at: null,
        revoked_at: null,
      });
      await this.audit(by, "token.create", "token", t.id, { name: t.name, scopes: t.scopes, expires_at: t.expires_at });
      return t;
    });
  }

  async listTokens(): Promise<Token[]> {
    return (await this.repos.tokens.list()).map((t) => ({ ...t, last_used_at: this.pendingLastUsed.get(t.id) ?? t.last_used_at }));
  }

  async revokeToken(id: number, by: Principal): Promise<Token> {
    this.authorize(by, "admin");
    return this.repos.transaction(async () => {
      const t = await this.repos.tokens.get(id);
      if (!t) throw new NotFound(`no token with id ${id}`);
      if (t.revoked_at !== null) return t;
      const revoked = await this.repos.tokens.update(id, { revoked_at: this.now() });
      await this.audit(by, "token.revoke", "token", id, { name: t.name });
      return revoked;
    });
  }

  // ---------------------------------------------------------------- apps

  async createApp(input: NewAppInput, by: Principal): Promise<App> {
    this.authorize(by, "admin");
    const p = parseInput(NewAppSchema, input, "app");
    const now = this.now();
    return this.repos.transaction(async () => {
      const app = await this.repos.apps.create({
        owner: p.owner,
        slug: p.slug,
        display_name: p.display_name ?? p.slug,
        bundle_ids: p.bundle_ids,
        visibility: p.visibility,
        created_at: now,
        updated_at: now,
      });
      await this.audit(by, "app.create", "app", app.id, { owner: app.owner, slug: app.slug });
      return app;
    });
  }

  async getAppBySlug(owner: string, slug: string): Promise<App> {
    const app = await this.repos.apps.bySlug(owner.toLowerCase(), slug.toLowerCase());
    if (!app) throw new NotFound(`no app ${owner}/${slug}`);
    return app;
  }

  async getApp(id: number): Promise<App> {
    const app = await this.repos.apps.get(id);
    if (!app) throw new NotFound(`no app with id ${id}`);
    return app;
  }

  async listApps(): Promise<App[]> {
    return await this.repos.apps.list();
  }

  // ---------------------------------------------------------------- releases

  /** Creates a release without artifacts (GitHub's create-then-upload flow); published unless draft. */
  async createRelease(app: App, input: ReleaseInput, by: Principal): Promise<Release> {
    return (await this.publishRelease(app, input, [], by)).release;
  }

  /**
   * Creates a release and all its artifacts in ONE transaction: either everything is visible or
   * nothing is. Blobs must already be stored (`putBlob`). Conflict when the version or tag exists.
   */
  async publishRelease(app: App, input: ReleaseInput, files: PublishFile[], by: Principal): Promise<{ release: Release; artifacts: Artifact[] }> {
    const p = parseInput(ReleaseInputSchema, input, "release");
    this.authorize(by, "publish", { app, channel: p.channel ?? null });
    const prepared: Awaited<ReturnType<ReleaseService["prepareArtifact"]>>[] = [];
    for (const { blob, ...meta } of files) prepared.push(await this.prepareArtifact(app, meta, blob));
    const names = new Set<string>();
    for (const f of prepared) {
      if (names.has(f.filename)) throw new Conflict(`duplicate artifact name ${f.filename}`, { resource: "ReleaseAsset", code: "already_exists", field: "name" });
      names.add(f.filename);
    }
    const now = this.now();
    return this.repos.transaction(async () => {
      const tag = p.tag ?? (semverOf(p.version) ? `v${p.version}` : p.version);
      if (await this.repos.releases.byVersion(app.id, p.version)) throw new Conflict(`${app.owner}/${app.slug} already has version ${p.version}`, { resource: "Release", code: "already_exists", field: "version" });
      if (await this.repos.releases.byTag(app.id, tag)) throw new Conflict(`${app.owner}/${app.slug} already has tag ${tag}`, { resource: "Release", code: "already_exists", field: "tag_name" });
      const release = await this.repos.releases.create({
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
      const artifacts: Artifact[] = [];
      for (const a of prepared) artifacts.push(await this.repos.artifacts.create({ ...a, release_id: release.id, created_at: now, updated_at: now }));
      await this.audit(by, p.draft ? "release.create" : "release.publish", "release", release.id, {
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
  async updateRelease(release: Release, patch: ReleasePatch, by: Principal): Promise<Release> {
    const p = parseInput(ReleasePatchSchema, patch, "release");
    const app = await this.getApp(release.app_id);
    this.authorize(by, "publish", { app, channel: release.channel });
    if (p.channel !== undefined && p.channel !== release.channel) this.authorize(by, "publish", { app, channel: p.channel });
    return this.repos.transaction(async () => {
      const cur = await this.getRelease(release.id);
      const changes: Partial<Release> = {};
      if (p.tag !== undefined && p.tag !== cur.tag) {
        if (await this.repos.releases.byTag(cur.app_id, p.tag)) {
          throw new Conflict(`${app.owner}/${app.slug} already has tag ${p.tag}`, { resource: "Release", code: "already_exists", field: "tag_name" });
        }
        changes.tag = p.tag;
        const version = versionForTag(p.tag);
        if (cur.version === versionForTag(cur.tag) && version !== cur.version) {
          if (await this.repos.releases.byVersion(cur.app_id, version)) {
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
        if ((await this.repos.channels.pinnedReleaseIds()).has(cur.id)) {
          throw new Conflict(`release ${cur.tag} is the current or previous release of a channel; it cannot become a draft`);
        }
        changes.published_at = null;
      }
      if (Object.keys(changes).length === 0) return cur; // nothing changed: no write, no event
      const updated = await this.repos.releases.update(cur.id, changes);
      await this.audit(by, publishing ? "release.publish" : "release.update", "release", cur.id, {
        app: `${app.owner}/${app.slug}`,
        version: updated.version,
        tag: updated.tag,
        changes: Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, k === "notes" && typeof v === "string" ? `(${v.length} characters)` : v])),
      });
      return updated;
    });
  }

  async getRelease(id: number): Promise<Release> {
    const r = await this.repos.releases.get(id);
    if (!r) throw new NotFound(`no release with id ${id}`);
    return r;
  }

  async getReleaseByTag(app: App, tag: string): Promise<Release> {
    const r = await this.repos.releases.byTag(app.id, parseInput(TagSchema, tag, "tag"));
    if (!r) throw new NotFound(`no release tagged ${tag} in ${app.owner}/${app.slug}`);
    return r;
  }

  /**
   * The app's release with this version, read as publishing reads it ("v1.2.3" and "1.2.3+build"
   * are 1.2.3), or undefined. Invalid when it is not a semantic version.
   */
  async findReleaseByVersion(app: App, version: string): Promise<Release | undefined> {
    return await this.repos.releases.byVersion(app.id, parseInput(VersionSchema, version, "release version"));
  }

  /**
   * Newest first. `page` starts at 1; `perPage` is capped at 100; drafts are included unless
   * `drafts: false` (with channel names: only drafts of those channels, see `draftScope`).
   */
  async listReleases(app: App, opts: { page: number; perPage: number; drafts?: boolean | string[] }): Promise<{ items: Release[]; total: number }> {
    const perPage = Math.max(1, Math.min(100, Math.floor(opts.perPage)));
    const page = Math.max(1, Math.floor(opts.page));
    return await this.repos.releases.list(app.id, { offset: (page - 1) * perPage, limit: perPage, drafts: opts.drafts ?? true });
  }

  /**
   * The release a client should get. Without a channel: the newest published, non-draft,
   * non-prerelease release. With a channel: its current release when the rollout is complete or
   * the client's bucket (from `installId`) is inside it; otherwise the channel's previous release,
   * else the current one is withheld (NotFound only when the channel has nothing else to serve).
   */
  async latestRelease(app: App, opts: { channel?: string; installId?: string } = {}): Promise<LatestResult> {
    if (opts.channel === undefined) {
      const r = await this.repos.releases.latestPublished(app.id);
      if (!r) throw new NotFound(`${app.owner}/${app.slug} has no published release`);
      return { release: r, source: "latest" };
    }
    const ch = await this.getChannel(app, opts.channel);
    if (ch.current_release_id === null) throw new NotFound(`channel ${opts.channel} of ${app.owner}/${app.slug} has no release`);
    const inside = ch.rollout_percent >= 100 ||
      (opts.installId !== undefined && inRollout(ch.rollout_percent, rolloutBucket(app.id, ch.name, ch.current_release_id, opts.installId)));
    const current = await this.getRelease(ch.current_release_id);
    if (inside) return { release: current, source: "current" };
    if (ch.previous_release_id !== null) return { release: await this.getRelease(ch.previous_release_id), source: "previous" };
    // A first rollout has no previous channel release: hold the client on the app's newest published
    // release older than the candidate; when there is none, the candidate is all there is to serve
    // (a client must never read "no releases" while the channel has one).
    const older = await this.repos.releases.latestPublished(app.id, current);
    return older ? { release: older, source: "previous" } : { release: current, source: "current" };
  }

  /** Deletes a release and its artifact rows (blobs go at the next retention run). Conflict if a channel points at it. */
  async deleteRelease(release: Release, by: Principal): Promise<void> {
    const app = await this.getApp(release.app_id);
    this.authorize(by, "delete", { app, channel: release.channel });
    await this.repos.transaction(async () => {
      if (!await this.repos.releases.get(release.id)) throw new NotFound(`no release with id ${release.id}`);
      if ((await this.repos.channels.pinnedReleaseIds()).has(release.id)) {
        throw new Conflict(`release ${release.tag} is the current or previous release of a channel; promote or roll back first`);
      }
      await this.deleteReleaseRows(app, release, by, {});
    });
  }

  private async deleteReleaseRows(app: App, release: Release, by: Principal, extra: Record<string, unknown>): Promise<void> {
    const artifacts = await this.repos.artifacts.listByRelease(release.id);
    await this.repos.releases.delete(release.id);
    await this.audit(by, "release.delete", "release", release.id, {
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
  async addArtifact(release: Release, input: ArtifactInput, blob: StoredBlob, by: Principal): Promise<Artifact> {
    const app = await this.getApp(release.app_id);
    this.authorize(by, "publish", { app, channel: release.channel });
    const a = await this.prepareArtifact(app, input, blob);
    const now = this.now();
    return this.repos.transaction(async () => {
      if (!await this.repos.releases.get(release.id)) throw new NotFound(`no release with id ${release.id}`);
      if (await this.repos.artifacts.byName(release.id, a.filename)) {
        throw new Conflict(`release ${release.tag} already has an artifact named ${a.filename}`, { resource: "ReleaseAsset", code: "already_exists", field: "name" });
      }
      const created = await this.repos.artifacts.create({ ...a, release_id: release.id, created_at: now, updated_at: now });
      await this.audit(by, "artifact.create", "artifact", created.id, { release_id: release.id, filename: a.filename, sha256: a.sha256, size: a.size_bytes });
      return created;
    });
  }

  /**
   * Everything about an upload that does not depend on its bytes: scope, file name, label,
   * content type, the channel of a release it would create, and a duplicate name. Callers run it
   * BEFORE reading the body, so a refused upload stores nothing; `addArtifact`/`publishRelease`
   * check the same again under the write lock.
   */
  async checkUpload(app: App, target: { release: Release } | { channel: string | null }, input: ArtifactInput, by: Principal): Promise<void> {
    const channel = "release" in target ? target.release.channel : parseInput(NullableChannelSchema, target.channel, "channel");
    this.authorize(by, "publish", { app, channel });
    const p = parseInput(ArtifactInputSchema, input, "artifact");
    if ("release" in target && await this.repos.artifacts.byName(target.release.id, p.filename)) {
      throw new Conflict(`release ${target.release.tag} already has an artifact named ${p.filename}`, { resource: "ReleaseAsset", code: "already_exists", field: "name" });
    }
  }

  /** Renames an artifact or changes its label (GitHub's asset PATCH). Conflict when the name is taken. */
  async updateArtifact(id: number, patch: ArtifactPatch, by: Principal): Promise<Artifact> {
    const p = parseInput(ArtifactPatchSchema, patch, "asset");
    const a = await this.getArtifact(id);
    const release = await this.getRelease(a.release_id);
    this.authorize(by, "publish", { app: await this.getApp(a.app_id), channel: release.channel });
    return this.repos.transaction(async () => {
      if (p.filename !== undefined && p.filename !== a.filename && await this.repos.artifacts.byName(a.release_id, p.filename)) {
        throw new Conflict(`release ${release.tag} already has an artifact named ${p.filename}`, { resource: "ReleaseAsset", code: "already_exists", field: "name" });
      }
      const changes = { ...(p.filename !== undefined ? { filename: p.filename } : {}), ...(p.label !== undefined ? { label: p.label } : {}) };
      if (Object.keys(changes).length === 0) return a;
      const updated = await this.repos.artifacts.update(id, { ...changes, updated_at: this.now() });
      await this.audit(by, "artifact.update", "artifact", id, { release_id: a.release_id, from: { filename: a.filename, label: a.label }, changes });
      return this.withPendingDownloads(updated);
    });
  }

  private async prepareArtifact(app: App, input: ArtifactInput, blob: StoredBlob) {
    const p = parseInput(ArtifactInputSchema, input, "artifact");
    const size = (await this.blobs.stat(blob.sha256))?.size;
    if (size === undefined) throw new Invalid(`blob sha256:${blob.sha256} is not stored`);
    const metadata = await this.blobs.inspect(blob.sha256, detectArtifact);
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

  async getArtifact(id: number): Promise<Artifact> {
    const a = await this.repos.artifacts.get(id);
    if (!a) throw new NotFound(`no artifact with id ${id}`);
    return this.withPendingDownloads(a);
  }

  async listArtifacts(release: Release): Promise<Artifact[]> {
    return (await this.repos.artifacts.listByRelease(release.id)).map((a) => this.withPendingDownloads(a));
  }

  async findArtifactByName(release: Release, filename: string): Promise<Artifact> {
    const a = await this.repos.artifacts.byName(release.id, filename);
    if (!a) throw new NotFound(`release ${release.tag} has no artifact named ${filename}`);
    return this.withPendingDownloads(a);
  }

  async deleteArtifact(id: number, by: Principal): Promise<void> {
    const a = await this.getArtifact(id);
    const release = await this.getRelease(a.release_id);
    this.authorize(by, "delete", { app: await this.getApp(a.app_id), channel: release.channel });
    await this.repos.transaction(async () => {
      await this.repos.artifacts.delete(id);
      await this.audit(by, "artifact.delete", "artifact", id, { release_id: a.release_id, filename: a.filename, sha256: a.sha256 });
    });
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

  async getChannel(app: App, name: string): Promise<Channel> {
    return this.existing(app, name, await this.repos.channels.get(app.id, parseInput(ChannelNameSchema, name, "channel")));
  }

  async listChannels(app: App): Promise<Channel[]> {
    return await this.repos.channels.list(app.id);
  }

  /**
   * Points a channel (created on first use) at a release, with a rollout percentage (default 100).
   * The promotion gate runs inside the transaction after the pointer moved; when it fails the
   * whole change rolls back and Conflict explains why.
   */
  async promote(app: App, channelName: string, releaseId: number, opts: { rolloutPercent?: number }, by: Principal): Promise<Channel> {
    const rollout = parseInput(RolloutPercentSchema, opts.rolloutPercent ?? 100, "rollout percent");
    return await this.changeChannel(app, channelName, "promote", by, async (cur, name) => {
      const release = await this.repos.releases.get(releaseId);
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
        gate: async (ch) => {
          const failures = await this.gateFailures(ch);
          if (failures.length > 0) throw new Conflict(`promotion gate failed for ${release.tag} on ${name}: ${failures.join("; ")}`, { gate: failures });
        },
      };
    });
  }

  /** Checks the state a promotion produced (read back from the repository). */
  private async gateFailures(ch: Channel): Promise<string[]> {
    const release = ch.current_release_id === null ? undefined : await this.repos.releases.get(ch.current_release_id);
    if (!release) return ["the release does not exist"];
    const out: string[] = [];
    if (release.draft || release.published_at === null) out.push("the release is a draft");
    const artifacts = await this.repos.artifacts.listByRelease(release.id);
    if (artifacts.length === 0) out.push("the release has no artifacts");
    if (ch.policy.require_valid !== false) {
      for (const a of artifacts) if (a.validation_status === "invalid") out.push(`${a.filename} is invalid: ${a.validation_reason}`);
    }
    return out;
  }

  /** Puts the channel back on its previous release (at 100%). Conflict when there is none. */
  async rollback(app: App, channelName: string, by: Principal): Promise<Channel> {
    return await this.changeChannel(app, channelName, "promote", by, async (cur, name) => {
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
  async setRollout(app: App, channelName: string, percent: number, by: Principal): Promise<Channel> {
    const rollout = parseInput(RolloutPercentSchema, percent, "rollout percent");
    return await this.changeChannel(app, channelName, "promote", by, async (cur, name) => {
      const ch = this.existing(app, name, cur);
      return { next: { ...ch, rollout_percent: rollout }, event: "channel.rollout", metadata: { from: ch.rollout_percent, to: rollout } };
    });
  }

  /**
   * Replaces a channel's policy (retention `keep_last`/`keep_days`, gate `require_valid`); creates
   * the channel, pointing nowhere, if it does not exist yet.
   */
  async setChannelPolicy(app: App, channelName: string, policy: ChannelPolicy, by: Principal): Promise<Channel> {
    const p = parseInput(ChannelPolicySchema, policy, "channel policy");
    return await this.changeChannel(app, channelName, "admin", by, async (cur) => ({
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
  private async changeChannel(
    app: App,
    channelName: string,
    action: Action,
    by: Principal,
    change: (
      cur: Channel | undefined,
      name: string,
    ) => Promise<{ next: Pick<Channel, "current_release_id" | "previous_release_id" | "rollout_percent" | "policy">; event: string; metadata: Record<string, unknown>; gate?: (ch: Channel) => Promise<void> }>,
  ): Promise<Channel> {
    const name = parseInput(ChannelNameSchema, channelName, "channel");
    this.authorize(by, action, { app, channel: name });
    return this.repos.transaction(async () => {
      const { next, event, metadata, gate } = await change(await this.repos.channels.get(app.id, name), name);
      const { current_release_id, previous_release_id, rollout_percent, policy } = next;
      const ch = await this.repos.channels.put({ app_id: app.id, name, current_release_id, previous_release_id, rollout_percent, policy, updated_at: this.now() });
      await gate?.(ch);
      await this.audit(by, event, "channel", `${app.id}/${name}`, { app: `${app.owner}/${app.slug}`, ...metadata });
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
   *
   * A real run holds the database's `retention` lock (Repositories.exclusive), so only one process
   * or replica deletes at a time; another run meanwhile is a Conflict and deletes nothing. Blobs are
   * deleted only when no row references them, and the database is shared by every replica.
   */
  async runRetention(opts: { dryRun: boolean }, by: Principal): Promise<RetentionReport> {
    this.authorize(by, "admin");
    if (opts.dryRun) return this.retention(opts, by);
    const run = await this.repos.exclusive("retention", () => this.retention(opts, by));
    if (!run.locked) throw new Conflict("a retention run is in progress on another process or replica; nothing was deleted, try again when it has finished");
    return run.value;
  }

  private async retention(opts: { dryRun: boolean }, by: Principal): Promise<RetentionReport> {
    const nowMs = this.clock().getTime();
    const report: RetentionReport = { dry_run: opts.dryRun, releases: [], blobs: [], staging: [] };
    await this.repos.transaction(async () => {
      const pinned = await this.repos.channels.pinnedReleaseIds();
      for (const app of await this.repos.apps.list()) {
        const ref = `${app.owner}/${app.slug}`;
        const byChannel = new Map<string | null, Release[]>();
        for (const r of await this.repos.releases.all(app.id)) {
          const group = byChannel.get(r.channel);
          if (group) group.push(r);
          else byChannel.set(r.channel, [r]);
        }
        for (const [channel, releases] of byChannel) {
          const rowPolicy = channel === null ? undefined : (await this.repos.channels.get(app.id, channel))?.policy;
          const policy = retentionPolicyFor(this.config, ref, channel, rowPolicy);
          for (const d of planRetention(releases, policy, pinned, nowMs)) {
            report.releases.push({ app: ref, release_id: d.release.id, version: d.release.version, channel, reason: d.reason });
            if (!opts.dryRun) await this.deleteReleaseRows(app, d.release, by, { reason: d.reason, retention: true });
          }
        }
      }
    });
    const referenced = await this.repos.artifacts.referencedShas();
    if (opts.dryRun) {
      // Nothing was deleted: a blob whose every reference is in a release that would go, would go too.
      const doomed = new Map<string, number>();
      for (const r of report.releases) for (const a of await this.repos.artifacts.listByRelease(r.release_id)) doomed.set(a.sha256, (doomed.get(a.sha256) ?? 0) + 1);
      for (const [sha, n] of doomed) if (await this.repos.artifacts.countBySha(sha) === n) referenced.delete(sha);
    }
    const graceMs = this.config.retention.blob_grace_hours * 3_600_000;
    for await (const b of this.blobs.entries()) {
      if (referenced.has(b.sha256) || nowMs - b.mtimeMs < graceMs) continue;
      if (opts.dryRun || await this.deleteBlobIfUnreferenced(b.sha256, b.size, by, nowMs - graceMs)) report.blobs.push({ sha256: b.sha256, size: b.size });
    }
    const maxAge = this.config.retention.staging_max_age_hours * 3_600_000;
    report.staging = opts.dryRun ? await this.blobs.staleUploads(nowMs, maxAge) : await this.blobs.sweepUploads(nowMs, maxAge);
    if (!opts.dryRun) {
      await this.repos.transaction(async () => {
        for (const f of report.staging) await this.audit(by, "staging.delete", "staging", f.name, { size: f.size, retention: true });
        await this.audit(by, "retention.run", "retention", "-", { releases: report.releases.length, blobs: report.blobs.length, staging: report.staging.length });
      });
    }
    return report;
  }

  /**
   * Re-checks under the write lock (an upload may have referenced the blob meanwhile, or stored the
   * same bytes again, which refreshes its time past `olderThanMs`), then deletes.
   */
  private async deleteBlobIfUnreferenced(sha256: string, size: number, by: Principal, olderThanMs: number): Promise<boolean> {
    return this.repos.transaction(async () => {
      if ((await this.repos.artifacts.countBySha(sha256)) > 0) return false;
      const st = await this.blobs.stat(sha256);
      if (!st || st.mtimeMs > olderThanMs || !(await this.blobs.remove(sha256))) return false;
      await this.audit(by, "blob.delete", "blob", sha256, { size, retention: true });
      return true;
    });
  }

  // ---------------------------------------------------------------- audit and lifecycle

  /** Newest first. */
  async listAudit(filter: Partial<AuditFilter> = {}): Promise<AuditEvent[]> {
    return await this.repos.audit.list({ ...filter, limit: Math.max(1, Math.min(1000, filter.limit ?? 100)) });
  }

  private maybeFlush(): void {
    if (this.clock().getTime() - this.lastFlushMs >= this.config.tokens.flush_seconds * 1000) void this.flush().catch(() => {});
  }

  /**
   * Writes batched last-used times and download counts now. Counts are written as increments and
   * last-used times only move forward, so the batches of several replicas merge; a batch whose
   * write fails is merged back into the pending one and written with the next flush.
   */
  async flush(): Promise<void> {
    this.lastFlushMs = this.clock().getTime();
    if (this.pendingLastUsed.size === 0 && this.pendingDownloads.size === 0) return;
    const lastUsed = this.pendingLastUsed;
    const downloads = this.pendingDownloads;
    this.pendingLastUsed = new Map();
    this.pendingDownloads = new Map();
    try {
      await this.repos.transaction(async () => {
        await this.repos.tokens.touch(lastUsed);
        await this.repos.artifacts.addDownloads(downloads);
      });
    } catch (err) {
      for (const [id, at] of lastUsed) {
        const cur = this.pendingLastUsed.get(id);
        if (cur === undefined || cur < at) this.pendingLastUsed.set(id, at);
      }
      for (const [id, n] of downloads) this.pendingDownloads.set(id, (this.pendingDownloads.get(id) ?? 0) + n);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.repos.close();
  }
}

/**
 * Opens the service on a data directory: the database `storage.database` names (SQLite's
 * `<data>/release-server.db`, or PostgreSQL; migrated on open, refused when newer than this binary)
 * and the blob store, sweeping uploads interrupted by a crash.
 */
export async function openService(dataDir: string, config: ServerConfig, clock?: () => Date): Promise<ReleaseService> {
  const { repos, info } = await openRepositories(dataDir, config);
  try {
    const blobs = await openCheckedBlobStore(dataDir, config);
    await blobs.sweepUploads((clock?.() ?? new Date()).getTime(), config.retention.staging_max_age_hours * 3_600_000);
    return new ReleaseService({ repos, blobs, config, clock, database: info });
  } catch (err) {
    await repos.close();
    throw err;
  }
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "operator";
  }
}

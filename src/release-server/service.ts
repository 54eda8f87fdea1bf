/**
 * ReleaseService: the one API the HTTP layer and the CLI call, a thin front over the service's
 * parts, one per seam: apps (services/apps.ts), tokens (tokens.ts), releases and artifacts
 * (releases.ts), channels and rollout (channels.ts), retention (retention.ts), over what they
 * share (core.ts: repositories, blob store, config, clock, audit, scope checks, batched counters;
 * and its conventions). None of them knows which database or blob store is behind the interfaces.
 */
import type { ServerConfig } from "./config.ts";
import { openCheckedBlobStore } from "./blobs/open.ts";
import type { BlobBody, BlobStore, StoredBlob } from "./blobs/types.ts";
import type { Action, App, Artifact, AuditEvent, Channel, ChannelPolicy, Principal, Release, Token } from "./domain/model.ts";
import type { AuditFilter, Repositories } from "./domain/repository.ts";
import type { ArtifactInput, ArtifactPatch, NewAppInput, ReleaseInput, ReleasePatch, TokenInput } from "./domain/validate.ts";
import { Apps } from "./services/apps.ts";
import { Channels } from "./services/channels.ts";
import { operator, ServiceCore } from "./services/core.ts";
import { Releases } from "./services/releases.ts";
import { Retention } from "./services/retention.ts";
import { Tokens } from "./services/tokens.ts";
import type { LatestResult, PublishFile, RetentionReport } from "./services/types.ts";
import { DB_FILE, openRepositories, type DatabaseInfo } from "./storage/open.ts";

export type { LatestResult, PublishFile, RetentionReport };
export { DB_FILE };

export interface ServiceOptions {
  repos: Repositories;
  blobs: BlobStore;
  config: ServerConfig;
  /** Injectable for tests; defaults to the wall clock. */
  clock?: () => Date;
  /** Which database the repositories are on (for logs and `migrate`). */
  database?: DatabaseInfo;
}

export class ReleaseService {
  readonly repos: Repositories;
  readonly blobs: BlobStore;
  readonly config: ServerConfig;
  readonly database: DatabaseInfo | undefined;
  readonly core: ServiceCore;
  readonly apps: Apps;
  readonly tokens: Tokens;
  readonly releases: Releases;
  readonly channels: Channels;
  readonly retention: Retention;

  constructor(opts: ServiceOptions) {
    this.repos = opts.repos;
    this.blobs = opts.blobs;
    this.config = opts.config;
    this.database = opts.database;
    this.core = new ServiceCore(opts.repos, opts.blobs, opts.config, opts.clock ?? (() => new Date()));
    this.apps = new Apps(this.core);
    this.tokens = new Tokens(this.core, this.apps);
    this.releases = new Releases(this.core, this.apps);
    this.channels = new Channels(this.core, this.releases);
    this.retention = new Retention(this.core, this.releases);
  }

  /** The operator running the CLI against the data directory: unrestricted. */
  static operator(name?: string): Principal {
    return operator(name);
  }

  /** Forbidden unless the principal may do `action` on the app (and channel, when one is involved). */
  authorize(by: Principal, action: Action, target: { app?: App; channel?: string | null } = {}): void {
    this.core.authorize(by, action, target);
  }

  /**
   * Which drafts of `app` the principal may see (drafts are visible to whoever could publish
   * them): all (true), none (false), or those of the listed channels (a channel-scoped token).
   */
  draftScope(by: Principal | null, app: App): boolean | string[] {
    return this.core.draftScope(by, app);
  }

  // ---------------------------------------------------------------- apps (services/apps.ts)

  createApp(input: NewAppInput, by: Principal): Promise<App> {
    return this.apps.createApp(input, by);
  }

  getAppBySlug(owner: string, slug: string): Promise<App> {
    return this.apps.getAppBySlug(owner, slug);
  }

  getApp(id: number): Promise<App> {
    return this.apps.getApp(id);
  }

  listApps(): Promise<App[]> {
    return this.apps.listApps();
  }

  // ---------------------------------------------------------------- tokens (services/tokens.ts)

  authenticate(raw: string): Promise<Principal> {
    return this.tokens.authenticate(raw);
  }

  createToken(input: TokenInput, by: Principal): Promise<{ token: Token; raw: string }> {
    return this.tokens.createToken(input, by);
  }

  ensureBootstrapToken(raw: string, name: string): Promise<Token> {
    return this.tokens.ensureBootstrapToken(raw, name);
  }

  listTokens(): Promise<Token[]> {
    return this.tokens.listTokens();
  }

  revokeToken(id: number, by: Principal): Promise<Token> {
    return this.tokens.revokeToken(id, by);
  }

  // ---------------------------------------------------------------- releases (services/releases.ts)

  canSee(by: Principal | null, release: Release): Promise<boolean> {
    return this.releases.canSee(by, release);
  }

  createRelease(app: App, input: ReleaseInput, by: Principal): Promise<Release> {
    return this.releases.createRelease(app, input, by);
  }

  publishRelease(app: App, input: ReleaseInput, files: PublishFile[], by: Principal): Promise<{ release: Release; artifacts: Artifact[] }> {
    return this.releases.publishRelease(app, input, files, by);
  }

  publishOrAdd(app: App, input: ReleaseInput & { version: string }, file: PublishFile, by: Principal): Promise<{ release: Release; artifact: Artifact }> {
    return this.releases.publishOrAdd(app, input, file, by);
  }

  updateRelease(release: Release, patch: ReleasePatch, by: Principal): Promise<Release> {
    return this.releases.updateRelease(release, patch, by);
  }

  getRelease(id: number): Promise<Release> {
    return this.releases.getRelease(id);
  }

  getReleaseByTag(app: App, tag: string): Promise<Release> {
    return this.releases.getReleaseByTag(app, tag);
  }

  findReleaseByVersion(app: App, version: string): Promise<Release | undefined> {
    return this.releases.findReleaseByVersion(app, version);
  }

  releaseWindow(app: App, opts: { offset: number; limit: number; drafts?: boolean | string[] }): Promise<{ items: Release[]; total: number }> {
    return this.releases.releaseWindow(app, opts);
  }

  listReleases(app: App, opts: { page: number; perPage: number; drafts?: boolean | string[] }): Promise<{ items: Release[]; total: number }> {
    return this.releases.listReleases(app, opts);
  }

  deleteRelease(release: Release, by: Principal): Promise<void> {
    return this.releases.deleteRelease(release, by);
  }

  putBlob(body: BlobBody, opts: { expectedSha256?: string } = {}): Promise<StoredBlob> {
    return this.releases.putBlob(body, opts);
  }

  addArtifact(release: Release, input: ArtifactInput, blob: StoredBlob, by: Principal): Promise<Artifact> {
    return this.releases.addArtifact(release, input, blob, by);
  }

  checkUpload(app: App, target: { release: Release } | { channel: string | null }, input: ArtifactInput, by: Principal): Promise<void> {
    return this.releases.checkUpload(app, target, input, by);
  }

  updateArtifact(id: number, patch: ArtifactPatch, by: Principal): Promise<Artifact> {
    return this.releases.updateArtifact(id, patch, by);
  }

  getArtifact(id: number): Promise<Artifact> {
    return this.releases.getArtifact(id);
  }

  listArtifacts(release: Release): Promise<Artifact[]> {
    return this.releases.listArtifacts(release);
  }

  findArtifactByName(release: Release, filename: string): Promise<Artifact> {
    return this.releases.findArtifactByName(release, filename);
  }

  deleteArtifact(id: number, by: Principal): Promise<void> {
    return this.releases.deleteArtifact(id, by);
  }

  countDownload(artifactId: number): void {
    return this.releases.countDownload(artifactId);
  }

  // ---------------------------------------------------------------- channels (services/channels.ts)

  latestRelease(app: App, opts: { channel?: string; installId?: string } = {}): Promise<LatestResult> {
    return this.channels.latestRelease(app, opts);
  }

  getChannel(app: App, name: string): Promise<Channel> {
    return this.channels.getChannel(app, name);
  }

  listChannels(app: App): Promise<Channel[]> {
    return this.channels.listChannels(app);
  }

  promote(app: App, channelName: string, releaseId: number, opts: { rolloutPercent?: number }, by: Principal): Promise<Channel> {
    return this.channels.promote(app, channelName, releaseId, opts, by);
  }

  rollback(app: App, channelName: string, by: Principal): Promise<Channel> {
    return this.channels.rollback(app, channelName, by);
  }

  setRollout(app: App, channelName: string, percent: number, by: Principal): Promise<Channel> {
    return this.channels.setRollout(app, channelName, percent, by);
  }

  setChannelPolicy(app: App, channelName: string, policy: ChannelPolicy, by: Principal): Promise<Channel> {
    return this.channels.setChannelPolicy(app, channelName, policy, by);
  }

  // ---------------------------------------------------------------- retention (services/retention.ts)

  runRetention(opts: { dryRun: boolean }, by: Principal): Promise<RetentionReport> {
    return this.retention.runRetention(opts, by);
  }

  // ---------------------------------------------------------------- audit and lifecycle

  /** Newest first. */
  async listAudit(filter: Partial<AuditFilter> = {}): Promise<AuditEvent[]> {
    return await this.repos.audit.list({ ...filter, limit: Math.max(1, Math.min(1000, filter.limit ?? 100)) });
  }

  /** Writes batched last-used times and download counts now (see core.ts). */
  flush(): Promise<void> {
    return this.core.flush();
  }

  async close(): Promise<void> {
    await this.flush();
    await this.repos.close();
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

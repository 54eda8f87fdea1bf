/**
 * Persistence contract. Two implementations pass one shared test suite
 * (tests/release-server/platform/repository.contract.ts): storage/memory.ts and storage/sqlite.ts.
 *
 * All methods are synchronous (bun:sqlite is). Inputs are already validated by the service;
 * repositories enforce only uniqueness, which they report as `Conflict`.
 */
import type { App, Artifact, AuditEvent, Channel, Release, Token } from "./model.ts";

export type NewApp = Omit<App, "id">;
export type NewRelease = Omit<Release, "id">;
export type NewArtifact = Omit<Artifact, "id">;
export type NewToken = Omit<Token, "id">;
export type NewAuditEvent = Omit<AuditEvent, "id">;

export interface Page<T> {
  items: T[];
  total: number;
}

export interface AppRepository {
  /** Conflict when owner/slug exists. */
  create(app: NewApp): App;
  get(id: number): App | undefined;
  bySlug(owner: string, slug: string): App | undefined;
  list(): App[];
}

export interface ReleaseRepository {
  /** Conflict when the app already has this version or tag. */
  create(release: NewRelease): Release;
  get(id: number): Release | undefined;
  byTag(appId: number, tag: string): Release | undefined;
  byVersion(appId: number, version: string): Release | undefined;
  /**
   * Newest first (created_at, then id). Drafts: all when `drafts` is true, none when false, and
   * with a list of channel names only the drafts published for one of those channels.
   */
  list(appId: number, page: { offset: number; limit: number; drafts: boolean | string[] }): Page<Release>;
  /** Every release of an app, newest first (retention). */
  all(appId: number): Release[];
  /**
   * The first published, non-draft, non-prerelease release in the order of
   * `domain/versions.ts compareForLatest` (semver releases by version above non-semver ones by
   * creation time); with `notAfter`, the first such one that ranks below that release.
   */
  latestPublished(appId: number, notAfter?: Release): Release | undefined;
  update(id: number, patch: Partial<Omit<Release, "id" | "app_id">>): Release;
  /** Deletes the release and its artifact rows. */
  delete(id: number): void;
}

export interface ArtifactRepository {
  /** Conflict when the release already has an artifact with this file name. */
  create(artifact: NewArtifact): Artifact;
  get(id: number): Artifact | undefined;
  byName(releaseId: number, filename: string): Artifact | undefined;
  listByRelease(releaseId: number): Artifact[];
  /** Conflict when the new file name is taken in the release. */
  update(id: number, patch: Partial<Pick<Artifact, "filename" | "label" | "updated_at">>): Artifact;
  /** How many artifact rows reference this blob. */
  countBySha(sha256: string): number;
  /** Every blob digest some artifact references. */
  referencedShas(): Set<string>;
  delete(id: number): void;
  /** Adds `by` to the download counter of each id (batched writes). */
  addDownloads(counts: Map<number, number>): void;
}

export interface ChannelRepository {
  get(appId: number, name: string): Channel | undefined;
  list(appId: number): Channel[];
  /** Creates or replaces the channel row. */
  put(channel: Channel): Channel;
  /** Release ids any channel of any app points at (current or previous). */
  pinnedReleaseIds(): Set<number>;
}

export interface TokenRepository {
  /** Conflict on a duplicate hash (astronomically unlikely) or name. */
  create(token: NewToken): Token;
  get(id: number): Token | undefined;
  byHash(tokenHash: string): Token | undefined;
  list(): Token[];
  update(id: number, patch: Partial<Pick<Token, "revoked_at" | "last_used_at">>): Token;
  /** Writes several last-used times at once. */
  touch(lastUsed: Map<number, string>): void;
}

export interface AuditFilter {
  /** Newest first; events with id < before. */
  before?: number;
  limit: number;
  action?: string;
  target_type?: string;
  target_id?: string;
}

export interface AuditRepository {
  append(event: NewAuditEvent): AuditEvent;
  list(filter: AuditFilter): AuditEvent[];
}

export interface Repositories {
  apps: AppRepository;
  releases: ReleaseRepository;
  artifacts: ArtifactRepository;
  channels: ChannelRepository;
  tokens: TokenRepository;
  audit: AuditRepository;
  /**
   * Runs `fn` atomically: every write inside commits together or not at all (an exception rolls
   * back and is rethrown). SQLite takes the write lock up front (BEGIN IMMEDIATE). Nested calls
   * join the outer transaction.
   */
  transaction<T>(fn: () => T): T;
  close(): void;
}

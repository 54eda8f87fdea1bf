/**
 * Persistence contract. Three implementations pass one shared test suite
 * (tests/release-server/platform/repository.contract.ts): storage/memory.ts, storage/sqlite.ts and
 * storage/postgres.ts (the last against a real PostgreSQL server).
 *
 * All methods are asynchronous (a database server answers over the network). Inputs are already
 * validated by the service; repositories enforce only uniqueness, which they report as `Conflict`.
 * Several processes ("replicas") may share one database: counters are written as increments and
 * last-used times only move forward, so batches from different replicas merge.
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
  create(app: NewApp): Promise<App>;
  get(id: number): Promise<App | undefined>;
  bySlug(owner: string, slug: string): Promise<App | undefined>;
  list(): Promise<App[]>;
}

export interface ReleaseRepository {
  /** Conflict when the app already has this tag (a version may repeat: "1.0.0" and "v1.0.0" are two tags). */
  create(release: NewRelease): Promise<Release>;
  get(id: number): Promise<Release | undefined>;
  byTag(appId: number, tag: string): Promise<Release | undefined>;
  /** The first created release (created_at, then id) of the app with this version. */
  byVersion(appId: number, version: string): Promise<Release | undefined>;
  /**
   * Newest first (created_at, then id). Drafts: all when `drafts` is true, none when false, and
   * with a list of channel names only the drafts published for one of those channels.
   */
  list(appId: number, page: { offset: number; limit: number; drafts: boolean | string[] }): Promise<Page<Release>>;
  /** Every release of an app, newest first (retention). */
  all(appId: number): Promise<Release[]>;
  /**
   * The first release in `all`'s order (created_at, then id, newest first) that has an artifact
   * named `filename`, among the non-draft ones and the drafts `drafts` admits (as `list` reads it):
   * the seed's `/assets/{name}`. One query on the artifacts' (app, file name) index, however many
   * releases the app has.
   */
  newestWithArtifact(appId: number, filename: string, drafts: boolean | string[]): Promise<Release | undefined>;
  /**
   * The first published, non-draft, non-prerelease release in the order of
   * `domain/versions.ts compareForLatest` (semver releases by version above non-semver ones by
   * creation time); with `notAfter`, the first such one that ranks below that release.
   */
  latestPublished(appId: number, notAfter?: Release): Promise<Release | undefined>;
  /** Conflict when a new tag is taken. */
  update(id: number, patch: Partial<Omit<Release, "id" | "app_id">>): Promise<Release>;
  /** Deletes the release and its artifact rows. */
  delete(id: number): Promise<void>;
}

export interface ArtifactRepository {
  /** Conflict when the release already has an artifact with this file name. */
  create(artifact: NewArtifact): Promise<Artifact>;
  get(id: number): Promise<Artifact | undefined>;
  byName(releaseId: number, filename: string): Promise<Artifact | undefined>;
  listByRelease(releaseId: number): Promise<Artifact[]>;
  /** Conflict when the new file name is taken in the release. */
  update(id: number, patch: Partial<Pick<Artifact, "filename" | "label" | "updated_at">>): Promise<Artifact>;
  /** How many artifact rows reference this blob. */
  countBySha(sha256: string): Promise<number>;
  /** Every blob digest some artifact references. */
  referencedShas(): Promise<Set<string>>;
  delete(id: number): Promise<void>;
  /** Adds each count to the artifact's download counter (an increment: batches of replicas add up). */
  addDownloads(counts: Map<number, number>): Promise<void>;
}

export interface ChannelRepository {
  get(appId: number, name: string): Promise<Channel | undefined>;
  list(appId: number): Promise<Channel[]>;
  /** Creates or replaces the channel row. */
  put(channel: Channel): Promise<Channel>;
}

export interface TokenRepository {
  /** Conflict on a duplicate hash (astronomically unlikely) or name. */
  create(token: NewToken): Promise<Token>;
  get(id: number): Promise<Token | undefined>;
  byHash(tokenHash: string): Promise<Token | undefined>;
  list(): Promise<Token[]>;
  update(id: number, patch: Partial<Pick<Token, "revoked_at" | "last_used_at">>): Promise<Token>;
  /** Writes several last-used times at once; a time older than the stored one is ignored. */
  touch(lastUsed: Map<number, string>): Promise<void>;
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
  append(event: NewAuditEvent): Promise<AuditEvent>;
  list(filter: AuditFilter): Promise<AuditEvent[]>;
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
   * back and is rethrown). Calls made from inside `fn` (however deep in its async flow) join the
   * outer transaction; calls from elsewhere in the process wait for it (SQLite, memory) or run on
   * another connection (PostgreSQL). SQLite takes the write lock up front (BEGIN IMMEDIATE).
   */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Takes the named lock shared by every process on this database and runs `fn` under it, or
   * returns `{ locked: false }` at once when another holder has it (PostgreSQL: a session advisory
   * lock; SQLite: a lease row; memory: in process).
   */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<{ locked: true; value: T } | { locked: false }>;
  close(): Promise<void>;
}

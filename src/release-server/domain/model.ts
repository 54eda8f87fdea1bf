/**
 * The distribution platform's records. Repositories return these; the service hands them to the
 * HTTP layer and the CLI unchanged. Times are UTC ISO-8601 strings with second precision
 * ("2026-11-21T08:00:00Z"), ids are positive integers.
 */

export const PLATFORMS = ["ios", "android_apk", "macos", "linux", "windows"] as const;
export type Platform = (typeof PLATFORMS)[number];

/** Token actions. `admin` implies every other action; every write action implies `read`. */
export const ACTIONS = ["read", "publish", "promote", "delete", "admin"] as const;
export type Action = (typeof ACTIONS)[number];

export type Visibility = "public" | "private";

export interface App {
  id: number;
  owner: string;
  slug: string;
  display_name: string;
  /** Bundle identifier per platform, e.g. {ios: "com.example.app"}. */
  bundle_ids: Partial<Record<Platform, string>>;
  visibility: Visibility;
  created_at: string;
  updated_at: string;
}

export interface Release {
  id: number;
  app_id: number;
  /** Semantic version, without a leading "v". Unique per app. */
  version: string;
  /** Monotonic build number, when the app has one. */
  build: number | null;
  /** Git-style tag, `v<version>` unless given. Unique per app. */
  tag: string;
  name: string | null;
  /** Release notes (GitHub's `body`). */
  notes: string | null;
  /** The channel this release was published for (retention groups releases by it). */
  channel: string | null;
  draft: boolean;
  prerelease: boolean;
  created_by: string;
  created_at: string;
  /** Null while the release is a draft. */
  published_at: string | null;
}

export type ValidationStatus = "valid" | "invalid" | "unchecked";

/** What the bytes of an artifact turned out to be (see domain/detect.ts). */
export interface ArtifactMetadata {
  /** elf, macho, pe, apk, ipa, zip, tar.gz, gzip, dmg, msi, deb, unknown */
  kind: string;
  /** CPU architecture when the format says (x86_64, arm64, ...). */
  arch?: string;
  /** Mach-O: whether an LC_CODE_SIGNATURE load command is present. */
  signed?: boolean;
  /** Extra facts, e.g. the app bundle path inside an IPA. */
  [key: string]: unknown;
}

export interface Artifact {
  id: number;
  app_id: number;
  release_id: number;
  platform: Platform | null;
  filename: string;
  label: string | null;
  content_type: string;
  size_bytes: number;
  sha256: string;
  /** Where the blob lives inside the blob store: `sha256/ab/cd/<hex>`. */
  storage_key: string;
  metadata: ArtifactMetadata;
  validation_status: ValidationStatus;
  /** Why the artifact is invalid (null when valid or unchecked). */
  validation_reason: string | null;
  /** Always "uploaded": a row only exists once its blob is committed (GitHub's `state`). */
  state: "uploaded";
  download_count: number;
  created_at: string;
  updated_at: string;
}

/** Per-channel rules. Retention fields override config; see domain/retention.ts. */
export interface ChannelPolicy {
  keep_last?: number;
  keep_days?: number;
  /** Promotion gate: refuse releases with an invalid artifact (default true). */
  require_valid?: boolean;
}

export interface Channel {
  app_id: number;
  name: string;
  current_release_id: number | null;
  /** What `current` replaced: served to clients outside a partial rollout and used by rollback. */
  previous_release_id: number | null;
  /** 0-100, two decimals at most. */
  rollout_percent: number;
  policy: ChannelPolicy;
  updated_at: string;
}

/** A token's reach. `null` means "any". */
export interface TokenScopes {
  apps: number[] | null;
  channels: string[] | null;
  actions: Action[];
}

export interface Token {
  id: number;
  name: string;
  /** Lowercase hex sha256 of the raw token; the raw token is never stored. */
  token_hash: string;
  /** The first characters of the raw token, for people to recognise it in lists. */
  display_prefix: string;
  scopes: TokenScopes;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface AuditEvent {
  id: number;
  actor: string;
  /** e.g. release.publish, release.delete, channel.promote, token.create, blob.delete */
  action: string;
  target_type: string;
  target_id: string;
  metadata: Record<string, unknown>;
  created_at: string;
}

/** Who is acting: a token, or the operator running the CLI against the data directory. */
export interface Principal {
  /** Written into audit events: `token:<id>:<name>` or `cli:<user>`. */
  actor: string;
  /** Null for the operator (unrestricted). */
  token: Token | null;
}

export const storageKeyFor = (sha256: string) => `sha256/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;

/** UTC ISO-8601 with second precision. */
export const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, "Z");

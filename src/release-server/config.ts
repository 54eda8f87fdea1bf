/**
 * `release-server` configuration: `config/release-server.yaml` (or `--config FILE`, or
 * $RELEASE_SERVER_CONFIG), validated with valibot. Every key is optional; a missing file means the
 * defaults below. A bad file is one error naming the file, the key path and the line (exit 2).
 */
import * as v from "valibot";
import { existsSync, readFileSync } from "node:fs";
import { configError } from "../shared/errors.ts";
import { LineCounter, parse, parseDocument } from "yaml";
import { parseYamlSource, useYaml, yamlIssueError } from "../shared/yaml.ts";
import type { ChannelPolicy } from "./domain/model.ts";
import { ChannelNameSchema, ChannelPolicySchema } from "./domain/validate.ts";

// The yaml library in this program's own bundle (the auditgraph executable loads it from an entry point of its own).
useYaml({ LineCounter, parse, parseDocument });

const Policy = v.strictObject({ keep_last: ChannelPolicySchema.entries.keep_last, keep_days: ChannelPolicySchema.entries.keep_days });
/** Days, hours, seconds and minutes: finite (`.inf` or 1e309 would make a timer fire at once, or a retention that never ends by accident). */
const positive = v.pipe(v.number(), v.finite("must be a finite number"), v.minValue(0), v.maxValue(1_000_000));

const AppRetention = v.strictObject({
  default: v.optional(Policy),
  channels: v.optional(v.record(ChannelNameSchema, Policy), {}),
});

/** Keys that would put S3 credentials in the config file: refused by name, with where they belong. */
const CREDENTIAL_KEYS = ["access_key_id", "secret_access_key", "session_token", "accessKeyId", "secretAccessKey", "sessionToken", "access_key", "secret_key", "credentials"];
const refusedCredential = v.optional(
  v.custom<never>(() => false, "S3 credentials are never read from the config file: set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) in the server's environment"),
);
const int = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));

/** `storage.s3`: where the S3 blob store keeps blobs. Credentials come from the environment only (see above). */
const S3Config = v.strictObject({
  /** Bucket name (default: $S3_BUCKET / $AWS_BUCKET). */
  bucket: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** Key prefix, "" or ending in "/": `<prefix>sha256/ab/cd/<hex>`. */
  prefix: v.optional(v.pipe(v.string(), v.regex(/^(?:|[^/].*\/)$/, 'prefix must be empty or end with "/" (and not start with one)')), ""),
  /** e.g. http://127.0.0.1:7480 (default: $S3_ENDPOINT / $AWS_ENDPOINT, else AWS for the region). */
  endpoint: v.optional(v.pipe(v.string(), v.url())),
  /** Default: $S3_REGION / $AWS_REGION, else us-east-1. */
  region: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** `<bucket>.<endpoint host>` addressing instead of `<endpoint>/<bucket>` (path style, the default). */
  virtual_hosted_style: v.optional(v.boolean(), false),
  /** Multipart part size in MiB (S3: at least 5); grows with uploads.max_bytes to stay within 10 000 parts. */
  part_size_mib: v.optional(int(5, 5120), 8),
  /** Parts of one upload in flight at once (memory per upload: part size × (this + 1)). */
  queue_size: v.optional(int(1, 64), 4),
  /** Answer downloads with a 302 to a presigned URL instead of proxying the bytes. */
  redirect_downloads: v.optional(v.boolean(), false),
  /** Lifetime of those URLs, in seconds. */
  redirect_seconds: v.optional(int(1, 604_800), 300),
  ...Object.fromEntries(CREDENTIAL_KEYS.map((k) => [k, refusedCredential])),
});

export const ConfigSchema = v.strictObject({
  http: v.optional(
    v.strictObject({
      host: v.optional(v.string(), "127.0.0.1"),
      port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)), 8080),
      /** Absolute URL clients reach the server at; null: the origin each request reached (its Host). */
      public_url: v.optional(v.nullable(v.pipe(v.string(), v.url())), null),
    }),
    {},
  ),
  uploads: v.optional(
    v.strictObject({
      /** Largest artifact accepted, in bytes (default 2 GiB). */
      max_bytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 2 * 1024 ** 3),
    }),
    {},
  ),
  tokens: v.optional(
    v.strictObject({
      /** Lifetime of a token created without an explicit one. */
      default_days: v.optional(positive, 90),
      /** Longest lifetime allowed; 0 means tokens may be created without expiry. */
      max_days: v.optional(positive, 365),
      /** How often last-used times and download counts are written (they are batched). */
      flush_seconds: v.optional(positive, 30),
    }),
    {},
  ),
  storage: v.optional(
    v.strictObject({
      /**
       * Where rows live: `sqlite` (`<data>/release-server.db`) or a `postgres://` URL, which
       * $RELEASE_SERVER_DATABASE_URL overrides (keep a password there, not in this file).
       */
      database: v.optional(
        v.pipe(v.string(), v.rawCheck(({ dataset, addIssue }) => {
          const problem = dataset.typed ? databaseProblem(dataset.value) : undefined;
          if (problem) addIssue({ message: problem });
        })),
        "sqlite",
      ),
      /**
       * How long one PostgreSQL call (a query, a connection, a transaction's start or its wait for the
       * write lock; not its COMMIT, which could land after a 503) or one
       * S3 request about objects may take, and how long an S3 download may wait for a byte: a store
       * that does not answer makes the request a 503 after this, not a hang. 0: no limit.
       */
      timeout_seconds: v.optional(positive, 30),
      /** Where artifact bytes live: `disk` (`<data>/blobs`) or `s3` (`storage.s3`). */
      blobs: v.optional(v.picklist(["disk", "s3"]), "disk"),
      s3: v.optional(S3Config, {}),
    }),
    {},
  ),
  retention: v.optional(
    v.strictObject({
      /** Applies to releases whose channel has no policy (and to releases without a channel). */
      default: v.optional(Policy, { keep_last: 20 }),
      /** Per channel name, for every app. */
      channels: v.optional(v.record(ChannelNameSchema, Policy), {
        stable: { keep_last: 50 },
        beta: { keep_last: 10, keep_days: 30 },
        internal: { keep_last: 5, keep_days: 14 },
      }),
      /** Per app ("owner/slug"), overriding the two above. */
      apps: v.optional(v.record(v.pipe(v.string(), v.regex(/^[^/\s]+\/[^/\s]+$/, "app keys must be owner/slug")), AppRetention), {}),
      /** Unreferenced blobs younger than this are kept (an upload may be about to reference them). */
      blob_grace_hours: v.optional(positive, 1),
      /** Staged upload files older than this are removed even if their process still runs. */
      staging_max_age_hours: v.optional(positive, 24),
      /** `serve` runs retention every this many minutes (0: never; `retention run` does it by hand). */
      sweep_minutes: v.optional(positive, 0),
    }),
    {},
  ),
});

export type ServerConfig = v.InferOutput<typeof ConfigSchema>;
export type RetentionPolicy = v.InferOutput<typeof Policy>;

export const DEFAULT_CONFIG_PATH = "config/release-server.yaml";

export const defaultConfig = (): ServerConfig => v.parse(ConfigSchema, {});

/** Explicit path (must exist) → $RELEASE_SERVER_CONFIG → ./config/release-server.yaml if present → defaults. */
export function loadConfig(explicit?: string): { config: ServerConfig; path: string | null } {
  const path = explicit ?? process.env.RELEASE_SERVER_CONFIG ?? (existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined);
  if (path === undefined) return { config: defaultConfig(), path: null };
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw configError(`cannot read config ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return { config: parseConfig(text, path), path };
}

export function parseConfig(text: string, file: string): ServerConfig {
  const src = parseYamlSource(text, file);
  const r = v.safeParse(ConfigSchema, src.data);
  if (r.success) return r.output;
  throw yamlIssueError(src, r.issues[0]);
}

/**
 * The effective retention policy for releases of `app` ("owner/slug") on `channel` (null = none).
 * Most specific wins as a whole: the channel row's own keep_last/keep_days > app+channel > app
 * default > channel > default.
 */
export function retentionPolicyFor(config: ServerConfig, app: string, channel: string | null, channelPolicy?: ChannelPolicy): RetentionPolicy {
  const r = config.retention;
  const own = channelPolicy?.keep_last !== undefined || channelPolicy?.keep_days !== undefined
    ? { keep_last: channelPolicy?.keep_last, keep_days: channelPolicy?.keep_days }
    : undefined;
  const onChannel = (rules: Record<string, RetentionPolicy> | undefined) => (channel === null ? undefined : rules?.[channel]);
  return own ?? onChannel(r.apps[app]?.channels) ?? r.apps[app]?.default ?? onChannel(r.channels) ?? r.default ?? {};
}

/**
 * What is wrong with a database setting, or undefined: "sqlite", or a postgres:// URL that parses,
 * with a port from 1 to 65535 and percent-escapes that decode (`postgres://[bad`, a port of 99999 or
 * a stray `%` were an "internal error: Invalid URL" naming no setting).
 */
export function databaseProblem(s: string): string | undefined {
  if (s === "sqlite") return undefined;
  if (!/^postgres(ql)?:\/\/./.test(s)) return 'must be "sqlite" or a postgres:// URL';
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return "is not a valid URL (a password with reserved characters such as @ : / % must be percent-encoded)";
  }
  if (u.port !== "" && !(Number(u.port) >= 1 && Number(u.port) <= 65535)) return `has port ${u.port}, which is not from 1 to 65535`;
  try {
    decodeURIComponent(u.username);
    decodeURIComponent(u.password);
    decodeURIComponent(u.pathname);
  } catch {
    return "has a % that is not a percent-escape (write a literal % as %25)";
  }
  return undefined;
}

/** The database to open: $RELEASE_SERVER_DATABASE_URL, else `storage.database` ("sqlite" or a postgres:// URL). */
export function databaseOf(config: ServerConfig, env: Record<string, string | undefined> = process.env): string {
  const fromEnv = env.RELEASE_SERVER_DATABASE_URL;
  if (fromEnv) {
    const problem = databaseProblem(fromEnv);
    if (problem) throw configError(`RELEASE_SERVER_DATABASE_URL ${problem}`);
    return fromEnv;
  }
  return config.storage.database;
}

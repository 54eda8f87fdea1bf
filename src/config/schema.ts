/**
 * The configuration schema (valibot). Strict objects: an unknown key is a configuration error, so a
 * typo never silently falls back to a default. Key names follow the reference's config/pkg.yaml.
 */
import * as v from "valibot";

export const DETECTORS = ["pem_private_key", "jwt", "bearer_token", "credential_kv", "url_credentials", "vendor_token"] as const;
export type Detector = (typeof DETECTORS)[number];

export const PROFILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;

// Every number is finite and bounded: YAML reads `.inf` and `1e309` as Infinity, which no
// setting means and which JSON (the run's hashes, --json output) cannot hold.
const MAX_RATIO = 1_000_000;
const MAX_CHUNK_TOKENS = 1_000_000;
/** An integer from `min` to `max` (at most 2^53 - 1: a count or a size in bytes JSON holds exactly). */
const intIn = (min: number, max = Number.MAX_SAFE_INTEGER) => {
  const message = `must be a whole number from ${min} to ${max}`;
  return v.pipe(v.number(), v.integer(message), v.minValue(min, message), v.maxValue(max, message));
};
const positiveInt = intIn(1);
const RATIO_MESSAGE = `must be a finite number above 0 and at most ${MAX_RATIO}`;
const ratio = v.pipe(v.number(), v.finite(RATIO_MESSAGE), v.gtValue(0, RATIO_MESSAGE), v.maxValue(MAX_RATIO, RATIO_MESSAGE));

export const BudgetSchema = v.pipe(
  v.strictObject({ multiplier: ratio, warn_threshold: ratio, block_threshold: ratio }),
  v.check((b) => b.warn_threshold < b.block_threshold, "warn_threshold must be below block_threshold"),
);
const PartialBudget = v.strictObject({
  multiplier: v.optional(ratio),
  warn_threshold: v.optional(ratio),
  block_threshold: v.optional(ratio),
});

export const ProfileSchema = v.strictObject({
  include_paths: v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1)),
  exclude_globs: v.array(v.pipe(v.string(), v.minLength(1))),
  normalization: v.strictObject({ unicode: v.literal("NFC"), line_endings: v.literal("LF") }),
  ingestion: v.pipe(
    v.strictObject({
      allowed_extensions: v.array(v.pipe(v.string(), v.regex(/^\.[A-Za-z0-9_+-]+$/, "must look like .ext"))),
      chunk_tokens: intIn(1, MAX_CHUNK_TOKENS),
      chunk_overlap_tokens: intIn(0, MAX_CHUNK_TOKENS),
      max_file_size_bytes: positiveInt,
      // PDF and Word documents: their own size limit (default 50 MiB, see pipeline/documents/)
      max_document_bytes: v.optional(positiveInt),
      // Symbols of code files through tree-sitter (default true, see pipeline/symbols/)
      symbols: v.optional(v.boolean()),
    }),
    v.check((i) => i.chunk_overlap_tokens < i.chunk_tokens, "chunk_overlap_tokens must be below chunk_tokens"),
  ),
  storage: v.optional(v.strictObject({ footprint_budget: v.optional(PartialBudget) })),
});
export type Profile = v.InferOutput<typeof ProfileSchema>;

/** Git provenance (src/git): commits and authors as graph nodes. Off unless enabled (see the README). */
export const GitSettingsSchema = v.strictObject({
  enabled: v.optional(v.boolean()),
  max_commits: v.optional(intIn(1, 1_000_000)),
});

export const ConfigSchema = v.strictObject({
  active_profile: v.pipe(v.string(), v.regex(PROFILE_NAME, "must be a plain name (letters, digits, '.', '_', '-')")),
  security: v.strictObject({
    redaction: v.strictObject({
      enabled: v.boolean(),
      detectors: v.array(v.picklist(DETECTORS)),
    }),
  }),
  storage: v.strictObject({ footprint_budget: BudgetSchema }),
  git: v.optional(GitSettingsSchema),
  profiles: v.record(v.pipe(v.string(), v.regex(PROFILE_NAME, "profile names must be plain names")), ProfileSchema),
});
export type Config = v.InferOutput<typeof ConfigSchema>;

/**
 * The configuration schema (valibot). Strict objects: an unknown key is a configuration error, so a
 * typo never silently falls back to a default. Key names follow the reference's config/pkg.yaml.
 */
import * as v from "valibot";

export const DETECTORS = ["pem_private_key", "jwt", "bearer_token", "credential_kv", "url_credentials", "vendor_token"] as const;
export type Detector = (typeof DETECTORS)[number];

export const PROFILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;

const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
const ratio = v.pipe(v.number(), v.gtValue(0));

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
      chunk_tokens: positiveInt,
      chunk_overlap_tokens: v.pipe(v.number(), v.integer(), v.minValue(0)),
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
  max_commits: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000))),
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

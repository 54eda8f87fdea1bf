/**
 * Validation at the domain boundary: every value entering the service from HTTP or the CLI goes
 * through one of these valibot schemas, and a failure becomes one `Invalid` error naming the field.
 */
import * as v from "valibot";
import { ACTIONS, PLATFORMS } from "./model.ts";
import { clip, Invalid } from "./errors.ts";
import { gitTagProblem, semverOf, versionForTag } from "./versions.ts";

const noControl = (s: string) => !/[\u0000-\u001f\u007f]/.test(s);

/**
 * Bidirectional controls (ALM, LRM, RLM, the embeddings and overrides, the isolates): shown in pages,
 * dialogs and terminals they reorder the text around them, so an override (U+202E) makes
 * "v7\u202Egpj.exe" read as "v7exe.jpg". Tags and file names refuse them all. Names and labels
 * refuse the embeddings, overrides and isolates only: the marks (ALM, LRM, RLM) reorder nothing but
 * neutral characters next to them, and Hebrew and Arabic writers type them around numbers
 * ("גרסה 2.0\u200f (בטא)").
 */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const noBidi = (s: string) => !BIDI.test(s);
const BIDI_REORDERING = /[\u202a-\u202e\u2066-\u2069]/;
const noBidiReordering = (s: string) => !BIDI_REORDERING.test(s);

/**
 * Zero-width characters (ZWSP, ZWNJ, ZWJ, word joiner, BOM): invisible, so "install\u200B.sh" looks
 * like install.sh. Refused in file names and tags, which people (and scripts) match exactly; names
 * and labels keep them (ZWJ and ZWNJ belong in emoji sequences and in Persian or Indic words).
 */
const noZeroWidth = (s: string) => !/[\u200b-\u200d\u2060\ufeff]/.test(s);

export const SlugSchema = v.pipe(
  v.string(),
  v.regex(/^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/, "must be 1-64 lowercase letters, digits, '.', '_' or '-', starting and ending with a letter or digit"),
  v.check((s) => !s.includes(".."), "must not contain '..'"),
);

export const ChannelNameSchema = v.pipe(
  v.string(),
  v.regex(/^[a-z][a-z0-9-]{0,31}$/, "must be 1-32 lowercase letters, digits or '-', starting with a letter"),
);

/**
 * A tag git accepts (domain/versions.ts `gitTagProblem`): what a lookup by tag takes, so that a
 * release tagged before the checks of `TagSchema` were added is still found.
 */
export const GitTagSchema = v.pipe(
  v.string(),
  v.check((s) => gitTagProblem(s) === undefined, (issue) => `${gitTagProblem(String(issue.input)) ?? "is not a valid tag"} (it must be a tag git accepts)`),
);

/** A new tag: one git accepts, as GitHub accepts any, without bidirectional controls or zero-width characters. */
export const TagSchema = v.pipe(
  GitTagSchema,
  v.check(noBidi, "must not contain bidirectional control characters"),
  v.check(noZeroWidth, "must not contain zero-width characters"),
);

export const NullableChannelSchema = v.nullable(ChannelNameSchema);

/**
 * A release version: a semantic version (a leading "v" and build metadata are dropped), or any
 * other tag git accepts ("nightly", "release/1.0"), kept verbatim (see domain/versions.ts).
 */
export const VersionSchema = v.pipe(
  v.string(),
  v.check((s) => semverOf(s) !== null || v.is(TagSchema, s), "must be a semantic version such as 1.2.3, or a tag git accepts such as nightly"),
  v.transform(versionForTag),
);

export const BuildSchema = v.pipe(v.number(), v.integer("must be an integer"), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));

export const PlatformSchema = v.picklist(PLATFORMS, `must be one of ${PLATFORMS.join(", ")}`);
export const ActionSchema = v.picklist(ACTIONS, `must be one of ${ACTIONS.join(", ")}`);

/** An artifact file name: a plain name, never a path. */
export const FilenameSchema = v.pipe(
  v.string(),
  v.minLength(1, "must not be empty"),
  v.maxLength(255, "must be at most 255 characters"),
  v.check((s) => !/[/\\]/.test(s), "must not contain path separators"),
  v.check((s) => !s.includes(".."), "must not contain '..'"),
  v.check(noControl, "must not contain control characters"),
  // Shown in pages and download dialogs: an override (U+202E) makes "tool\u202Eexe.zip" read as "toolpiz.exe".
  v.check((s) => noBidi(s) && !/[\u0080-\u009f]/.test(s), "must not contain bidirectional or C1 control characters"),
  v.check(noZeroWidth, "must not contain zero-width characters"),
  v.check((s) => s.trim() === s, "must not start or end with whitespace"),
  v.check((s) => s !== ".", "must not be '.'"),
);

const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(?:\s*;\s*[^\u0000-\u001f\u007f]*)?$/;
export const ContentTypeSchema = v.pipe(
  v.string(),
  v.maxLength(255),
  // Tested only within the length (valibot runs every check of a pipe): on a 16 KB header of blanks the pattern backtracked quadratically.
  v.check((s) => s.length <= 255 && MEDIA_TYPE.test(s), "must be a media type such as application/octet-stream"),
);

const text = (max: number) => v.pipe(v.string(), v.maxLength(max, `must be at most ${max} characters`));
const line = (max: number) => v.pipe(text(max), v.check(noControl, "must not contain control characters"));
/** A line the pages show (an app's, a release's or a file's name or label): no bidirectional embeddings, overrides or isolates either. */
const shown = (max: number) => v.pipe(line(max), v.check(noBidiReordering, "must not contain bidirectional embedding, override or isolate characters"));

export const NewAppSchema = v.strictObject({
  owner: SlugSchema,
  slug: SlugSchema,
  display_name: v.optional(shown(200)),
  bundle_ids: v.optional(v.record(PlatformSchema, line(255)), {}),
  visibility: v.optional(v.picklist(["public", "private"]), "public"),
});
export type NewAppInput = v.InferInput<typeof NewAppSchema>;

/** A new release: its tag, or a version its tag is made from (`v<version>` for a semantic version); both may be given. */
export const ReleaseInputSchema = v.strictObject({
  version: v.optional(VersionSchema),
  build: v.optional(v.nullable(BuildSchema)),
  tag: v.optional(v.nullable(TagSchema)),
  name: v.optional(v.nullable(shown(255))),
  notes: v.optional(v.nullable(text(125_000))),
  channel: v.optional(v.nullable(ChannelNameSchema)),
  draft: v.optional(v.boolean(), false),
  /** Default: whether the version is a semantic version with a prerelease part (`isPrereleaseVersion`). */
  prerelease: v.optional(v.boolean()),
});
export type ReleaseInput = v.InferInput<typeof ReleaseInputSchema>;

/** Fields of a release that can change after creation (GitHub's PATCH). */
export const ReleasePatchSchema = v.strictObject({
  tag: v.optional(TagSchema),
  channel: v.optional(v.nullable(ChannelNameSchema)),
  name: v.optional(v.nullable(shown(255))),
  notes: v.optional(v.nullable(text(125_000))),
  draft: v.optional(v.boolean()),
  prerelease: v.optional(v.boolean()),
});
export type ReleasePatch = v.InferInput<typeof ReleasePatchSchema>;

export const ArtifactInputSchema = v.strictObject({
  filename: FilenameSchema,
  content_type: v.optional(ContentTypeSchema, "application/octet-stream"),
  platform: v.optional(v.nullable(PlatformSchema)),
  label: v.optional(v.nullable(shown(255))),
});
export type ArtifactInput = v.InferInput<typeof ArtifactInputSchema>;

/** Fields of an artifact that can change after upload (GitHub's asset PATCH). */
export const ArtifactPatchSchema = v.strictObject({
  filename: v.optional(FilenameSchema),
  label: v.optional(v.nullable(shown(255))),
});
export type ArtifactPatch = v.InferInput<typeof ArtifactPatchSchema>;

export const ChannelPolicySchema = v.strictObject({
  keep_last: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  keep_days: v.optional(v.pipe(v.number(), v.minValue(0))),
  require_valid: v.optional(v.boolean()),
});

export const RolloutPercentSchema = v.pipe(
  v.number("must be a number"),
  v.minValue(0, "must be between 0 and 100"),
  v.maxValue(100, "must be between 0 and 100"),
  // Compared with a tolerance: 0.29 × 100 is 28.999999999999996 in binary floating point.
  v.check((n) => Math.abs(Math.round(n * 100) - n * 100) < 1e-6, "must have at most two decimals"),
);

export const TokenInputSchema = v.strictObject({
  name: v.pipe(line(100), v.minLength(1, "must not be empty")),
  /** Apps as "owner/slug"; null or absent = every app. */
  apps: v.optional(v.nullable(v.array(v.pipe(v.string(), v.regex(/^[^/]+\/[^/]+$/, "must be owner/slug"))))),
  channels: v.optional(v.nullable(v.array(ChannelNameSchema))),
  actions: v.pipe(v.array(ActionSchema), v.minLength(1, "must name at least one action")),
  /** Lifetime in days; null = never expires (only if config allows). */
  expires_in_days: v.optional(v.nullable(v.pipe(v.number(), v.check((n) => n > 0, "must be more than 0 (a token made for 0 days is expired when it is shown)")))),
});
export type TokenInput = v.InferInput<typeof TokenInputSchema>;

/** Parses `value` or throws one `Invalid` naming `what` (also as `details.input`) and the offending field. */
export function parseInput<S extends v.GenericSchema>(schema: S, value: unknown, what: string): v.InferOutput<S> {
  const r = v.safeParse(schema, value);
  if (r.success) return r.output;
  const issue = r.issues[0];
  const path = v.getDotPath(issue);
  // valibot's own messages quote the input ('... but received "<the value>"'): cut it.
  const reason = clip(issue.message);
  throw new Invalid(`invalid ${what}${path ? ` ${path}` : ""}: ${reason}`, { field: path ?? undefined, reason, input: what });
}

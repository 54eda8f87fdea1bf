/**
 * Release tags, versions and their order (pure).
 *
 * GitHub accepts any tag git accepts, so a release is identified by its tag (`gitTagProblem`: git's
 * ref-name rules), unique per app. Its `version` is derived: the semantic version the tag names
 * ("v1.2.3" → "1.2.3", "1.2.3+build" → "1.2.3") or, for a tag that is not one ("nightly",
 * "release/1.0", "pkg@1.2.3"), the tag itself, verbatim. A version is not unique: "1.0.0", "v1.0.0"
 * and "v1.0.0+build.7" are three releases (three tags) of version 1.0.0, which rank by creation
 * among themselves.
 *
 * Where the server picks ONE release (`latest` without a channel, and the fallback of a channel's
 * first partial rollout) it orders by `versionKey`: semver releases by version precedence, above
 * every non-semver release; non-semver releases (key "") by creation time. Lists stay newest
 * created first, as GitHub lists them.
 */
import semver from "semver";
import type { Release } from "./model.ts";

/** The longest tag accepted (git has no limit of its own; URLs, logs and indexes want one). */
const MAX_TAG_LENGTH = 255;

/**
 * Why git would refuse `tag` as a tag name, or undefined when it accepts it: `git check-ref-format`
 * on `refs/tags/<tag>` (no `..`, control characters, space, `~ ^ : ? * [ \`, `@{`; no
 * component starting with `.` or ending with `.lock`; no leading, trailing or doubled `/`; not
 * ending with `.`), and `git tag`'s own refusal of a leading `-`. Plus our length limit.
 */
export function gitTagProblem(tag: string): string | undefined {
  if (tag === "") return "must not be empty";
  if (tag.length > MAX_TAG_LENGTH) return `must be at most ${MAX_TAG_LENGTH} characters`;
  if (/[\u0000-\u0020\u007f]/.test(tag)) return "must not contain spaces or control characters";
  const bad = /[~^:?*[\\]/.exec(tag);
  if (bad) return `must not contain '${bad[0]}'`;
  if (tag.includes("..")) return "must not contain '..'";
  if (tag.includes("@{")) return "must not contain '@{'";
  if (tag.startsWith("-")) return "must not start with '-'";
  if (tag.startsWith("/") || tag.endsWith("/") || tag.includes("//")) return "must not start or end with '/' or contain '//'";
  if (tag.endsWith(".")) return "must not end with '.'";
  for (const part of tag.split("/")) {
    if (part.startsWith(".")) return "no '/'-separated part may start with '.'";
    if (part.endsWith(".lock")) return "no '/'-separated part may end with '.lock'";
  }
  return undefined;
}

/** The normalized semantic version of `s` (a leading "v" dropped, build metadata dropped), or null. */
export function semverOf(s: string): string | null {
  return s.length <= 128 ? semver.valid(s) : null;
}

/** Whether a version is a semantic version with a prerelease part (`1.2.0-rc.1`): a release made without an explicit prerelease flag is marked so, and stays out of `latest`. */
export const isPrereleaseVersion = (version: string): boolean => semverOf(version)?.includes("-") ?? false;

/** The version a tag stands for: its semantic version, else the tag itself. */
export const versionForTag = (tag: string): string => semverOf(tag) ?? tag;
/** The tag publishing a version without one gives it: `v<version>` for a semantic version, else the version itself. */
export const tagForVersion = (version: string): string => (semverOf(version) ? `v${version}` : version);

const pad = (n: number) => String(n).padStart(16, "0");

/**
 * A string whose byte order is semver precedence: zero-padded major.minor.patch, then "~" for a
 * release (above any prerelease) or "-" and the prerelease identifiers, numeric ones ("0" + padded,
 * below alphanumeric ones as semver says) and alphanumeric ones ("1" + the identifier), separated
 * by a space (below every identifier character, so fewer identifiers rank lower). "" for a version
 * that is not semver, which ranks below every semver one.
 */
export function versionKey(version: string): string {
  const v = semver.parse(version);
  if (!v || v.version !== version) return "";
  const core = `${pad(v.major)}.${pad(v.minor)}.${pad(v.patch)}`;
  if (v.prerelease.length === 0) return `${core}~`;
  return `${core}-${v.prerelease.map((id) => (typeof id === "number" ? `0${pad(id)}` : `1${id}`)).join(" ")}`;
}

/** Descending "which release to pick" order: version key, then creation time, then id. */
export function compareForLatest(a: Release, b: Release): number {
  const ka = versionKey(a.version), kb = versionKey(b.version);
  if (ka !== kb) return ka < kb ? 1 : -1;
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
  return b.id - a.id;
}

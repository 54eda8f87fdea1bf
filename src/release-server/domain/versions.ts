/**
 * Release versions and their order (pure).
 *
 * GitHub accepts any tag, so a release's `version` is the semantic version its tag names ("v1.2.3"
 * → "1.2.3", "1.2.3+build" → "1.2.3") or, for a tag that is not one ("nightly", "2026-11-28"), the
 * tag itself, verbatim. The two cannot collide: a verbatim tag is never a valid semantic version.
 *
 * Where the server picks ONE release (`latest` without a channel, and the fallback of a channel's
 * first partial rollout) it orders by `versionKey`: semver releases by version precedence, above
 * every non-semver release; non-semver releases (key "") by creation time. Lists stay newest
 * created first, as GitHub lists them.
 */
import semver from "semver";
import type { Release } from "./model.ts";

/** The normalized semantic version of `s` (a leading "v" dropped, build metadata dropped), or null. */
export function semverOf(s: string): string | null {
  return s.length <= 128 ? semver.valid(s) : null;
}

/** The version a tag stands for: its semantic version, else the tag itself. */
export const versionForTag = (tag: string): string => semverOf(tag) ?? tag;

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

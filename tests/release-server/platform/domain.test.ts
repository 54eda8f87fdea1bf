/** The pure domain rules: retention planning and policy precedence, token scopes, rollout buckets. */
import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { parseConfig, retentionPolicyFor } from "../../../src/release-server/config.ts";
import type { Release } from "../../../src/release-server/domain/model.ts";
import { planRetention } from "../../../src/release-server/domain/retention.ts";
import { inRollout, rolloutBucket } from "../../../src/release-server/domain/rollout.ts";
import { actionAllowed, scopeDenial } from "../../../src/release-server/domain/tokens.ts";
import { ContentTypeSchema, parseInput, RolloutPercentSchema, TagSchema, VersionSchema } from "../../../src/release-server/domain/validate.ts";
import { parseRange } from "../../../src/release-server/http/download.ts";
import { clip } from "../../../src/release-server/domain/errors.ts";
import { compareForLatest, gitTagProblem, versionForTag, versionKey } from "../../../src/release-server/domain/versions.ts";
import semver from "semver";

const NOW = Date.parse("2026-03-01T00:00:00Z");
const daysAgo = (d: number) => new Date(NOW - d * 86_400_000).toISOString().replace(/\.\d{3}Z$/, "Z");
const rel = (id: number, ageDays: number) => ({ id, created_at: daysAgo(ageDays) }) as Release;
// Newest first, one a day: ids 10 (today) .. 1 (9 days ago).
const releases = Array.from({ length: 10 }, (_, i) => rel(10 - i, i));
const ids = (d: ReturnType<typeof planRetention>) => d.map((x) => x.release.id);

describe("planRetention", () => {
  test("no rule keeps everything", () => {
    expect(planRetention(releases, {}, new Set(), NOW)).toEqual([]);
  });
  test("keep_last alone", () => {
    expect(ids(planRetention(releases, { keep_last: 7 }, new Set(), NOW))).toEqual([3, 2, 1]);
  });
  test("keep_days alone", () => {
    const doomed = planRetention(releases, { keep_days: 7.5 }, new Set(), NOW);
    expect(ids(doomed)).toEqual([2, 1]);
    expect(doomed[0].reason).toBe("older than 7.5 days");
  });
  test("both: kept when either rule keeps it", () => {
    expect(ids(planRetention(releases, { keep_last: 2, keep_days: 5 }, new Set(), NOW))).toEqual([5, 4, 3, 2, 1]);
    expect(ids(planRetention(releases, { keep_last: 8, keep_days: 5 }, new Set(), NOW))).toEqual([2, 1]);
    expect(planRetention(releases, { keep_last: 8, keep_days: 5 }, new Set(), NOW)[0].reason).toBe("not among the newest 8 and older than 5 days");
  });
  test("pinned releases are never planned, whatever their age", () => {
    expect(ids(planRetention(releases, { keep_last: 1 }, new Set([1, 5]), NOW))).toEqual([9, 8, 7, 6, 4, 3, 2]);
  });
});

describe("retentionPolicyFor", () => {
  const config = parseConfig(
    `retention:
  default: { keep_last: 20 }
  channels:
    stable: { keep_last: 50 }
    beta: { keep_days: 30 }
  apps:
    acme/tool:
      default: { keep_last: 3 }
      channels:
        beta: { keep_last: 2 }
`,
    "server.yaml",
  );
  test("another app: the channel's config policy, else the default", () => {
    expect(retentionPolicyFor(config, "other/app", "stable")).toEqual({ keep_last: 50 });
    expect(retentionPolicyFor(config, "other/app", "nightly")).toEqual({ keep_last: 20 });
    expect(retentionPolicyFor(config, "other/app", null)).toEqual({ keep_last: 20 });
  });
  test("an app's own rules: app+channel, then the app's default, before the channel's config policy", () => {
    expect(retentionPolicyFor(config, "acme/tool", "beta")).toEqual({ keep_last: 2 }); // whole policy: beta's keep_days is not merged in
    expect(retentionPolicyFor(config, "acme/tool", "stable")).toEqual({ keep_last: 3 });
    expect(retentionPolicyFor(config, "acme/tool", null)).toEqual({ keep_last: 3 });
  });
  test("a channel row's retention fields win; a row without any (gate only) falls through", () => {
    expect(retentionPolicyFor(config, "acme/tool", "beta", { keep_days: 7, require_valid: false })).toEqual({ keep_days: 7 });
    expect(retentionPolicyFor(config, "acme/tool", "beta", { require_valid: false })).toEqual({ keep_last: 2 });
    expect(retentionPolicyFor(parseConfig("retention:\n  default: {}\n  channels: {}\n", "empty.yaml"), "a/b", "x")).toEqual({});
  });
});

describe("token scopes", () => {
  const ci = { apps: [1], channels: ["beta"], actions: ["publish" as const] };
  test("admin implies everything; write actions imply read", () => {
    expect(actionAllowed(["admin"], "delete")).toBe(true);
    expect(actionAllowed(["publish"], "read")).toBe(true);
    expect(actionAllowed(["read"], "publish")).toBe(false);
    expect(actionAllowed(["publish"], "promote")).toBe(false);
  });
  test("app and channel limits", () => {
    expect(scopeDenial(ci, "publish", { appId: 1, channel: "beta" })).toBeUndefined();
    expect(scopeDenial(ci, "publish", { appId: 2, channel: "beta" })).toBe("token is not valid for this app");
    expect(scopeDenial(ci, "publish", { appId: 1, channel: "stable" })).toBe("token is not valid for channel 'stable'");
    expect(scopeDenial(ci, "publish", { appId: 1 })).toBe("token is limited to channels and the target has none");
    expect(scopeDenial(ci, "read", { appId: 1 })).toBeUndefined();
    expect(scopeDenial(ci, "promote", { appId: 1, channel: "beta" })).toBe("token lacks the 'promote' action");
    expect(scopeDenial({ apps: null, channels: null, actions: ["delete"] }, "delete", { appId: 99 })).toBeUndefined();
  });
});

describe("rollout buckets", () => {
  test("stable per (app, channel, release, install), spread over 0..9999", () => {
    expect(rolloutBucket(1, "stable", 7, "abc")).toBe(rolloutBucket(1, "stable", 7, "abc"));
    const buckets = Array.from({ length: 5000 }, (_, i) => rolloutBucket(1, "stable", 7, `i${i}`));
    expect(Math.min(...buckets)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...buckets)).toBeLessThan(10_000);
    const share = buckets.filter((b) => inRollout(10, b)).length / buckets.length;
    expect(share).toBeGreaterThan(0.08);
    expect(share).toBeLessThan(0.12);
    // A new release draws different canaries.
    const next = Array.from({ length: 5000 }, (_, i) => rolloutBucket(1, "stable", 8, `i${i}`));
    expect(next.filter((b, i) => inRollout(10, b) && inRollout(10, buckets[i])).length).toBeLessThan(100);
  });
  test("0% serves nobody, 100% everybody, basis-point precision", () => {
    expect(inRollout(0, 0)).toBe(false);
    expect(inRollout(100, 9999)).toBe(true);
    expect(inRollout(0.01, 0)).toBe(true);
    expect(inRollout(0.01, 1)).toBe(false);
  });
});

describe("versions: any tag is a version; the order key is semver precedence", () => {
  test("versionKey sorts as semver.compare does, and every non-semver version below", () => {
    const versions = [
      "0.0.1", "0.9.0", "0.10.0", "1.0.0-0", "1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-a", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
      "1.0.0-alpha-1", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.9.0", "1.10.0", "2.0.0", "10.0.0",
      "9007199254740991.0.0",
    ];
    const shuffled = [...versions].sort(() => Math.random() - 0.5);
    expect([...shuffled].sort((a, b) => semver.compare(a, b))).toEqual(versions);
    expect([...shuffled].sort((a, b) => (versionKey(a) < versionKey(b) ? -1 : versionKey(a) > versionKey(b) ? 1 : 0))).toEqual(versions);
    for (const v of ["nightly", "2026-11-28", "v1", "1.0"]) {
      expect(versionKey(v)).toBe("");
      expect(versionKey(v) < versionKey("0.0.0-0")).toBe(true);
    }
  });

  test("a tag's version: semver normalized, anything else verbatim; the schema refuses what is no tag", () => {
    expect(versionForTag("v1.2.3")).toBe("1.2.3");
    expect(versionForTag("1.2.3+build.5")).toBe("1.2.3");
    expect(versionForTag("nightly")).toBe("nightly");
    expect(parseInput(VersionSchema, "2026-11-28", "v")).toBe("2026-11-28");
    for (const bad of ["", "a b", "../x", "-x", "x".repeat(256)]) expect(() => parseInput(VersionSchema, bad, "version"), bad).toThrow(/invalid version/);
    expect(parseInput(VersionSchema, "release/1.0", "v")).toBe("release/1.0");
  });

  test("tags are what git accepts (git check-ref-format refs/tags/<tag>, and no leading '-')", () => {
    const good = ["release/1.0", "pkg@1.2.3", "v1.0.0+build.7", "nightly", "2026-11-28", "@", "@x", "HEAD", "a#b%c'd\"e<f|g$", "é/ü", "x".repeat(255)];
    const bad = ["", "a..b", "a b", "tab\there", "del\u007f", "-x", "x.lock", "a.lock/b", "a/.b", ".hidden", "a@{b", "x/", "/x", "a//b", "x.", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b", "x".repeat(256)];
    for (const t of good) expect(gitTagProblem(t), t).toBeUndefined();
    for (const t of bad) expect(gitTagProblem(t), JSON.stringify(t)).toBeString();
    expect(() => parseInput(TagSchema, "a..b", "tag")).toThrow("invalid tag: must not contain '..' (it must be a tag git accepts)");
    // The same verdicts as git itself, where git is installed.
    if (Bun.which("git")) {
      for (const t of [...good, ...bad].filter((t) => t !== "" && !t.startsWith("-") && t.length <= 255)) {
        const ok = Bun.spawnSync(["git", "check-ref-format", `refs/tags/${t}`]).exitCode === 0;
        expect(ok, JSON.stringify(t)).toBe(gitTagProblem(t) === undefined);
      }
    }
  });

  test("compareForLatest: version key, then creation time, then id, descending", () => {
    const r = (id: number, version: string, created_at: string) => ({ id, version, created_at }) as Release;
    const list = [r(1, "nightly", "2026-01-03T00:00:00Z"), r(2, "1.0.0", "2026-01-01T00:00:00Z"), r(3, "0.9.0", "2026-01-02T00:00:00Z"), r(4, "build-2", "2026-01-03T00:00:00Z"), r(5, "build-1", "2026-01-02T00:00:00Z")];
    expect(list.sort(compareForLatest).map((x) => x.id)).toEqual([2, 3, 4, 1, 5]);
  });
});

describe("rollout percent", () => {
  test("every value from 0.00 to 100.00 in steps of 0.01 is accepted as written; a third decimal is refused", () => {
    const refused: number[] = [];
    for (let i = 0; i <= 10000; i++) {
      const n = Number((i / 100).toFixed(2));
      try { expect(parseInput(RolloutPercentSchema, n, "rollout percent")).toBe(n); } catch { refused.push(n); }
    }
    expect(refused).toEqual([]);
    for (const bad of [0.001, 4.355, 100.01, -0.01]) expect(() => parseInput(RolloutPercentSchema, bad, "rollout percent")).toThrow();
  });
});

describe("byte ranges", () => {
  test("a suffix range of an empty file, or of nothing, is unsatisfiable (416); of a file, its last bytes", () => {
    expect(parseRange("bytes=-5", 0)).toBe("unsatisfiable");
    expect(parseRange("bytes=-0", 10)).toBe("unsatisfiable");
    expect(parseRange("bytes=0-", 0)).toBe("unsatisfiable");
    expect(parseRange("bytes=-5", 3)).toEqual({ start: 0, end: 2 });
    expect(parseRange("bytes=-5", 10)).toEqual({ start: 5, end: 9 });
  });
});

describe("quoting input in messages", () => {
  test("clip keeps up to 255 characters whole, cuts longer ones with an ellipsis, never inside a surrogate pair", () => {
    expect(clip("a".repeat(255))).toBe("a".repeat(255));
    expect(clip("a".repeat(256))).toBe(`${"a".repeat(254)}…`);
    expect(clip("abcdef", 4)).toBe("abc…");
    for (const max of [4, 5, 255]) {
      const cut = clip("😀".repeat(300), max);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(cut).toEndWith("…");
      expect(cut).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    }
  });
});

test("a content type of tens of thousands of blanks is refused at once (the media-type pattern ran past the length check and backtracked)", () => {
  const t0 = performance.now();
  const r = v.safeParse(ContentTypeSchema, `a/b;${" ".repeat(64_000)}x\ty`);
  expect(performance.now() - t0).toBeLessThan(1_000);
  expect(r.success).toBe(false);
  expect(v.safeParse(ContentTypeSchema, "application/json; charset=utf-8").success).toBe(true);
});

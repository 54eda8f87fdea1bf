/**
 * `release.json`: the manifest of one release's assets. Written by `scripts/build.ts`, read by
 * the Homebrew formula renderer, the installer tests and anyone mirroring a release.
 */
import * as v from "valibot";

const hex64 = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, "must be a lowercase sha256 hex digest"));

/** The executables a release can ship; each target file says which of them it builds. */
export const PROGRAMS = ["auditgraph", "release-server"] as const;
export type Program = (typeof PROGRAMS)[number];

export const TargetSchema = v.strictObject({
  /** Our name for the target, also the file name in dist-targets/ and the archive suffix. */
  name: v.pipe(v.string(), v.regex(/^[a-z0-9]+(-[a-z0-9]+)*$/)),
  /** The `bun build --compile --target=` value. */
  bun_target: v.pipe(v.string(), v.startsWith("bun-")),
  os: v.picklist(["linux", "darwin"]),
  arch: v.picklist(["x64", "arm64"]),
  libc: v.picklist(["glibc", "musl", "darwin"]),
  /** CPU level for x64: "baseline" runs without AVX2. */
  cpu: v.optional(v.picklist(["default", "baseline"]), "default"),
  archive: v.picklist(["tar.gz"]),
  /** The programs built for this target, each into `<program>-<name>.<archive>`. */
  programs: v.pipe(v.array(v.picklist(PROGRAMS)), v.minLength(1, "must name at least one program")),
});
export type Target = v.InferOutput<typeof TargetSchema>;

export const ReleaseAssetSchema = v.strictObject({
  name: v.string(),
  /** The program an archive holds; absent for target-independent assets. */
  program: v.optional(v.picklist(PROGRAMS)),
  /** The target name, or null for target-independent assets (install.sh, SHA256SUMS...). */
  target: v.nullable(v.string()),
  os: v.nullable(v.string()),
  arch: v.nullable(v.string()),
  libc: v.nullable(v.string()),
  size: v.pipe(v.number(), v.integer(), v.minValue(0)),
  sha256: hex64,
  /**
   * Only on a delta patch (`<program>-<target>.from-<version>.patch`, made by `bun run build
   * --previous DIR`): the release it upgrades from, and the sizes and sha256 of the executable it
   * applies to and of the one it produces (the same values are in the patch's own header).
   */
  patch: v.optional(v.strictObject({
    from_version: v.string(),
    source_sha256: hex64,
    source_size: v.pipe(v.number(), v.integer(), v.minValue(0)),
    result_sha256: hex64,
    result_size: v.pipe(v.number(), v.integer(), v.minValue(0)),
  })),
});
export type ReleaseAsset = v.InferOutput<typeof ReleaseAssetSchema>;

export const ReleaseManifestSchema = v.strictObject({
  name: v.literal("auditgraph"),
  version: v.string(),
  schema_version: v.string(),
  commit: v.string(),
  /** Commit time (unix seconds): the mtime of every archive entry. */
  source_date_epoch: v.pipe(v.number(), v.integer()),
  assets: v.array(ReleaseAssetSchema),
});
export type ReleaseManifest = v.InferOutput<typeof ReleaseManifestSchema>;

/** Where releases live by default. Installers and the formula take a base URL laid out like GitHub's. */
export const PROJECT = {
  repo: "auditgraph/auditgraph",
  homepage: "https://github.com/auditgraph/auditgraph",
  downloadBase: "https://github.com/auditgraph/auditgraph",
  tap: "auditgraph/tap",
} as const;

/**
 * Artifact schema compatibility: can this binary read (and add runs to) a store whose current
 * run was written with schema version `store`? Pure: the caller reads the manifest and passes
 * what it found.
 */
import { ARTIFACT_SCHEMA_VERSION } from "../schema/version.ts";
import { requireEntry } from "../shared/entries.ts";

/**
 * The semver library, loaded on first use from its own entry point (shared/semver-lib.ts): evaluating
 * it cost every command that opens a store 200-340 first-touch page faults (5-10 ms on the machine
 * measured), and even unevaluated its bytecode was loaded at every start; the usual store was
 * written with exactly this binary's version, which needs no parsing (see decideCompat).
 */
let semverLib: typeof import("../shared/semver-lib.ts") | undefined;
const semver = () => (semverLib ??= requireEntry<typeof import("../shared/semver-lib.ts")>("shared/semver-lib.ts"));

/** What the caller found in the current run's manifest. */
export type StoreSchemaFact =
  | { kind: "empty" } // no run yet: nothing to be incompatible with
  | { kind: "missing" } // the pointer names a run whose manifest is absent
  | { kind: "unreadable"; reason: string } // empty, truncated, not JSON, not an object, schema_version not a string
  | { kind: "no_version" } // a manifest without schema_version
  | { kind: "version"; version: string };

export type CompatDecision = {
  compatible: boolean;
  /** The store's version as shown to users: a version, "missing", "unreadable", "none" or "empty". */
  store: string;
  binary: string;
  reason: "empty" | "same" | "older_minor" | "different_major" | "newer" | "missing" | "unreadable" | "no_version" | "invalid_version";
  /** What exactly is unreadable, when that is the reason. */
  detail?: string;
};

export function decideCompat(fact: StoreSchemaFact, binary: string = ARTIFACT_SCHEMA_VERSION): CompatDecision {
  const no = (store: string, reason: CompatDecision["reason"]): CompatDecision => ({ compatible: false, store, binary, reason });
  switch (fact.kind) {
    case "empty":
      return { compatible: true, store: "empty", binary, reason: "empty" };
    case "missing":
      return no("missing", "missing");
    case "unreadable":
      return { ...no("unreadable", "unreadable"), detail: fact.reason };
    case "no_version":
      return no("missing", "no_version");
    case "version": {
      // This binary's own version (a valid semver) is "same" without the library.
      if (fact.version === binary && binary === ARTIFACT_SCHEMA_VERSION) return { compatible: true, store: binary, binary, reason: "same" };
      const sv = semver();
      const v = sv.valid(fact.version);
      if (!v) return no(fact.version, "invalid_version");
      if (sv.major(v) !== sv.major(binary)) return no(v, sv.gt(v, binary) ? "newer" : "different_major");
      if (sv.gt(v, binary)) return no(v, "newer");
      return { compatible: true, store: v, binary, reason: sv.eq(v, binary) ? "same" : "older_minor" };
    }
  }
}

/** The one message an incompatible store gets (exit 3). */
export function incompatMessage(d: CompatDecision, profileDir: string): string {
  const why: Record<CompatDecision["reason"], string> = {
    empty: "",
    same: "",
    older_minor: "",
    different_major: "was written by an incompatible major version",
    newer: "was written by a newer auditgraph than this one",
    missing: "has no readable current-run manifest",
    unreadable: `has an unreadable current-run manifest (${d.detail})`,
    no_version: "has a current-run manifest without schema_version",
    invalid_version: "has a manifest with an invalid schema_version",
  };
  return (
    `store ${profileDir} ${why[d.reason]} (store schema ${d.store}, this binary ${d.binary}); ` +
    `nothing was changed. Run 'auditgraph rebuild' to write a new run next to the old ones`
  );
}

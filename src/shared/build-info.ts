/**
 * Facts fixed at build time. `scripts/build.ts` passes them with `--define`; running from source
 * they fall back to package.json's version, "dev" and the host target.
 */
import pkg from "../../package.json" with { type: "json" };

declare const AUDITGRAPH_BUILD_VERSION: string | undefined;
declare const AUDITGRAPH_BUILD_COMMIT: string | undefined;
declare const AUDITGRAPH_BUILD_TARGET: string | undefined;
declare const AUDITGRAPH_BUILD_MANAGED: string | undefined;

const defined = <T>(f: () => T): T | undefined => {
  try { return f(); } catch { return undefined; }
};

export const VERSION: string = defined(() => AUDITGRAPH_BUILD_VERSION) ?? pkg.version;
export const COMMIT: string = defined(() => AUDITGRAPH_BUILD_COMMIT) ?? "dev";
/** e.g. "linux-x64", "darwin-arm64"; "source" when run with `bun run`. */
export const TARGET: string = defined(() => AUDITGRAPH_BUILD_TARGET) ?? "source";
export const COMPILED: boolean = TARGET !== "source";
/**
 * Set by a distribution that packages auditgraph (`bun build --compile --define
 * AUDITGRAPH_BUILD_MANAGED='"apt upgrade auditgraph"'`): the command that upgrades this build.
 * `auditgraph upgrade` then refuses and names it, and the update notice suggests it. "" otherwise.
 */
export const MANAGED: string = defined(() => AUDITGRAPH_BUILD_MANAGED) ?? "";

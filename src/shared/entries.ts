/**
 * Entry points that the auditgraph executable holds as modules of their own beside its main bundle
 * (scripts/release/compile.ts, PROGRAM_SOURCES): Worker scripts, and libraries loaded the first time
 * they are needed, never at start (a bundled executable loads its whole main bundle on every run, so
 * pdf.js, isomorphic-git and the MCP SDK there would cost every command). A module reaches them only
 * through `entryUrl`: a literal import would put them back into the main bundle.
 *
 * Paths are relative to src/. Inside the executable every bundled module's import.meta.url is the
 * executable's own, at the root of its embedded files, where the build (--root src) laid the entries
 * out as in src/; from source this module is src/shared/entries.ts.
 */
import { AgError, ExitCode } from "./errors.ts";

const compiled = import.meta.url.includes("/$bunfs/") || import.meta.url.includes("/~BUN/");

/**
 * The root of the embedded files: the main bundle's import.meta.url is the executable at that root
 * (`file:///$bunfs/root/auditgraph`), but a Worker's is its own entry's place below it
 * (`file:///$bunfs/root/pipeline/shard-worker.js`), from which "./shared/…" would miss.
 */
const ROOT = compiled ? (/^.*?\/(?:\$bunfs|~BUN)\/root\//.exec(import.meta.url)?.[0] ?? import.meta.url) : new URL("../", import.meta.url).href;

export const entryUrl = (fromSrc: string): string => new URL(fromSrc, ROOT).href;

/**
 * Loads an entry point's module. An executable compiled without it (by hand, not with
 * scripts/build.ts) gets one line saying so instead of a resolution error.
 */
export async function loadEntry<T>(fromSrc: string): Promise<T> {
  const url = entryUrl(fromSrc);
  try {
    return (await import(url)) as T;
  } catch (err) {
    throw missing(fromSrc, err);
  }
}

/**
 * An entry point's module, synchronously (`require`), for code that cannot wait for it: a YAML
 * parse inside a config read or a front-matter extractor. The module must have no top-level await.
 */
export function requireEntry<T>(fromSrc: string): T {
  try {
    return require(Bun.fileURLToPath(entryUrl(fromSrc))) as T;
  } catch (err) {
    throw missing(fromSrc, err);
  }
}

function missing(fromSrc: string, err: unknown): unknown {
  if (compiled && /cannot find|not found|resolve/i.test(String((err as Error)?.message ?? err))) {
    return new AgError(`this executable was built without src/${fromSrc}`, { exitCode: ExitCode.internal, code: "entry_missing", hint: "build it with scripts/build.ts (bun run build), which compiles every entry point" });
  }
  return err;
}

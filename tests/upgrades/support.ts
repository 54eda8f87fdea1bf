/**
 * Shared by the upgrade tests and tests/fixtures/make-stores.ts: a CLI built with another artifact
 * schema version (the binary of an older or newer release), and the committed fixture stores.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, cli, REPO, tempDir, type CliResult } from "../helpers/cli.ts";
import { ARTIFACT_SCHEMA_VERSION } from "../../src/schema/version.ts";

export const FIXTURES = join(REPO, "tests", "fixtures", "stores");
/**
 * Fixture stores by the schema version that wrote them. STORE_VERSIONS are written by this code
 * with the constant changed (tests/fixtures/make-stores.ts regenerates them); LEGACY_STORE_VERSIONS
 * were written the same way by the 0.1.0 release's code (schema 1.0.0: JSON index shards, no
 * inverted index) and are kept as they are: real stores of the previous format.
 */
export const STORE_VERSIONS = ["2.0.0", "2.1.0", "3.0.0"] as const;
export const LEGACY_STORE_VERSIONS = ["0.9.0", "1.0.0", "1.1.0"] as const;

const copies = new Map<string, string>();
/**
 * The entry point of a copy of src/ whose ARTIFACT_SCHEMA_VERSION is `version`: what a release
 * with that schema would run. The current version is the real src/cli.ts. Copies live until
 * removeSchemaCopies() (bun test fires no process exit handlers: call it from afterAll).
 */
export function cliForSchema(version: string): string {
  if (version === ARTIFACT_SCHEMA_VERSION) return CLI;
  let dir = copies.get(version);
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), `ag-schema-${version}-`));
    for (const p of ["src", "config", "package.json"]) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
    const file = join(dir, "src", "schema", "version.ts");
    const text = readFileSync(file, "utf8");
    const patched = text.replace(/ARTIFACT_SCHEMA_VERSION = "[^"]+"/, `ARTIFACT_SCHEMA_VERSION = "${version}"`);
    if (patched === text) throw new Error(`cannot find ARTIFACT_SCHEMA_VERSION in ${file}`);
    writeFileSync(file, patched);
    copies.set(version, dir);
  }
  return join(dir, "src", "cli.ts");
}

export function removeSchemaCopies(): void {
  for (const dir of copies.values()) rmSync(dir, { recursive: true, force: true });
  copies.clear();
}

/** Runs a given CLI entry point (see cliForSchema) like helpers/cli.ts runs the real one. */
export const cliAt = (entry: string, args: string[]): CliResult => cli(args, { entry });

/** A temp workspace holding the fixture's sources and, as .pkg/profiles/default, the store of `version`. */
export function fixtureWorkspace(version: string): string {
  const root = tempDir("ag-upgrade-");
  cpSync(join(FIXTURES, "workspace"), root, { recursive: true });
  cpSync(join(FIXTURES, `schema-${version}`), profileDir(root), { recursive: true });
  return root;
}

export const profileDir = (root: string) => join(root, ".pkg", "profiles", "default");
export const currentRun = (root: string) => readFileSync(join(profileDir(root), "current"), "utf8").trim();
/** Bytes of every file under dir, summed independently of the CLI. */
export const du = (dir: string): number => readdirSync(dir).reduce((s, n) => {
  const st = statSync(join(dir, n));
  return s + (st.isDirectory() ? du(join(dir, n)) : st.size);
}, 0);

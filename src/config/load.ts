/**
 * Resolve the workspace root and config file, parse YAML, merge over the built-in default and
 * validate. Every failure is one line naming the file, the key path and (when known) the line.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import * as v from "valibot";
import { configError, usageError } from "../shared/errors.ts";
import { parseYamlSource, yamlIssueError, type YamlSource } from "../shared/yaml.ts";
import { canonicalJson } from "../shared/json.ts";
import { sha256Hex } from "../shared/hash.ts";
import type { BudgetSettings } from "../policy/budget.ts";
import defaultYaml from "../../config/pkg.yaml" with { type: "text" };
// The same file parsed when the program is built (a Bun macro), so that no command parses it at run
// time (the YAML library took about a quarter of loading a workspace); tests/cli/config.test.ts
// holds it equal to what the YAML library makes of the text.
import { builtinConfig } from "./builtin.macro.ts" with { type: "macro" };
import { BudgetSchema, ConfigSchema, PROFILE_NAME, type Config, type Detector, type Profile } from "./schema.ts";

export const DEFAULT_CONFIG_TEXT: string = defaultYaml;
export const DEFAULT_CONFIG: unknown = builtinConfig();

/** Everything a command needs to know about the workspace, validated. */
export type Workspace = {
  root: string;
  /** The config file used, or "<built-in>". */
  configPath: string;
  profileName: string;
  profile: Profile;
  redaction: { enabled: boolean; detectors: Detector[] };
  budget: BudgetSettings;
  /** sha256 of the settings that shape artifacts (profile + redaction); part of the run id. */
  configHash: string;
  /** `.pkg/profiles/<profile>` under the root. */
  profileDir: string;
  /** Non-fatal findings in the config file (ignored reference keys), one line each. */
  warnings: string[];
  /** Git provenance settings (`git.enabled`, `git.max_commits`), defaults applied. */
  git: { enabled: boolean; max_commits: number };
  /** Where a key of the config is written, for messages: `FILE:LINE`, or the file when the key is not in it. */
  configAt: (path: (string | number)[]) => string;
};

export type WorkspaceOptions = { root?: string; config?: string; profile?: string };

export function resolveRoot(opt?: string): string {
  // `--root ""` (a script's unset "$WS") is a mistake, not the current directory.
  if (opt === "") throw usageError("--root needs a directory (it was empty; leave the flag out for the current directory)");
  const given = opt ?? (process.env.AUDITGRAPH_ROOT || undefined) ?? process.cwd();
  const root = resolve(given);
  let st;
  try { st = statSync(root); } catch { throw usageError(`workspace root ${root} does not exist`); }
  if (!st.isDirectory()) throw usageError(`workspace root ${root} is not a directory`);
  return root;
}

export function resolveConfigPath(root: string, opt?: string): string | undefined {
  if (opt === "") throw usageError("--config needs a file (it was empty; leave the flag out for the default)");
  const given = opt ?? process.env.AUDITGRAPH_CONFIG;
  if (given) {
    const p = isAbsolute(given) ? given : resolve(given);
    if (!existsSync(p)) throw configError(`config file ${p} does not exist`);
    return p;
  }
  const def = resolve(root, "config/pkg.yaml");
  return existsSync(def) ? def : undefined;
}

/**
 * Keys of the Python reference's `pkg.yaml` that auditgraph does not use. A reference user's config
 * still loads: each is dropped with a warning naming file, line and key. Any other unknown key is an
 * error.
 */
const REFERENCE_ONLY_KEYS: string[][] = [
  ["pkg_root"], ["run_metadata"],
  ["security", "redaction", "policy_id"], ["security", "redaction", "policy_version"],
  ["profiles", "*", "extraction"], ["profiles", "*", "knowledge_model"], ["profiles", "*", "linking"], ["profiles", "*", "search"],
  ["profiles", "*", "normalization", "path_style"],
  ["profiles", "*", "ingestion", "ocr_mode"], ["profiles", "*", "ingestion", "capture_channels"], ["profiles", "*", "ingestion", "frontmatter_schema"],
];

function dropReferenceOnlyKeys(src: YamlSource): string[] {
  const warnings: string[] = [];
  const visit = (node: unknown, pattern: string[], at: (string | number)[]): void => {
    if (!isObj(node)) return;
    const [head, ...rest] = pattern;
    const keys = head === "*" ? Object.keys(node) : head! in node ? [head!] : [];
    for (const k of keys) {
      if (rest.length > 0) { visit(node[k], rest, [...at, k]); continue; }
      const path = [...at, k];
      const line = src.lineOf(path);
      warnings.push(`${src.file}${line ? `:${line}` : ""}: ${path.join(".")}: ignored (a key of the reference implementation that auditgraph does not use)`);
      delete node[k];
    }
  };
  for (const pattern of REFERENCE_ONLY_KEYS) visit(src.data, pattern, []);
  return warnings;
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/** Objects merge key by key; anything else (arrays, scalars) replaces. */
function merge(base: unknown, over: unknown): unknown {
  if (!isObj(base) || !isObj(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, val] of Object.entries(over)) out[k] = merge(base[k], val);
  return out;
}

function validate(user: YamlSource | undefined): Config {
  // A copy: the merge below must not see (nor leave) changes to the module's object.
  const defaults = structuredClone(DEFAULT_CONFIG) as Record<string, unknown>;
  // The built-in config alone is valid as it stands (a test holds it to the schema): validating it
  // again took about a tenth of a short command here (valibot's first run of each check is slow).
  if (!user) return defaults as Config;
  if (!isObj(user.data)) throw configError(`${user.file}: the config must be a YAML mapping`);
  const u = user.data;
  const profiles: Record<string, unknown> = { ...(defaults.profiles as object) };
  if (u.profiles !== undefined) {
    if (!isObj(u.profiles)) throw configError(`${user.file}:${user.lineOf(["profiles"]) ?? "?"}: profiles: must be a mapping of profile names`);
    const base = (defaults.profiles as Record<string, unknown>).default;
    for (const [name, p] of Object.entries(u.profiles)) profiles[name] = merge(base, p);
  }
  const merged = { ...(merge(defaults, { ...u, profiles: undefined }) as object), profiles };
  const r = v.safeParse(ConfigSchema, merged);
  if (r.success) return r.output;
  throw yamlIssueError(user, r.issues[0]);
}

export function loadWorkspace(opts: WorkspaceOptions = {}): Workspace {
  const root = resolveRoot(opts.root);
  const path = resolveConfigPath(root, opts.config);
  let user: YamlSource | undefined;
  if (path) {
    let text: string;
    try { text = readFileSync(path, "utf8"); } catch (e) { throw configError(`config file ${path} cannot be read: ${(e as Error).message}`); }
    user = parseYamlSource(text, path);
  }
  const warnings = user ? dropReferenceOnlyKeys(user) : [];
  const cfg = validate(user);
  const configAt = (key: (string | number)[]) => {
    const line = user?.lineOf(key);
    return `${path ?? "<built-in>"}${line ? `:${line}` : ""}`;
  };
  const profileName = opts.profile ?? cfg.active_profile;
  // Named by --profile or by the config's active_profile: the message says which.
  const namedBy = opts.profile === undefined ? `${configAt(["active_profile"])}: active_profile: ` : "";
  // active_profile's own form is the schema's to check (with its line).
  if (!PROFILE_NAME.test(profileName) || profileName.includes("..")) {
    throw usageError(`profile name '${profileName}' is not allowed: use letters, digits, '.', '_' and '-' only (no '/' or '..')`);
  }
  const profile = cfg.profiles[profileName];
  if (!profile) {
    const known = `(known: ${Object.keys(cfg.profiles).sort().join(", ")})`;
    throw configError(namedBy ? `${namedBy}unknown profile '${profileName}' ${known}` : `${path ?? "<built-in>"}: profiles.${profileName}: unknown profile ${known}`);
  }
  // The profile's budget over the config's. The built-in config's is valid as it stands (see
  // validate), so only a user's config is checked again here.
  let budget: BudgetSettings = { ...cfg.storage.footprint_budget, ...(profile.storage?.footprint_budget ?? {}) };
  if (user) {
    const r = v.safeParse(BudgetSchema, budget);
    // The merged budget: where the profile's own budget is written, else the config's.
    const at = user.lineOf(["profiles", profileName, "storage", "footprint_budget"]) ? ["profiles", profileName, "storage", "footprint_budget"] : ["storage", "footprint_budget"];
    if (!r.success) throw configError(`${configAt(at)}: profiles.${profileName}.storage.footprint_budget: ${r.issues[0].message}`);
    budget = r.output;
  }
  const redaction = { enabled: cfg.security.redaction.enabled, detectors: [...new Set(cfg.security.redaction.detectors)].sort() };
  const git = { enabled: cfg.git?.enabled ?? false, max_commits: cfg.git?.max_commits ?? 5000 };
  // Git settings shape artifacts only when git provenance is on (so a store without it keeps its config hash).
  const shaping = { ingestion: profile.ingestion, include_paths: profile.include_paths, exclude_globs: profile.exclude_globs, normalization: profile.normalization, redaction, ...(git.enabled ? { git } : {}) };
  return {
    root,
    configPath: path ?? "<built-in>",
    profileName,
    profile,
    redaction,
    budget,
    configHash: sha256Hex(canonicalJson(shaping)),
    profileDir: resolve(root, ".pkg", "profiles", profileName),
    warnings,
    git,
    configAt,
  };
}

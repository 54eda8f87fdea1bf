// Configuration and workspace bad input: one clear line, exit 2, and an existing store untouched.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, expectOneLineError, tempDir, treeHash, workspace } from "../helpers/cli.ts";

let ws: string;
beforeAll(() => {
  ws = workspace();
  expect(cli(["ingest", "--root", ws]).code).toBe(0);
});
afterAll(cleanup);

const withConfig = (yaml: string, extra: string[] = []) => {
  const cfg = join(tempDir(), "pkg.yaml");
  writeFileSync(cfg, yaml);
  const before = treeHash(join(ws, ".pkg"));
  const r = cli(["ingest", "--root", ws, "--config", cfg, ...extra]);
  expect(treeHash(join(ws, ".pkg"))).toEqual(before);
  return { r, cfg };
};

describe("profiles", () => {
  test("a second profile starts from the default one (lists replace), stores apart, and is picked by active_profile or --profile", () => {
    const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`).join(" ");
    const root = workspace({ "notes/a.md": `# A\n\n${words(120)}\n`, "docs/b.md": `# B\n\n${words(120)}\n` });
    mkdirSync(join(root, "config"));
    writeFileSync(join(root, "config", "pkg.yaml"), "active_profile: alt\nprofiles:\n  alt:\n    include_paths: [docs]\n    ingestion:\n      chunk_tokens: 50\n");
    const alt = cli(["ingest", "--root", root, "--json"]);
    expect(alt.code).toBe(0);
    expect(alt.json).toMatchObject({ profile: "alt", counts: { files: 1, ok: 1 } });
    // 122 tokens in windows of 50 with the default profile's overlap of 40 (step 10): 9 chunks.
    expect(alt.json.counts.chunks).toBe(9);
    expect(existsSync(join(root, ".pkg", "profiles", "alt", "current"))).toBe(true);
    expect(existsSync(join(root, ".pkg", "profiles", "default"))).toBe(false);
    const shown = cli(["runs", "show", alt.json.run_id, "--root", root, "--json"]).json;
    expect(shown.files.map((f: { path: string }) => f.path)).toEqual(["docs/b.md"]);
    const def = cli(["ingest", "--root", root, "--profile", "default", "--json"]);
    expect(def.code).toBe(0);
    expect(def.json).toMatchObject({ profile: "default", counts: { files: 2, ok: 2 } });
    expect(def.json.run_id).not.toBe(alt.json.run_id);
    expect(cli(["runs", "list", "--root", root, "--json"]).json.runs).toHaveLength(1); // alt's runs only
  });
});

describe("bad configuration → exit 2, one line naming file, key path and line", () => {
  test("invalid YAML", () => {
    const { r, cfg } = withConfig("profiles:\n  default:\n    include_paths: [notes\n");
    expect(r.code).toBe(2);
    expect(expectOneLineError(r)).toMatch(new RegExp(`${cfg}:\\d+:\\d+: invalid YAML`));
  });
  test("an unresolved alias and an alias bomb: the file's error with its line, not an internal error", () => {
    const { r, cfg } = withConfig("a: &a [1]\nb: *zz\n");
    expect(r.code).toBe(2);
    expect(expectOneLineError(r)).toBe(`error: ${cfg}:2: invalid YAML: Unresolved alias (the anchor must be set before the alias): zz`);
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(",")}]`)].join("\n");
    const b = withConfig(bomb + "\n");
    expect(b.r.code).toBe(2);
    expect(expectOneLineError(b.r)).toContain(`${b.cfg}: invalid YAML: Excessive alias count`);
  });
  test("wrong type", () => {
    const { r, cfg } = withConfig("profiles:\n  default:\n    ingestion:\n      chunk_tokens: lots\n");
    expect(r.code).toBe(2);
    expect(expectOneLineError(r)).toContain(`${cfg}:4: profiles.default.ingestion.chunk_tokens:`);
  });
  test("keys of the reference's pkg.yaml that auditgraph does not use load with one warning each", () => {
    const cfg = join(tempDir(), "pkg.yaml");
    writeFileSync(cfg, [
      'pkg_root: "."', "run_metadata:", '  pipeline_version: "v0.1.0"', "security:", "  redaction:", '    policy_id: "redaction.policy.v1"',
      "profiles:", "  default:", '    include_paths: ["notes", "src"]', '    normalization: {unicode: "NFC", line_endings: "LF", path_style: "posix"}',
      "    ingestion:", '      ocr_mode: "off"', "    search:", "      keyword: {enabled: true}", "",
    ].join("\n"));
    const r = cli(["ingest", "--root", workspace(), "--config", cfg]);
    expect(r.code).toBe(0);
    const warnings = r.stderr.trim().split("\n");
    expect(warnings).toEqual([
      `warning: ${cfg}:1: pkg_root: ignored (a key of the reference implementation that auditgraph does not use)`,
      `warning: ${cfg}:2: run_metadata: ignored (a key of the reference implementation that auditgraph does not use)`,
      `warning: ${cfg}:6: security.redaction.policy_id: ignored (a key of the reference implementation that auditgraph does not use)`,
      `warning: ${cfg}:13: profiles.default.search: ignored (a key of the reference implementation that auditgraph does not use)`,
      `warning: ${cfg}:10: profiles.default.normalization.path_style: ignored (a key of the reference implementation that auditgraph does not use)`,
      `warning: ${cfg}:12: profiles.default.ingestion.ocr_mode: ignored (a key of the reference implementation that auditgraph does not use)`,
    ]);
  });
  test("unknown key", () => {
    const { r, cfg } = withConfig("security:\n  redaction:\n    enabled: true\n    detecters: [jwt]\n");
    expect(r.code).toBe(2);
    expect(expectOneLineError(r)).toContain(`${cfg}:4: security.redaction.detecters: unknown key`);
  });
  test("unknown detector", () => {
    const { r } = withConfig("security:\n  redaction:\n    detectors: [jwt, telepathy]\n");
    expect(r.code).toBe(2);
    expect(expectOneLineError(r)).toContain("security.redaction.detectors.1");
  });
  test("warn threshold not below block threshold", () => {
    const { r } = withConfig("storage:\n  footprint_budget:\n    warn_threshold: 1.0\n    block_threshold: 1.0\n");
    expect(r.code).toBe(2);
    expect(expectOneLineError(r)).toContain("storage.footprint_budget: warn_threshold must be below block_threshold");
  });
  // YAML reads `.inf` and `1e309` as Infinity: no setting means it, and JSON cannot hold it.
  test.each([
    ["storage:\n  footprint_budget:\n    multiplier: .inf\n", 3, "storage.footprint_budget.multiplier"],
    ["storage:\n  footprint_budget:\n    multiplier: 1e309\n", 3, "storage.footprint_budget.multiplier"],
    ["storage:\n  footprint_budget:\n    block_threshold: .inf\n", 3, "storage.footprint_budget.block_threshold"],
    ["storage:\n  footprint_budget:\n    warn_threshold: -.inf\n", 3, "storage.footprint_budget.warn_threshold"],
    ["storage:\n  footprint_budget:\n    multiplier: 2000000\n", 3, "storage.footprint_budget.multiplier"],
    ["profiles:\n  default:\n    storage:\n      footprint_budget:\n        multiplier: .inf\n", 5, "profiles.default.storage.footprint_budget.multiplier"],
    ["profiles:\n  default:\n    ingestion:\n      chunk_tokens: 1e309\n", 4, "profiles.default.ingestion.chunk_tokens"],
    ["profiles:\n  default:\n    ingestion:\n      chunk_overlap_tokens: .inf\n", 4, "profiles.default.ingestion.chunk_overlap_tokens"],
    ["profiles:\n  default:\n    ingestion:\n      max_file_size_bytes: 1e300\n", 4, "profiles.default.ingestion.max_file_size_bytes"],
    ["profiles:\n  default:\n    ingestion:\n      max_document_bytes: .inf\n", 4, "profiles.default.ingestion.max_document_bytes"],
    ["git:\n  max_commits: .inf\n", 2, "git.max_commits"],
  ])("a number that is infinite or out of bounds: %p", (yaml, line, key) => {
    const { r, cfg } = withConfig(yaml, ["--json"]);
    expect(r.code).toBe(2);
    expect(expectOneLineError(r)).toMatch(new RegExp(`${cfg}:${line}: ${key.replace(/\./g, "\\.")}: must be a (finite|whole) number`));
    expect(r.json).toMatchObject({ status: "error", exit_code: 2, code: "config_invalid" });
    const cfgDir = join(tempDir(), "b");
    mkdirSync(cfgDir);
    writeFileSync(join(cfgDir, "pkg.yaml"), yaml);
    expect(cli(["budget", "--root", ws, "--config", join(cfgDir, "pkg.yaml"), "--json"]).code).toBe(2);
  });
  test("include path outside the root: the file, the line and the key", () => {
    const { r, cfg: path } = withConfig("profiles:\n  default:\n    include_paths:\n      - notes\n      - ../elsewhere\n");
    expect(r.code).toBe(2);
    expect(expectOneLineError(r)).toContain(`${path}:5: profiles.default.include_paths[1]: include path '../elsewhere' is outside the workspace root`);
  });
  test("a profile's budget that contradicts the config's: the line of the profile's budget", () => {
    const { r, cfg: path } = withConfig("storage:\n  footprint_budget:\n    warn_threshold: 0.9\nprofiles:\n  default:\n    storage:\n      footprint_budget:\n        block_threshold: 0.85\n");
    expect(r.code).toBe(2);
    expect(expectOneLineError(r)).toContain(`${path}:7: profiles.default.storage.footprint_budget: warn_threshold must be below block_threshold`);
  });
  test("an unknown active_profile: the file, its line and the profiles there are", () => {
    const { r, cfg: path } = withConfig("# the profile to use\nactive_profile: nosuch\n");
    expect(r.code).toBe(2);
    expect(expectOneLineError(r)).toContain(`${path}:2: active_profile: unknown profile 'nosuch' (known: default)`);
    const bad = withConfig("active_profile: ../up\n");
    expect(bad.r.code).toBe(2);
    expect(expectOneLineError(bad.r)).toContain(`${bad.cfg}:1: active_profile: must be a plain name`);
  });
  test("unknown profile", () => {
    const { r } = withConfig("active_profile: default\n", ["--profile", "nosuch"]);
    expect(r.code).toBe(2);
    expect(expectOneLineError(r)).toContain("profiles.nosuch: unknown profile");
  });
  test.each(["../x", "a/b", ".."])("profile name %p is refused", (name) => {
    const r = cli(["ingest", "--root", ws, "--profile", name]);
    expect(r.code).toBe(2);
    expect(expectOneLineError(r)).toContain("is not allowed");
  });
  test("a missing config file given with --config", () => {
    const r = cli(["ingest", "--root", ws, "--config", join(ws, "nope.yaml")]);
    expect(r.code).toBe(2);
    expect(expectOneLineError(r)).toContain("nope.yaml does not exist");
  });
  test("AUDITGRAPH_CONFIG is used when --config is absent", () => {
    const cfg = join(tempDir(), "pkg.yaml");
    writeFileSync(cfg, "bogus_key: 1\n");
    const r = cli(["ingest", "--root", ws], { env: { AUDITGRAPH_CONFIG: cfg } });
    expect(r.code).toBe(2);
    expect(expectOneLineError(r)).toContain(`${cfg}:1: bogus_key: unknown key`);
  });
});

describe("workspace root", () => {
  test("a missing root is exit 2", () => {
    const r = cli(["ingest", "--root", "/nonexistent/auditgraph-root", "--json"]);
    expect(r.code).toBe(2);
    expect(expectOneLineError(r)).toContain("/nonexistent/auditgraph-root does not exist");
    expect(r.json).toMatchObject({ status: "error", exit_code: 2 });
  });
  test("AUDITGRAPH_ROOT, then the current directory", () => {
    const a = cli(["runs", "list", "--json"], { env: { AUDITGRAPH_ROOT: ws } });
    expect(a.code).toBe(0);
    expect(a.json.runs).toHaveLength(1);
    const b = cli(["runs", "list", "--json"], { cwd: ws });
    expect(b.json.runs).toEqual(a.json.runs);
  });
  test("<root>/config/pkg.yaml is picked up", () => {
    const root = workspace({ "notes/a.md": "# A\n" });
    mkdirSync(join(root, "config"));
    writeFileSync(join(root, "config", "pkg.yaml"), "profiles:\n  default:\n    ingestion:\n      chunk_tokens: -3\n");
    const r = cli(["ingest", "--root", root]);
    expect(r.code).toBe(2);
    expect(expectOneLineError(r)).toContain(`${join(root, "config", "pkg.yaml")}:4: profiles.default.ingestion.chunk_tokens`);
  });
});

describe("init", () => {
  test("writes the documented default config and .pkg/, and is harmless twice", () => {
    const root = tempDir();
    const a = cli(["init", "--root", root, "--json"]);
    expect(a.code).toBe(0);
    expect(a.json.created).toEqual(["config/pkg.yaml", ".pkg/profiles"]);
    const text = Bun.file(join(root, "config", "pkg.yaml")).text();
    expect(text).resolves.toContain("# auditgraph workspace configuration");
    const before = treeHash(root);
    const b = cli(["init", "--root", root, "--json"]);
    expect(b.json.created).toEqual([]);
    expect(treeHash(root)).toEqual(before);
    // The written default is valid and is the built-in one: same config hash either way.
    mkdirSync(join(root, "notes"));
    writeFileSync(join(root, "notes", "a.md"), "# A\n");
    const withFile = cli(["ingest", "--root", root, "--json"]);
    const other = workspace({ "notes/a.md": "# A\n" });
    const builtin = cli(["ingest", "--root", other, "--json"]);
    expect(withFile.json.run_id).toBe(builtin.json.run_id);
  });
});

// A workspace without a config file uses the built-in one without validating it at run time
// (src/config/load.ts): it must satisfy the schema, and validating it must change nothing.
test("the built-in config satisfies the config schema as it stands", async () => {
  const v = await import("valibot");
  const { ConfigSchema } = await import("../../src/config/schema.ts");
  const { DEFAULT_CONFIG_TEXT } = await import("../../src/config/load.ts");
  const { parseYamlSource } = await import("../../src/shared/yaml.ts");
  const data = parseYamlSource(DEFAULT_CONFIG_TEXT, "<built-in>").data;
  const r = v.safeParse(ConfigSchema, data);
  expect(r.issues?.[0]?.message).toBeUndefined();
  expect(r.output).toEqual(data as never);
  // The budget a built-in profile gets (its own over the config's) is one BudgetSchema accepts:
  // loadWorkspace checks it again only for a user's config.
  const { BudgetSchema } = await import("../../src/config/schema.ts");
  const cfg = data as { storage: { footprint_budget: object }; profiles: Record<string, { storage?: { footprint_budget?: object } }> };
  for (const [name, p] of Object.entries(cfg.profiles)) {
    const b = v.safeParse(BudgetSchema, { ...cfg.storage.footprint_budget, ...(p.storage?.footprint_budget ?? {}) });
    expect({ name, issue: b.issues?.[0]?.message }).toEqual({ name, issue: undefined });
  }
  // The object the commands use is the same file parsed when the program is built.
  const { DEFAULT_CONFIG } = await import("../../src/config/load.ts");
  expect(DEFAULT_CONFIG).toStrictEqual(data);
});

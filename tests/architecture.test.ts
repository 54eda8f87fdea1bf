// The dependency direction docs/architecture.md promises, checked on every relative import in src/
// and scripts/: a change that makes policy/ read the disk, or makes the CLI and the server import
// each other, fails here instead of drifting silently.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { PROGRAM_SOURCES } from "../scripts/release/compile.ts";
import { REPO } from "./helpers/cli.ts";

/** Area of src (first folder, or "cli.ts" for the entry) → the areas it may import besides itself. */
const ALLOWED: Record<string, string[]> = {
  shared: [],
  schema: ["shared"],
  policy: ["schema", "shared"],
  config: ["policy", "shared"],
  store: ["policy", "config", "schema", "shared"],
  // git: reading repositories (isomorphic-git) and the git artifact's graph; pure of the store and the pipeline
  git: ["shared"],
  pipeline: ["store", "policy", "config", "schema", "shared", "git"],
  query: ["store", "pipeline", "schema", "shared", "git"],
  // upgrade: finding, verifying and swapping in a release (the `upgrade` command and the update notice)
  upgrade: ["schema", "shared"],
  // ui: `auditgraph ui`, the local graph explorer (server, API over the read cores, and the page)
  ui: ["query", "pipeline", "store", "policy", "config", "schema", "shared"],
  cli: ["ui", "upgrade", "query", "pipeline", "store", "policy", "config", "schema", "shared", "git"],
  "cli.ts": ["cli"],
  "release-server": ["schema", "shared"],
  // The release build (producer of release.json) shares only the schema and the shared helpers.
  "scripts/release": ["schema", "shared"],
  // mcp: the MCP server (`auditgraph mcp`): tools over the query layer, read-only
  mcp: ["query", "pipeline", "store", "policy", "config", "schema", "shared"],
};
// The CLI starts the MCP server (`auditgraph mcp`).
ALLOWED.cli!.push("mcp");

/** The relative import specifiers of a module's text (static, dynamic and side-effect imports), as [whole match, specifier]. */
const relativeImports = (text: string) => text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']+)["']/g);

/** Every relative import of release-server's files: the importing file, the specifier and the file it names (repo-relative). */
function* serverImports(): Generator<{ f: string; spec: string; target: string }> {
  for (const f of new Bun.Glob("src/release-server/**/*.ts").scanSync({ cwd: REPO })) {
    const file = join(REPO, f);
    const text = readFileSync(file, "utf8");
    for (const m of relativeImports(text)) yield { f, spec: m[1]!, target: relative(REPO, resolve(dirname(file), m[1]!)) };
  }
}

const area = (file: string): string | undefined => {
  const r = relative(REPO, file);
  if (r.startsWith("scripts/release/") || r === "scripts/build.ts") return "scripts/release";
  if (!r.startsWith("src/")) return undefined;
  const rest = r.slice(4);
  return rest.includes("/") ? rest.split("/")[0] : rest;
};

test("every import in src/ and the release scripts follows the documented direction", () => {
  const files = [
    ...new Bun.Glob("src/**/*.ts").scanSync({ cwd: REPO }),
    ...new Bun.Glob("scripts/release/**/*.ts").scanSync({ cwd: REPO }),
    "scripts/build.ts",
  ].map((f) => join(REPO, f));
  expect(files.length).toBeGreaterThan(50);
  const violations: string[] = [];
  for (const file of files) {
    const from = area(file)!;
    const text = readFileSync(file, "utf8");
    for (const m of relativeImports(text)) {
      const target = area(resolve(dirname(file), m[1]!));
      if (target === undefined || target === from) continue;
      if (!ALLOWED[from]!.includes(target)) violations.push(`${relative(REPO, file)} imports ${m[1]} (${from} → ${target})`);
    }
  }
  expect(violations).toEqual([]);
});

// Issue 13: the HTTP and CLI layers stay unaware of the blob backend. Inside release-server, only the
// blob store's own files, its factory (blobs/open.ts) and the service that opens it may name the S3
// implementation; blobs/ itself depends on nothing but the domain, the config type and shared helpers.
test("the blob backends stay behind the BlobStore interface", () => {
  const s3Files = new Set(["src/release-server/blobs/s3.ts", "src/release-server/blobs/s3-requests.ts"]);
  const mayNameS3 = new Set([...s3Files, "src/release-server/blobs/open.ts"]);
  const violations: string[] = [];
  for (const { f, spec, target } of serverImports()) {
    if (s3Files.has(target) && !mayNameS3.has(f)) violations.push(`${f} imports ${spec} (only blobs/open.ts chooses the S3 store)`);
    if (f.startsWith("src/release-server/blobs/") && target.startsWith("src/release-server/")) {
      const ok = target.startsWith("src/release-server/blobs/") || target.startsWith("src/release-server/domain/") || target === "src/release-server/config.ts";
      if (!ok) violations.push(`${f} imports ${spec} (blobs/ depends only on domain/ and the config type)`);
    }
  }
  expect(violations).toEqual([]);
});

// Issue 13: the HTTP and CLI layers stay unaware of the database backend too. Only storage/open.ts
// chooses an implementation; bun:sqlite and Bun's SQL client appear only in their storage files;
// storage/ depends on nothing but the domain, the config and shared helpers.
test("the database backends stay behind the Repositories interface", () => {
  const backends = new Set(["src/release-server/storage/sqlite.ts", "src/release-server/storage/postgres.ts", "src/release-server/storage/memory.ts", "src/release-server/storage/serial.ts", "src/release-server/storage/postgres-migrations.ts"]);
  const mayOpen = new Set([...backends, "src/release-server/storage/open.ts"]);
  const drivers: Array<[RegExp, Set<string>]> = [
    [/from\s+["']bun:sqlite["']/, new Set(["src/release-server/storage/sqlite.ts", "src/release-server/storage/migrations.ts"])],
    [/import\s+(?:type\s+)?\{[^}]*\bSQL\b[^}]*\}\s+from\s+["']bun["']/, new Set(["src/release-server/storage/postgres.ts", "src/release-server/storage/postgres-migrations.ts"])],
  ];
  const violations: string[] = [];
  for (const f of new Bun.Glob("src/release-server/**/*.ts").scanSync({ cwd: REPO })) {
    const text = readFileSync(join(REPO, f), "utf8");
    for (const [pattern, owners] of drivers) if (pattern.test(text) && !owners.has(f)) violations.push(`${f} uses a database driver (${pattern.source}); only storage/ may`);
  }
  for (const { f, spec, target } of serverImports()) {
    if (backends.has(target) && !mayOpen.has(f)) violations.push(`${f} imports ${spec} (only storage/open.ts chooses the database)`);
    if (f.startsWith("src/release-server/storage/") && target.startsWith("src/release-server/")) {
      const ok = target.startsWith("src/release-server/storage/") || target.startsWith("src/release-server/domain/") || target === "src/release-server/config.ts";
      if (!ok) violations.push(`${f} imports ${spec} (storage/ depends only on domain/ and the config)`);
    }
  }
  expect(violations).toEqual([]);
});

// The service's parts (services/: apps, tokens, releases and artifacts, channels and rollout,
// retention, over core.ts) see only the domain, the config, the blob store's interface and each
// other; the HTTP layer and the CLI reach them through service.ts alone.
test("the service's parts depend only on the domain and the interfaces; HTTP and CLI go through service.ts", () => {
  const violations: string[] = [];
  for (const { f, spec, target } of serverImports()) {
    if (f.startsWith("src/release-server/services/")) {
      const ok = target.startsWith("src/release-server/services/") || target.startsWith("src/release-server/domain/") ||
        target === "src/release-server/config.ts" || target === "src/release-server/blobs/types.ts" || !target.startsWith("src/release-server/");
      if (!ok) violations.push(`${f} imports ${spec} (services/ sees only domain/, the config and blobs/types.ts)`);
    }
    if ((f.startsWith("src/release-server/http/") || f.startsWith("src/release-server/cli/")) && target.startsWith("src/release-server/services/")) {
      violations.push(`${f} imports ${spec} (the HTTP layer and the CLI call service.ts)`);
    }
  }
  expect(violations).toEqual([]);
});

// The bundled executable evaluates every static import of a built-in module when it starts, whatever
// the command (docs/architecture.md, "Start-up"): node:zlib alone pulls in node:stream, about 5 ms of
// every `auditgraph` run. Heavier built-ins are loaded where they are used.
test("the auditgraph bundle imports only cheap built-ins at start", async () => {
  const { entry, workers, workerRoot } = PROGRAM_SOURCES.auditgraph;
  const out = await Bun.build({ entrypoints: [entry, ...workers].map((f) => join(REPO, f)), root: join(REPO, workerRoot!), target: "bun", format: "esm" });
  expect(out.success).toBe(true);
  const builtins = new Set<string>();
  for (const o of out.outputs.filter((o) => o.kind === "entry-point" && o.path.endsWith(".js"))) {
    for (const m of (await o.text()).matchAll(/^import\s[^;]*?from\s*"([^"]+)";?$/gm)) builtins.add(m[1]!.replace(/^node:/, ""));
  }
  expect([...builtins].filter((b) => !["fs", "path", "process"].includes(b))).toEqual([]);
  expect(builtins.has("fs")).toBe(true); // the pattern finds the imports that are there
});

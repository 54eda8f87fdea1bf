// Ingest end to end: skipped files with reasons, symlinks, incrementality, determinism, redaction, locking.
import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sha256Hex } from "../../src/shared/hash.ts";
import { canonicalJson } from "../../src/shared/json.ts";
import { allStoredText, cleanup, cli, cliUnprivileged, expectOneLineError, openToAll, spawnCli, tempDir, treeHash, workspace } from "../helpers/cli.ts";

afterAll(cleanup);

const manifestOf = (root: string) => {
  const id = readFileSync(join(root, ".pkg/profiles/default/current"), "utf8").trim();
  return { id, text: readFileSync(join(root, `.pkg/profiles/default/runs/${id}/manifest.json`), "utf8") };
};
const reasons = (json: any) => Object.fromEntries(json.skipped.map((s: any) => [s.path, s.reason]));

describe("ingest", () => {
  test("the example workspace: documents, sections, ADR decision, log claims, code, links", () => {
    const root = workspace();
    const r = cli(["ingest", "--root", root, "--json"]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ status: "ok", unchanged: false, counts: { files: 6, ok: 6, skipped: 0 } });
    expect(Object.keys(r.json.budget).sort()).toEqual(["block_threshold", "limit_bytes", "projected_bytes", "ratio", "source_bytes", "status", "usage_bytes", "warn_threshold"]);
    const m = JSON.parse(manifestOf(root).text);
    for (const k of ["run_id", "schema_version", "auditgraph_version", "config_hash", "inputs_hash", "outputs_hash"]) expect(typeof m[k]).toBe("string");
    // inputs_hash is the sha256 of the file records' canonical JSON (ingest serializes each record once for it and the manifest's lines).
    expect(m.inputs_hash).toBe(sha256Hex(canonicalJson(m.files)));
    expect(m.files[0]).toMatchObject({ path: "logs/api.log", status: "ok", bytes: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const exp = cli(["export", "--root", root, "--format", "json"]).json;
    const types = new Set(exp.nodes.map((n: any) => n.type));
    for (const t of ["document", "section", "chunk", "technology", "reference", "decision", "claim"]) expect(types).toContain(t);
    const byName = (n: string) => exp.nodes.find((x: any) => x.name === n);
    const arch = byName("Order service architecture");
    const adr = exp.nodes.find((x: any) => x.type === "document" && x.path === "notes/adr/0001-use-postgresql.md");
    expect(arch.attrs.frontmatter).toEqual({ title: "Order service architecture", tags: ["architecture", "orders"], project: "shop", status: "current" });
    expect(arch.attrs.code_spans).toEqual(["order.created", "api", "worker"]);
    expect(exp.edges).toContainEqual({ source: arch.id, target: adr.id, type: "links_to", line: 11 });
    expect(exp.edges.some((e: any) => e.source === arch.id && e.target === "tech_postgresql" && e.type === "mentions")).toBe(true);
    expect(exp.nodes.find((x: any) => x.type === "decision").attrs.status).toBe("accepted");
    expect(exp.nodes.filter((x: any) => x.type === "claim").map((x: any) => x.line)).toEqual([4, 5, 7]);
    // The credential in the runbook is redacted in storage.
    const stored = allStoredText(join(root, ".pkg"));
    expect(stored).toContain("systemctl restart order-worker"); // the store is read (the check below could not pass vacuously)
    expect(stored).not.toContain("changeme");
  });

  test("skipped files are recorded with a reason and never fatal", () => {
    const outside = tempDir();
    writeFileSync(join(outside, "secret.md"), "OUTSIDE-TARGET-CONTENT\n");
    const big = "word ".repeat(3000);
    const root = workspace({
      "notes/ok.md": "# Fine\n",
      "notes/empty.md": "",
      "notes/latin1.txt": Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]),
      "notes/binary.txt": Buffer.from([0x61, 0x00, 0x62]),
      "notes/huge.md": big,
      "notes/image.png": "not really",
      "config/pkg.yaml": "profiles:\n  default:\n    ingestion:\n      max_file_size_bytes: 10000\n",
    });
    symlinkSync(join(outside, "secret.md"), join(root, "notes", "outside.md"));
    symlinkSync(join(root, "notes", "loop-a"), join(root, "notes", "loop-b"));
    symlinkSync(join(root, "notes", "loop-b"), join(root, "notes", "loop-a"));
    mkdirSync(join(root, "notes", "sub"));
    symlinkSync(join(root, "notes"), join(root, "notes", "sub", "up")); // a directory loop
    symlinkSync(join(root, "notes", "ok.md"), join(root, "notes", "alias.md"));
    const r = cli(["ingest", "--root", root, "--json"]);
    expect(r.code).toBe(0);
    expect(reasons(r.json)).toEqual({
      "notes/binary.txt": "binary",
      "notes/empty.md": "empty",
      "notes/huge.md": "too_large",
      "notes/image.png": "unsupported_extension",
      "notes/latin1.txt": "invalid_utf8",
      "notes/loop-a": "symlink_loop",
      "notes/loop-b": "symlink_loop",
      "notes/outside.md": "symlink_outside_root",
      "notes/sub/up": "symlink_loop",
    });
    expect(r.json.counts.ok).toBe(2); // ok.md and the in-root alias.md
    expect(allStoredText(join(root, ".pkg"))).not.toContain("OUTSIDE-TARGET-CONTENT");
  });

  test("a root that cannot hold the store (as a user without privileges): one line naming the lock and why, nothing written", () => {
    const root = workspace();
    openToAll(root);
    chmodSync(root, 0o555);
    try {
      const r = cliUnprivileged(["ingest", "--root", root, "--json"]);
      if (!r) return console.warn("skipped: cannot run as a user without privileges here");
      expect(r.code).toBe(1);
      expect(r.json).toMatchObject({ status: "error", code: "write_failed" });
      expect(expectOneLineError(r)).toContain(`cannot take the workspace lock ${join(root, ".pkg", "lock")}: EACCES`);
      expect(existsSync(join(root, ".pkg"))).toBe(false);
    } finally {
      chmodSync(root, 0o755);
    }
  });

  test("an include path under a link out of the root is not read; a link into the store is never read", () => {
    const outside = tempDir();
    mkdirSync(join(outside, "sub"));
    writeFileSync(join(outside, "sub", "x.md"), "OUTSIDE-VIA-PARENT\n");
    const root = workspace({ "docs/ok.md": "# Fine\n", "config/pkg.yaml": "profiles:\n  default:\n    include_paths: [notes/sub, notes, docs]\n" });
    symlinkSync(outside, join(root, "notes"));
    const r = cli(["ingest", "--root", root, "--json"]);
    expect(r.code).toBe(0);
    expect(reasons(r.json)).toEqual({ notes: "symlink_outside_root", "notes/sub": "symlink_outside_root" });
    expect(r.json.counts.ok).toBe(1);
    expect(allStoredText(join(root, ".pkg"))).not.toContain("OUTSIDE-VIA-PARENT");
    // A root given through a link, include paths that do not exist: nothing is outside, and the run is the real path's.
    const real = workspace();
    const link = join(tempDir(), "ws-link");
    symlinkSync(real, link);
    const viaLink = cli(["ingest", "--root", link, "--json"]).json;
    expect(viaLink.skipped).toEqual([]);
    expect(cli(["ingest", "--root", real, "--json"]).json).toMatchObject({ run_id: viaLink.run_id, unchanged: true });
    // A link into the store's profile: the store does not ingest itself, and the workspace settles.
    const ws = workspace();
    expect(cli(["ingest", "--root", ws]).code).toBe(0);
    symlinkSync("../.pkg/profiles/default", join(ws, "notes", "store"));
    const a = cli(["ingest", "--root", ws, "--json"]).json;
    const b = cli(["ingest", "--root", ws, "--json"]).json;
    expect([a.unchanged, b.unchanged, b.run_id]).toEqual([true, true, a.run_id]);
    expect(cli(["list", "--type", "document", "--where", "path~store", "--root", ws, "--json"]).json.total).toBe(0);
  });

  test("unchanged re-ingest: same run id, nothing written; one change: one file parsed, two objects", () => {
    const root = workspace();
    const first = cli(["ingest", "--root", root, "--json"]).json;
    const before = treeHash(join(root, ".pkg"));
    const mtimes = readdirSync(join(root, ".pkg/profiles/default")).map((n) => statSync(join(root, ".pkg/profiles/default", n)).mtimeMs);
    const again = cli(["ingest", "--root", root, "--json"]).json;
    expect(again).toMatchObject({ run_id: first.run_id, unchanged: true, processed: 0, new_objects: 0, written_bytes: 0 });
    expect(treeHash(join(root, ".pkg"))).toEqual(before);
    expect(readdirSync(join(root, ".pkg/profiles/default")).map((n) => statSync(join(root, ".pkg/profiles/default", n)).mtimeMs)).toEqual(mtimes);

    appendFileSync(join(root, "notes", "runbook.md"), "\nOne more line about Redis.\n");
    const third = cli(["ingest", "--root", root, "--json"]).json;
    expect(third.run_id).not.toBe(first.run_id);
    expect(third).toMatchObject({ unchanged: false, processed: 1, reused: 5, new_objects: 2 });
    const d = cli(["diff", "--root", root, first.run_id, third.run_id, "--json"]).json;
    expect(d).toMatchObject({ added: [], removed: [], changed: ["notes/runbook.md"] });
    expect(d.artifacts_rewritten).toHaveLength(2);
    // The older run stays readable and the store verifies.
    expect(cli(["runs", "show", "--root", root, first.run_id]).code).toBe(0);
    expect(cli(["verify", "--root", root]).code).toBe(0);
    // A touched but identical file is not re-parsed and gives the same run.
    const t = new Date(Date.now() + 5000);
    require("node:fs").utimesSync(join(root, "notes", "architecture.md"), t, t);
    const fourth = cli(["ingest", "--root", root, "--json"]).json;
    expect(fourth).toMatchObject({ run_id: third.run_id, unchanged: true, processed: 0 });
  });

  test("an unreadable or ill-formed stat cache is ignored: files are re-hashed, the run is the same, the cache is rewritten", () => {
    const root = workspace();
    const first = cli(["ingest", "--root", root, "--json"]).json;
    const cachePath = join(root, ".pkg/profiles/default/cache/stat.zst");
    const text = () => new TextDecoder().decode(Bun.zstdDecompressSync(readFileSync(cachePath)));
    const good = text();
    const st = statSync(join(root, "notes", "runbook.md"));
    expect(JSON.parse(good)).toMatchObject({ run: first.run_id, files: { "notes/runbook.md": [st.size, st.mtimeMs, st.ino, st.ctimeMs] } });
    // Not zstd; zstd of what is not JSON; no run; an entry that is not [size, mtime, inode, ctime];
    // an older binary's cache, without the ctime.
    const zstd = (t: string) => Bun.zstdCompressSync(new TextEncoder().encode(t));
    const withoutCtime = JSON.parse(good);
    for (const k of Object.keys(withoutCtime.files)) withoutCtime.files[k] = withoutCtime.files[k].slice(0, 3);
    for (const bad of [new TextEncoder().encode("not zstd"), zstd("not json"), zstd(JSON.stringify({ files: {} })),
      zstd(JSON.stringify({ run: first.run_id, files: { "notes/runbook.md": [st.size, st.mtimeMs, "not-an-inode", st.ctimeMs] } })),
      zstd(JSON.stringify(withoutCtime))]) {
      writeFileSync(cachePath, bad);
      const again = cli(["ingest", "--root", root, "--json"]);
      expect(again.code).toBe(0);
      expect(again.json).toMatchObject({ run_id: first.run_id, unchanged: true, processed: 0 });
      expect(text()).toBe(good);
    }
    // A FIFO in its place is no cache (reading it would wait for a writer forever): replaced.
    rmSync(cachePath);
    expect(Bun.spawnSync(["mkfifo", cachePath]).exitCode).toBe(0);
    const fifo = cli(["ingest", "--root", root, "--json"], { timeoutMs: 30_000 });
    expect(fifo.code, fifo.stderr).toBe(0);
    expect(fifo.json).toMatchObject({ run_id: first.run_id, unchanged: true, processed: 0 });
    expect(text()).toBe(good);
    // An older binary's uncompressed cache is not read, and goes when the cache is next written.
    const old = join(root, ".pkg/profiles/default/cache/stat.json");
    writeFileSync(old, good);
    rmSync(cachePath);
    expect(cli(["ingest", "--root", root, "--json"]).json).toMatchObject({ run_id: first.run_id, unchanged: true, processed: 0 });
    expect(existsSync(old)).toBe(false);
    expect(text()).toBe(good);
  });

  test("the stat cache vouches only for the run it was written for", () => {
    const root = workspace();
    const first = cli(["ingest", "--root", root, "--json"]).json;
    const cachePath = join(root, ".pkg/profiles/default/cache/stat.zst");
    const cache = JSON.parse(new TextDecoder().decode(Bun.zstdDecompressSync(readFileSync(cachePath))));
    // The same size, mtime and inode, other content: only a re-read sees the change.
    const file = join(root, "notes", "runbook.md"), before = statSync(file);
    const body = readFileSync(file, "utf8");
    writeFileSync(file, body.slice(0, -2) + (body.at(-2) === "x" ? "y" : "x") + body.at(-1));
    require("node:fs").utimesSync(file, before.atime, before.mtime);
    const now = statSync(file);
    cache.files["notes/runbook.md"] = [now.size, now.mtimeMs, now.ino, now.ctimeMs]; // forged: as if the run had read it so
    const put = (run: string) => writeFileSync(cachePath, Bun.zstdCompressSync(new TextEncoder().encode(JSON.stringify({ ...cache, run }))));
    put(first.run_id); // the current run's: trusted, so the file is taken as unchanged
    expect(cli(["ingest", "--root", root, "--json"]).json).toMatchObject({ run_id: first.run_id, unchanged: true, processed: 0 });
    put(`run_${"0".repeat(32)}`); // another run's: every file is hashed again
    const second = cli(["ingest", "--root", root, "--json"]).json;
    expect(second).toMatchObject({ unchanged: false, processed: 1 });
    expect(second.run_id).not.toBe(first.run_id);
  });

  test("an edit that keeps size and inode and restores the mtime (touch -r) is seen: the stat cache compares the ctime too", async () => {
    const root = workspace();
    const first = cli(["ingest", "--root", root, "--json"]).json;
    const file = join(root, "notes", "runbook.md"), before = statSync(file);
    const stamp = join(tempDir(), "stamp");
    writeFileSync(stamp, "");
    expect(Bun.spawnSync(["touch", "-r", file, stamp]).exitCode).toBe(0); // the file's times, to the nanosecond
    const body = readFileSync(file, "utf8");
    await Bun.sleep(20); // a later change time than the one the cache holds, on any timestamp resolution
    writeFileSync(file, body.slice(0, -2) + (body.at(-2) === "x" ? "y" : "x") + body.at(-1)); // in place: same inode
    expect(Bun.spawnSync(["touch", "-r", stamp, file]).exitCode).toBe(0); // the mtime it had, restored
    const now = statSync(file);
    expect([now.size, now.mtimeMs, now.ino]).toEqual([before.size, before.mtimeMs, before.ino]);
    expect(now.ctimeMs).not.toBe(before.ctimeMs);
    const second = cli(["ingest", "--root", root, "--json"]).json;
    expect(second).toMatchObject({ unchanged: false, processed: 1 });
    expect(second.run_id).not.toBe(first.run_id);
    const sha = (r: string) => JSON.parse(manifestOf(root).text).files.find((f: { path: string }) => f.path === r).sha256;
    expect(sha("notes/runbook.md")).toBe(new Bun.CryptoHasher("sha256").update(readFileSync(file)).digest("hex"));
  });

  test("an unchanged re-run keeps what the files' records said (front-matter warnings), touched or not", () => {
    const root = workspace({ "notes/a.md": "---\ntitle: [unclosed\n---\n# A\n\nbody\n", "notes/b.md": "# B\n\nother\n" });
    const first = cli(["ingest", "--root", root, "--json"]).json;
    const warned = () => JSON.parse(manifestOf(root).text).files.find((f: { path: string }) => f.path === "notes/a.md").warnings;
    expect(warned()).toHaveLength(1);
    expect(cli(["ingest", "--root", root, "--json"]).json).toMatchObject({ run_id: first.run_id, unchanged: true });
    const t = new Date(Date.now() + 5000);
    require("node:fs").utimesSync(join(root, "notes", "a.md"), t, t);
    rmSync(join(root, ".pkg/profiles/default/cache/stat.zst"));
    expect(cli(["ingest", "--root", root, "--json"]).json).toMatchObject({ run_id: first.run_id, unchanged: true });
    expect(warned()).toHaveLength(1);
  });

  test("damaged previous objects of the shards a change rebuilds: on workers as inline, the shards are built from the sources, as a fresh ingest builds them", () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 128; i++) files[`notes/n${i}.md`] = `# Note ${i}\n\nbody of note ${i}\n`;
    const root = workspace(files);
    const first = cli(["ingest", "--root", root, "--json"]).json;
    const pd = join(root, ".pkg/profiles/default");
    // Damaged index and text objects: rebuilding a shard that still holds unchanged files reads its old ones.
    for (const a of JSON.parse(manifestOf(root).text).artifacts) {
      if (a.name.startsWith("index/") || a.name.startsWith("text/")) writeFileSync(join(pd, "objects", a.sha256.slice(0, 2), a.sha256), "damaged");
    }
    for (let i = 0; i < 16; i++) appendFileSync(join(root, "notes", `n${i}.md`), "an edit\n");
    const inline = join(tempDir("ag-inline-"), "ws");
    cpSync(root, inline, { recursive: true });
    const fresh = join(tempDir("ag-fresh-"), "ws");
    cpSync(join(root, "notes"), join(fresh, "notes"), { recursive: true });
    const ids: string[] = [];
    for (const [at, env] of [[root, {}], [inline, { AUDITGRAPH_WORKERS: "1" }], [fresh, {}]] as [string, Record<string, string>][]) { // many changed shards: workers (on 2+ cores), inline, fresh
      const r = cli(["ingest", "--root", at, "--json"], { env });
      expect({ env, code: r.code, stderr: r.stderr }).toEqual({ env, code: 0, stderr: "" });
      ids.push(r.json.run_id);
    }
    expect(ids[0]).not.toBe(first.run_id);
    expect(new Set(ids).size).toBe(1);
  });

  test("determinism: the same workspace at two absolute paths (workers or inline) gives byte-identical manifests and objects", () => {
    const a = workspace();
    const b = join(tempDir("ag-other-location-"), "deeper", "ws");
    cpSync(a, b, { recursive: true });
    expect(cli(["ingest", "--root", a]).code).toBe(0); // 6 changed shards: built on workers
    expect(cli(["ingest", "--root", b], { env: { AUDITGRAPH_WORKERS: "1" } }).code).toBe(0); // built inline
    const strip = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => !k.endsWith("runs.log") && !k.includes("cache/")));
    expect(strip(treeHash(join(a, ".pkg")))).toEqual(strip(treeHash(join(b, ".pkg"))));
    expect(manifestOf(a).text).toBe(manifestOf(b).text);
    expect(manifestOf(a).text).not.toContain(a);
    for (const f of ["json", "dot", "graphml"]) {
      expect(cli(["export", "--root", a, "--format", f]).stdout).toBe(cli(["export", "--root", b, "--format", f]).stdout);
    }
  });

  test("include_paths '.' with no excludes never ingests .pkg/ itself", () => {
    const root = workspace({ "a.md": "# A\n", "config/pkg.yaml": "profiles:\n  default:\n    include_paths: [\".\"]\n    exclude_globs: []\n" });
    const first = cli(["ingest", "--root", root, "--json"]).json;
    const second = cli(["ingest", "--root", root, "--json"]).json;
    expect(first.counts.files).toBe(2); // a.md and config/pkg.yaml
    expect(second).toMatchObject({ run_id: first.run_id, unchanged: true });
  });

  test("nor the store's real directory when .pkg is a symlink to one inside the workspace", () => {
    const root = workspace({ "a.md": "# A\n", "data/keep.md": "# Keep\n", "config/pkg.yaml": "profiles:\n  default:\n    include_paths: [\".\"]\n    exclude_globs: []\n" });
    mkdirSync(join(root, "data", "store"));
    symlinkSync(join(root, "data", "store"), join(root, ".pkg"));
    const first = cli(["ingest", "--root", root, "--json"]);
    expect(first.code).toBe(0);
    const second = cli(["ingest", "--root", root, "--json"]).json;
    expect(first.json.counts.files).toBe(3); // a.md, data/keep.md and config/pkg.yaml
    expect(second).toMatchObject({ run_id: first.json.run_id, unchanged: true });
  });

  test("a changed setting changes the run id; the old run stays", () => {
    const root = workspace();
    const first = cli(["ingest", "--root", root, "--json"]).json;
    mkdirSync(join(root, "config"));
    writeFileSync(join(root, "config", "pkg.yaml"), "profiles:\n  default:\n    ingestion:\n      chunk_tokens: 50\n      chunk_overlap_tokens: 10\n");
    const second = cli(["ingest", "--root", root, "--json"]).json;
    expect(second.run_id).not.toBe(first.run_id);
    expect(second.processed).toBe(6);
    expect(second.counts.chunks).toBeGreaterThan(first.counts.chunks);
    expect(cli(["runs", "list", "--root", root, "--json"]).json.runs.map((r: any) => [r.run_id, r.current])).toEqual([[first.run_id, false], [second.run_id, true]]);
  });

  test("redaction: no planted secret appears anywhere under .pkg/", () => {
    const secrets = {
      pem: "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7planted0pemKEYmaterial\n-----END RSA PRIVATE KEY-----",
      jwt: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbGFudGVkIn0.c2lnbmF0dXJlUGxhbnRlZDEyMw",
      bearer: "plantedBearerTok3n99",
      kv: "hunter2planted",
      kvq: "quoted planted pass",
      url: "plantedUrlPass",
      aws: "AKIAPLANTED0EXAMPLE1",
      gh: "ghp_plantedplantedplantedplanted123456",
      slack: "xoxb-123456789012-plantedslack",
      stripe: "sk_live_plantedplantedplanted12",
      google: "AIzaPLANTEDplantedPLANTEDplanted1234567",
    };
    const body = [
      "# Secrets everywhere", "", secrets.pem, "", `token: ${secrets.jwt}`, `Authorization: Bearer ${secrets.bearer}`,
      `password=${secrets.kv}`, `DB_PASSWORD: "${secrets.kvq}"`, `postgres://admin:${secrets.url}@db.internal:5432/app`,
      `aws ${secrets.aws}`, `gh ${secrets.gh}`, `slack ${secrets.slack}`, `stripe ${secrets.stripe}`, `google ${secrets.google}`,
      "", "## Section with `password=" + secrets.kv + "` in a code span", "",
    ].join("\n");
    const root = workspace({
      "notes/secrets.md": `---\ntitle: Secrets\napi_key: ${secrets.gh}\n---\n${body}\n[link](https://user:${secrets.url}@example.com/x)\n`,
      "logs/app.log": `ERROR auth failed with Bearer ${secrets.bearer} and api_key=${secrets.kv}\n`,
      "src/settings.py": `SECRET_KEY = "${secrets.kvq}"\nJWT = "${secrets.jwt}"\n`,
    });
    const r = cli(["ingest", "--root", root]);
    expect(r.code).toBe(0);
    cli(["export", "--root", root, "--format", "graphml", "--out", join(root, ".pkg", "export.graphml")]);
    const stored = allStoredText(join(root, ".pkg"));
    expect(stored).toContain("[REDACTED:");
    for (const [kind, s] of Object.entries(secrets)) {
      for (const piece of s.split("\n")) if (piece.length > 12 && !piece.startsWith("-----")) expect({ kind, found: stored.includes(piece) }).toEqual({ kind, found: false });
      expect({ kind, found: stored.includes(s) }).toEqual({ kind, found: false });
    }
  });

  test("two concurrent ingests: the second waits for the lock; both succeed and the store verifies", async () => {
    const root = workspace();
    for (let i = 0; i < 300; i++) writeFileSync(join(root, "notes", `gen-${i}.md`), `# Note ${i}\n\n${"lorem ipsum dolor sit amet ".repeat(200)}\n`);
    const a = spawnCli(["ingest", "--root", root, "--json"]);
    const b = spawnCli(["ingest", "--root", root, "--json"]);
    const [ca, cb] = await Promise.all([a.exited, b.exited]);
    expect([ca, cb]).toEqual([0, 0]);
    const ja = JSON.parse(await new Response(a.stdout).text());
    const jb = JSON.parse(await new Response(b.stdout).text());
    expect(ja.run_id).toBe(jb.run_id);
    expect([ja.unchanged, jb.unchanged].sort()).toEqual([false, true]);
    expect(cli(["verify", "--root", root]).code).toBe(0);
  });

  test("a held lock makes a second writer fail with a clear message after waiting", () => {
    const root = workspace();
    mkdirSync(join(root, ".pkg"), { recursive: true });
    writeFileSync(join(root, ".pkg", "lock"), `${process.pid}\n`); // this test process is alive
    const r = cli(["ingest", "--root", root], { env: { AUDITGRAPH_LOCK_WAIT_MS: "200" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`is locked by another auditgraph process (pid ${process.pid}`);
    writeFileSync(join(root, ".pkg", "lock"), "999999999\n"); // a dead pid: stale, taken over
    expect(cli(["ingest", "--root", root]).code).toBe(0);
  });
});

test("a progress line on stderr only when stderr is a TTY", () => {
  if (!Bun.which("script")) throw new Error("script (util-linux/bsdutils) is needed to give the CLI a TTY");
  const root = workspace();
  const piped = cli(["ingest", "--root", root]);
  expect(piped.stderr).toBe("");
  const again = workspace();
  const tty = Bun.spawnSync(["script", "-qec", `${process.execPath} ${join(import.meta.dir, "..", "..", "src", "cli.ts")} ingest --root ${again}`, "/dev/null"]);
  expect(tty.exitCode).toBe(0);
  expect(tty.stdout.toString()).toContain("\ringest: 6/6 files");
});

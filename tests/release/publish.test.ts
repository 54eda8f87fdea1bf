// `bun run release:publish` end to end: the real release-server on loopback (as the release-server
// HTTP tests start it), a small fake build directory in the shape scripts/release/build.ts writes
// (real tar.gz archives, SHA256SUMS, a .minisig, release.json), and scripts/release/publish.ts run
// as a process. What the server saw is read from its access log between two marker requests.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tarGz } from "../../scripts/release/archive.ts";
import { changelogSection, changelogVersions } from "../../scripts/release/changelog.ts";
import { checksum, renderSums } from "../../scripts/release/checksums.ts";
import { PUBLISH_EXIT } from "../../scripts/release/publish.ts";
import { trustedComment } from "../../scripts/release/sign.ts";
import { parseSecretKey, signMinisign } from "../../scripts/release/minisign.ts";
import { makeKey, run } from "./support.ts";
import type { ReleaseAsset, ReleaseManifest } from "../../src/schema/release.ts";
import { canonicalJson } from "../../src/shared/json.ts";
import { OP, auth, logLine, seed, startServer, tempData, type Running } from "../release-server/http/server.ts";

const PUBLISH = join(import.meta.dir, "../../scripts/release/publish.ts");
const REPO_ROOT = join(import.meta.dir, "../..");
const OWNER = "auditgraph";
const APP = "auditgraph";
const REPO = `${OWNER}/${APP}`;

let srv: Running;
let token: string; // publish + promote for the app, as CI would hold
let work: string;
let changelog: string;

const VERSIONS = ["1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0", "1.5.0", "1.6.0", "1.7.0", "1.8.0", "1.9.0", "2.0.0-rc.1"];

beforeAll(async () => {
  const t = tempData();
  await seed(t.data, async (s) => {
    await s.createApp({ owner: OWNER, slug: APP }, OP);
    token = (await s.createToken({ name: "ci-release", actions: ["publish", "promote"], apps: [REPO] }, OP)).raw;
  });
  srv = await startServer(t);
  work = mkdtempSync(join(tmpdir(), "ag-publish-"));
  changelog = join(work, "CHANGELOG.md");
  writeFileSync(changelog, ["# Changelog", "", ...VERSIONS.flatMap((v) => [`## ${v}`, "", `- notes of ${v}`, "- second line", ""])].join("\n"));
});
afterAll(async () => {
  await srv?.[Symbol.asyncDispose]();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A build directory as `bun run build` writes it, small: three archives, install.sh, the formula, sums, signature, release.json. */
function fakeBuild(version: string, opts: { signed?: boolean } = {}): string {
  const dir = join(work, `dist-${version}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const assets: ReleaseAsset[] = [];
  const put = (name: string, bytes: Uint8Array, target?: { target: string; os: string; arch: string; libc: string; program: "auditgraph" | "release-server" }) => {
    writeFileSync(join(dir, name), bytes);
    assets.push({ ...checksum(name, bytes), ...(target ? { program: target.program } : {}), target: target?.target ?? null, os: target?.os ?? null, arch: target?.arch ?? null, libc: target?.libc ?? null, size: bytes.length });
  };
  const enc = (s: string) => new TextEncoder().encode(s);
  for (const [program, target, os, arch, libc] of [
    ["auditgraph", "linux-x64", "linux", "x64", "glibc"],
    ["release-server", "linux-x64", "linux", "x64", "glibc"],
    ["auditgraph", "darwin-arm64", "darwin", "arm64", "darwin"],
  ] as const) {
    const exe = enc(`#!/bin/sh\necho ${program} ${version} ${target}\n`.repeat(200));
    put(`${program}-${target}.tar.gz`, tarGz([{ name: program, data: exe, mode: 0o755 }, { name: "LICENSE", data: enc("MIT\n"), mode: 0o644 }], 1_700_000_000), { program, target, os, arch, libc });
  }
  put("install.sh", enc(`#!/bin/sh\n# installer for ${version}\n`));
  put("auditgraph.rb", enc(`class Auditgraph < Formula\n  version "${version}"\nend\n`));
  const sums = renderSums(assets);
  put("SHA256SUMS", enc(sums));
  if (opts.signed !== false) put("SHA256SUMS.minisig", enc(`untrusted comment: signature from minisign secret key\nRUQ${"A".repeat(96)}\ntrusted comment: timestamp:1700000000\tfile:SHA256SUMS\thashed\n${"B".repeat(88)}\n`));
  const manifest: ReleaseManifest = {
    name: "auditgraph",
    version,
    schema_version: "1.0.0",
    commit: "0123456789abcdef0123456789abcdef01234567",
    source_date_epoch: 1_700_000_000,
    assets: assets.sort((a, b) => (a.name < b.name ? -1 : 1)),
  };
  writeFileSync(join(dir, "release.json"), canonicalJson(manifest, 2) + "\n");
  return dir;
}

/** The files of a build and their sha256, release.json included (what the release must end up with). */
function buildFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of new Bun.Glob("*").scanSync({ cwd: dir })) out[name] = new Bun.CryptoHasher("sha256").update(readFileSync(join(dir, name))).digest("hex");
  return out;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** Requests the server logged while the run was going: "METHOD path". */
  requests: string[];
}

let markers = 0;
/** Sends a request the access log shows with a known id; returns the index of its log line. */
async function mark(): Promise<number> {
  const id = `marker-${++markers}`;
  await fetch(`${srv.url}/healthz`, { headers: { "x-request-id": id } });
  await logLine(srv, id);
  return srv.logs.findIndex((l) => l.includes(`"${id}"`));
}

async function publish(args: string[], env: Record<string, string | undefined> = {}, url = srv.url): Promise<Run> {
  const from = await mark();
  const proc = Bun.spawn(["bun", PUBLISH, ...args, "--api-url", `${url}/api/v3`, "--repo", REPO, "--changelog", changelog], {
    env: { ...process.env, GITHUB_TOKEN: "", AUDITGRAPH_PUBLISH_TOKEN: token, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const to = await mark();
  const requests = srv.logs
    .slice(from + 1, to)
    .map((l) => JSON.parse(l))
    .map((l) => `${l.method} ${l.path}`);
  expect(stdout + stderr).not.toContain(token); // the token is never printed
  return { code, stdout, stderr, requests };
}

const uploads = (r: Run) => r.requests.filter((q) => q.startsWith("POST /api/uploads/"));
const writes = (r: Run) => r.requests.filter((q) => !q.startsWith("GET ") && !q.startsWith("HEAD "));

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${srv.url}/api/v3/repos/${REPO}${path}`, { ...init, headers: { ...auth(srv.admin), accept: "application/vnd.github+json", ...(init.headers ?? {}) } });

async function releaseByTag(tag: string, withToken = true): Promise<any> {
  const res = await fetch(`${srv.url}/api/v3/repos/${REPO}/releases/tags/${tag}`, { headers: withToken ? auth(srv.admin) : {} });
  return res.status === 200 ? await res.json() : undefined;
}

const digests = (release: any): Record<string, string> => Object.fromEntries(release.assets.map((a: any) => [a.name, a.digest.replace(/^sha256:/, "")]));

/** Creates a draft through the API and uploads some of the build's files, as an interrupted run leaves it. */
async function draftWith(version: string, files: Record<string, Uint8Array>): Promise<any> {
  const res = await api("/releases", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ tag_name: `v${version}`, draft: true }) });
  expect(res.status).toBe(201);
  const rel: any = await res.json();
  for (const [name, bytes] of Object.entries(files)) {
    const up = await fetch(`${rel.upload_url.replace(/\{.*$/, "")}?name=${encodeURIComponent(name)}`, { method: "POST", headers: { ...auth(srv.admin), "content-type": "application/octet-stream" }, body: bytes });
    expect(up.status).toBe(201);
  }
  return rel;
}

const readBytes = (path: string) => new Uint8Array(readFileSync(path));

type Forward = (init?: { headers?: Headers | Record<string, string>; body?: ReadableStream | string | null }) => Promise<Response>;

/**
 * A loopback proxy in front of the real server that can answer or rewrite some requests, to play a
 * GitHub-like API (no digests, drafts hidden from the tag lookup, downloads redirected to storage)
 * or a misbehaving one. `handle` returns undefined to pass the request through unchanged.
 */
async function withProxy<T>(handle: (req: Request, url: URL, forward: Forward, via: string) => Promise<Response | undefined>, fn: (via: string) => Promise<T>): Promise<T> {
  let via = "";
  const proxy = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const forward: Forward = (init = {}) =>
        fetch(`${srv.url}${url.pathname}${url.search}`, { method: req.method, headers: init.headers ?? req.headers, body: init.body === undefined ? req.body : init.body, redirect: "manual" });
      return (await handle(req, url, forward, via)) ?? (await forward());
    },
  });
  via = `http://127.0.0.1:${proxy.port}`;
  try {
    return await fn(via);
  } finally {
    proxy.stop(true);
  }
}

/** The JSON answer of `res` with `edit` applied. */
async function rewriteJson(res: Response, edit: (body: any) => unknown): Promise<Response> {
  const headers = new Headers(res.headers);
  headers.delete("content-length");
  headers.delete("content-encoding");
  headers.delete("etag");
  return new Response(JSON.stringify(edit(await res.json())), { status: res.status, headers });
}

describe("release:publish against a release-server", () => {
  test("publishes: a draft first, every asset uploaded and read back by digest, then public with the CHANGELOG section as notes", async () => {
    const dir = fakeBuild("1.0.0");
    const r = await publish([dir]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const files = buildFiles(dir);
    expect(Object.keys(files).sort()).toEqual(["SHA256SUMS", "SHA256SUMS.minisig", "auditgraph-darwin-arm64.tar.gz", "auditgraph-linux-x64.tar.gz", "auditgraph.rb", "install.sh", "release-server-linux-x64.tar.gz", "release.json"]);
    expect(uploads(r)).toHaveLength(8);
    // The order the server saw: create a draft, upload, read back, and only then publish.
    const create = r.requests.indexOf(`POST /api/v3/repos/${REPO}/releases`);
    const patch = r.requests.findIndex((q) => q.startsWith(`PATCH /api/v3/repos/${REPO}/releases/`));
    const lastUpload = r.requests.findLastIndex((q) => q.startsWith("POST /api/uploads/"));
    const readBack = r.requests.findLastIndex((q) => /^GET \/api\/v3\/repos\/.*\/releases\/\d+\/assets$/.test(q));
    expect(create).toBeGreaterThanOrEqual(0);
    expect(create).toBeLessThan(r.requests.findIndex((q) => q.startsWith("POST /api/uploads/")));
    expect(lastUpload).toBeLessThan(readBack);
    expect(readBack).toBeLessThan(patch);
    expect(writes(r)).toHaveLength(1 + 8 + 1);

    const rel = await releaseByTag("v1.0.0", false); // anonymous: it is public
    expect(rel).toMatchObject({ tag_name: "v1.0.0", draft: false, prerelease: false, name: "auditgraph 1.0.0" });
    expect(rel.body).toBe("- notes of 1.0.0\n- second line\n");
    expect(digests(rel)).toEqual(files);
    for (const a of rel.assets) {
      const bytes = new Uint8Array(await (await fetch(a.browser_download_url)).arrayBuffer());
      expect(new Bun.CryptoHasher("sha256").update(bytes).digest("hex")).toBe(files[a.name]!);
    }
    expect(r.stdout).toContain("verified 8 assets (8 by digest, 0 downloaded and hashed)");
    expect(r.stdout).toContain("published v1.0.0");
  });

  test("a second run is idempotent: nothing uploaded, nothing written", async () => {
    const dir = fakeBuild("1.0.0");
    const r = await publish([dir]);
    expect(r.code).toBe(0);
    expect(uploads(r)).toEqual([]);
    expect(writes(r)).toEqual([]);
    expect(r.stdout).toContain("v1.0.0 is already published with every asset; nothing to do");
  });

  test("an interrupted run (a draft with half the assets) resumes: only the rest is uploaded, then it is published", async () => {
    const dir = fakeBuild("1.1.0");
    const files = buildFiles(dir);
    const half = Object.keys(files).sort().slice(0, 4);
    await draftWith("1.1.0", Object.fromEntries(half.map((n) => [n, readBytes(join(dir, n))])));
    expect((await releaseByTag("v1.1.0", false))).toBeUndefined(); // still a draft: not public

    const r = await publish([dir]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const sent = uploads(r).map((q) => decodeURIComponent(q)); // the log has no query: count them, name them from the output
    expect(sent).toHaveLength(4);
    const uploadedNames = [...r.stdout.matchAll(/^uploaded (\S+)/gm)].map((m) => m[1]).sort();
    expect(uploadedNames).toEqual(Object.keys(files).sort().slice(4));
    expect(r.stdout).toContain("4 of 8 assets already there");
    expect(r.stdout).toContain("notes of v1.1.0 replaced with this run's"); // the draft had none
    const rel = await releaseByTag("v1.1.0", false);
    expect(rel.draft).toBe(false);
    expect(rel.body).toBe("- notes of 1.1.0\n- second line\n");
    expect(digests(rel)).toEqual(files);
  });

  test("an asset already there with different bytes is an error that changes nothing", async () => {
    const dir = fakeBuild("1.2.0");
    const draft = await draftWith("1.2.0", { "install.sh": new TextEncoder().encode("#!/bin/sh\necho tampered\n") });
    const before: any = await (await api(`/releases/${draft.id}`)).json();

    const r = await publish([dir]);
    expect(r.code).toBe(PUBLISH_EXIT.conflict);
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toMatch(/^error: release v1\.2\.0: install\.sh on the release has sha256 [0-9a-f]{64} \(\d+ bytes\), the build has [0-9a-f]{64} \(\d+ bytes\); nothing was changed$/);
    expect(lines.length).toBeLessThanOrEqual(2); // the error, and at most a hint
    expect(r.stderr).not.toContain("    at "); // no stack trace
    expect(writes(r)).toEqual([]);
    const after: any = await (await api(`/releases/${draft.id}`)).json();
    expect(after.draft).toBe(true);
    expect(after.assets).toEqual(before.assets);
  });

  test("--dry-run prints the plan and only reads", async () => {
    const dir = fakeBuild("1.3.0");
    const r = await publish([dir, "--dry-run"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("would create draft release v1.3.0");
    expect(r.stdout).toContain("would upload auditgraph-linux-x64.tar.gz");
    expect(r.stdout).toContain("would publish v1.3.0");
    expect(writes(r)).toEqual([]);
    expect(await releaseByTag("v1.3.0")).toBeUndefined();

    // On a half-uploaded draft it names what is missing, still without writing.
    const files = buildFiles(dir);
    await draftWith("1.3.0", { "install.sh": readBytes(join(dir, "install.sh")) });
    const again = await publish([dir, "--dry-run", "--channel", "beta", "--rollout", "10"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("install.sh: already there, same sha256");
    expect([...again.stdout.matchAll(/^would upload (\S+)/gm)].map((m) => m[1]).sort()).toEqual(Object.keys(files).filter((n) => n !== "install.sh").sort());
    expect(again.stdout).toContain("would promote v1.3.0 on channel beta at 10%");
    expect(writes(again)).toEqual([]);
    expect((await releaseByTag("v1.3.0")).assets).toHaveLength(1);
  });

  test("--channel beta --rollout 10 promotes the published release through the server's channel API", async () => {
    const dir = fakeBuild("1.4.0");
    const r = await publish([dir, "--channel", "beta", "--rollout", "10"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("promoted v1.4.0 on channel beta at 10%");
    const rel = await releaseByTag("v1.4.0", false);
    expect(rel.draft).toBe(false);
    const ch = (await (await fetch(`${srv.url}/api/v3/repos/${REPO}/channels/beta`)).json()) as any;
    expect(ch).toMatchObject({ current_release_id: rel.id, current_tag: "v1.4.0", rollout_percent: 10 });
    // The server honours it: about 10% of install ids get 1.4.0 from the channel, the rest the older release.
    let hits = 0;
    for (let i = 0; i < 200; i++) {
      const res = await fetch(`${srv.url}/api/v3/repos/${REPO}/releases/latest?channel=beta`, { headers: { "x-install-id": `install-${i}` } });
      if (((await res.json()) as any).tag_name === "v1.4.0") hits++;
    }
    expect(hits).toBeGreaterThan(4);
    expect(hits).toBeLessThan(45);
  });

  test("--channel against an API without channels (GitHub's): published, then one line naming the operator command (exit 6)", async () => {
    // A proxy answers the channel endpoint as GitHub would (404) and passes everything else through.
    await withProxy(async (req, url) => {
      if (!/\/channels\//.test(url.pathname)) return undefined;
      return Response.json({ message: "Not Found" }, { status: 404 });
    }, async (via) => {
      const dir = fakeBuild("1.5.0");
      const r = await publish([dir, "--channel", "stable", "--rollout", "25"], {}, via);
      expect(r.code).toBe(PUBLISH_EXIT.promote);
      expect(r.stderr).toContain("error: release v1.5.0 is published, but PUT /api/v3/repos/auditgraph/auditgraph/channels/stable: 404");
      expect(r.stderr).toContain(`hint: on the server: release-server channel promote ${REPO} stable v1.5.0 --rollout 25`);
      expect((await releaseByTag("v1.5.0", false)).draft).toBe(false);
    });
  });

  test("a GitHub-like API (no digests, drafts hidden from the tag lookup, downloads redirected to storage): assets are downloaded and hashed, without the token on the redirect", async () => {
    const strip = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(strip);
      if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).filter(([k]) => k !== "digest").map(([k, x]) => [k, strip(x)]));
      return v;
    };
    const storage: { auth: boolean }[] = [];
    const tagLookups: number[] = [];
    await withProxy(async (req, url, forward, via) => {
      const storageHit = /^\/storage\/(\d+)$/.exec(url.pathname);
      if (storageHit) {
        storage.push({ auth: req.headers.has("authorization") });
        return fetch(`${srv.url}/api/v3/repos/${REPO}/releases/assets/${storageHit[1]}`, { headers: { ...auth(srv.admin), accept: "application/octet-stream" } });
      }
      const asset = /^\/api\/v3\/repos\/[^/]+\/[^/]+\/releases\/assets\/(\d+)$/.exec(url.pathname);
      if (asset && req.method === "GET" && /octet-stream/.test(req.headers.get("accept") ?? "")) {
        return new Response(null, { status: 302, headers: { location: `${via}/storage/${asset[1]}` } });
      }
      const res = await forward();
      if (/\/releases\/tags\//.test(url.pathname) && res.status === 200) {
        const rel: any = await res.json();
        tagLookups.push(rel.id);
        if (rel.draft) return Response.json({ message: "Not Found" }, { status: 404 });
        return Response.json(strip(rel));
      }
      if (!(res.headers.get("content-type") ?? "").includes("json")) return res;
      return rewriteJson(res, strip);
    }, async (via) => {
      const dir = fakeBuild("1.7.0");
      await draftWith("1.7.0", { "install.sh": new TextEncoder().encode("#!/bin/sh\necho other bytes\n") });
      const bad = await publish([dir], {}, via);
      expect(bad.code).toBe(PUBLISH_EXIT.conflict); // found through the list, compared by its bytes
      expect(bad.stderr).toContain("install.sh on the release has sha256");
      expect(writes(bad)).toEqual([]);
      expect(storage.length).toBe(1);
      const draft = await releaseByTag("v1.7.0");
      expect((await api(`/releases/assets/${draft.assets[0].id}`, { method: "DELETE" })).status).toBe(204);

      const r = await publish([dir], {}, via);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("release v1.7.0 exists (a draft");
      expect(r.stdout).toContain("verified 8 assets (0 by digest, 8 downloaded and hashed)");
      expect(storage.length).toBe(1 + 8);
      expect(storage.every((s) => !s.auth)).toBe(true); // the redirect to storage never carries the token
      const rel = await releaseByTag("v1.7.0", false);
      expect(rel.draft).toBe(false);
      expect(digests(rel)).toEqual(buildFiles(dir));
    });
    expect(tagLookups.length).toBeGreaterThan(0);
  });

  test("an asset that reads back with another digest stops before publishing (exit 5, still a draft); the next run verifies and publishes", async () => {
    const dir = fakeBuild("1.8.0");
    await withProxy(async (req, url, forward) => {
      if (req.method === "GET" && /\/releases\/\d+\/assets$/.test(url.pathname)) {
        return rewriteJson(await forward(), (list: any[]) => list.map((a) => (a.name === "auditgraph.rb" ? { ...a, digest: `sha256:${"0".repeat(64)}` } : a)));
      }
      return undefined;
    }, async (via) => {
      const r = await publish([dir], {}, via);
      expect(r.code).toBe(PUBLISH_EXIT.verify);
      expect(r.stderr.split("\n")[0]).toBe(`error: release v1.8.0: auditgraph.rb reads back as sha256 ${"0".repeat(64)} (${readBytes(join(dir, "auditgraph.rb")).length} bytes), expected ${buildFiles(dir)["auditgraph.rb"]} (${readBytes(join(dir, "auditgraph.rb")).length} bytes); the release stays a draft`);
      expect(r.requests.some((q) => q.startsWith("PATCH "))).toBe(false);
    });
    expect(await releaseByTag("v1.8.0", false)).toBeUndefined();
    expect((await releaseByTag("v1.8.0")).draft).toBe(true);
    const again = await publish([dir]);
    expect(again.code).toBe(0);
    expect(uploads(again)).toEqual([]);
    expect((await releaseByTag("v1.8.0", false)).draft).toBe(false);
  });

  test("an asset a broken upload left half-stored (state other than uploaded) is deleted and sent again", async () => {
    const dir = fakeBuild("1.9.0");
    await draftWith("1.9.0", { "install.sh": readBytes(join(dir, "install.sh")) });
    let marked = false;
    await withProxy(async (req, url, forward) => {
      if (!marked && req.method === "GET" && /\/releases\/\d+\/assets$/.test(url.pathname)) {
        marked = true;
        return rewriteJson(await forward(), (list: any[]) => list.map((a) => (a.name === "install.sh" ? { ...a, state: "starter", digest: null } : a)));
      }
      return undefined;
    }, async (via) => {
      // Deleting needs the delete action (GitHub's contents: write has it; a publish token here does not).
      const r = await publish([dir], { AUDITGRAPH_PUBLISH_TOKEN: srv.admin }, via);
      expect(r.stdout + r.stderr).not.toContain(srv.admin);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("deleted the broken upload install.sh (state starter)");
      expect(r.requests.filter((q) => q.startsWith("DELETE "))).toHaveLength(1);
      expect(uploads(r)).toHaveLength(8);
    });
    const rel = await releaseByTag("v1.9.0", false);
    expect(digests(rel)).toEqual(buildFiles(dir));
  });

  test("--notes FILE overrides the CHANGELOG; a prerelease version is published as a prerelease", async () => {
    const dir = fakeBuild("2.0.0-rc.1");
    const notes = join(work, "notes.md");
    writeFileSync(notes, "Hand-written notes.\n");
    const r = await publish([dir, "--notes", notes]);
    expect(r.code).toBe(0);
    const rel = await releaseByTag("v2.0.0-rc.1", false);
    expect(rel).toMatchObject({ body: "Hand-written notes.\n", prerelease: true, draft: false });
  });
});

describe("release:publish refuses bad input before any request", () => {
  const refused = async (args: string[], env: Record<string, string | undefined> = {}) => {
    const r = await publish(args, env);
    expect(r.requests).toEqual([]);
    expect(r.stderr).not.toContain("    at ");
    expect(r.stderr.split("\n")[0]).toStartWith("error: ");
    return r;
  };

  test("an unsigned build (unless --allow-unsigned), a dirty version, a file that does not match release.json", async () => {
    const unsigned = fakeBuild("1.6.0", { signed: false });
    const a = await refused([unsigned]);
    expect(a.code).toBe(PUBLISH_EXIT.usage);
    expect(a.stderr).toContain("unsigned build (no SHA256SUMS.minisig)");
    const dry = await publish([unsigned, "--allow-unsigned", "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("UNSIGNED");

    const dirty = fakeBuild("1.6.0+dirty");
    const b = await refused([dirty]);
    expect(b.code).toBe(PUBLISH_EXIT.usage);
    expect(b.stderr).toContain("built from a working tree with uncommitted changes");

    const tampered = fakeBuild("1.6.0");
    writeFileSync(join(tampered, "install.sh"), "#!/bin/sh\necho other\n");
    const c = await refused([tampered]);
    expect(c.code).toBe(PUBLISH_EXIT.usage);
    expect(c.stderr).toMatch(/install\.sh: (\d+ bytes, release\.json says \d+|sha256 [0-9a-f]{64} does not match release\.json)/);
  });

  test("no token, no CHANGELOG section, bad flags", async () => {
    const dir = fakeBuild("1.6.0");
    const a = await refused([dir], { AUDITGRAPH_PUBLISH_TOKEN: "", GITHUB_TOKEN: "" });
    expect(a.code).toBe(PUBLISH_EXIT.usage);
    expect(a.stderr).toContain("no token: set AUDITGRAPH_PUBLISH_TOKEN (or GITHUB_TOKEN)");

    const nosection = fakeBuild("9.9.9");
    const b = await refused([nosection]);
    expect(b.code).toBe(PUBLISH_EXIT.usage);
    expect(b.stderr).toContain("no section for 9.9.9");

    expect((await refused([dir, "--rollout", "10"])).stderr).toContain("--rollout needs --channel");
    expect((await refused([dir, "--channel", "beta", "--rollout", "250"])).code).toBe(PUBLISH_EXIT.usage);
    for (const bad of ["", "1e2", "ten", "-5"]) {
      const r = await refused([dir, "--channel", "beta", `--rollout=${bad}`]);
      expect([r.code, r.stderr.split("\n")[0]]).toEqual([PUBLISH_EXIT.usage, `error: --rollout '${bad}': a percentage from 0 to 100 (at most two decimals)`]);
    }
    // Without `=`, a value starting with '-' reads as a flag: the message says how to write it.
    const dash = await refused([dir, "--channel", "beta", "--rollout", "-5"]);
    expect([dash.code, dash.stderr.split("\n")[0]]).toEqual([PUBLISH_EXIT.usage, "error: --rollout is followed by a value starting with '-': write it as --rollout=VALUE"]);
    const empty = join(dir, "..", "empty-notes.md");
    writeFileSync(empty, "\n  \n");
    const e = await refused([dir, "--notes", empty]);
    expect([e.code, e.stderr.split("\n")[0]]).toEqual([PUBLISH_EXIT.usage, `error: --notes ${empty}: the file is empty`]);
    expect((await refused([dir, "--bogus"])).code).toBe(PUBLISH_EXIT.usage);
  });

  test("a token the server refuses is exit 4, one line, nothing written", async () => {
    const dir = fakeBuild("1.6.0");
    const r = await publish([dir], { AUDITGRAPH_PUBLISH_TOKEN: "rls_" + "x".repeat(49) });
    expect(r.code).toBe(PUBLISH_EXIT.api);
    expect(r.stderr.split("\n")[0]).toMatch(/^error: GET \/api\/v3\/repos\/auditgraph\/auditgraph\/releases\S*: 401 /);
    expect(r.stderr).toContain("hint: check AUDITGRAPH_PUBLISH_TOKEN (or GITHUB_TOKEN)");
    expect(writes(r)).toEqual([]);
  });
});

describe("signing after the build (scripts/release/sign.ts, the release workflow's signing step)", () => {
  const SIGN = join(import.meta.dir, "../../scripts/release/sign.ts");
  const sign = (dir: string, env: Record<string, string>, pub: string) =>
    run(["bun", SIGN, dir, "--public-key", pub], { env: { ...process.env, AUDITGRAPH_MINISIGN_PASSWORD: "", ...env } });

  test("an unsigned build gets the .minisig the build itself would write, minisign -V accepts it, publish takes it", async () => {
    const keys = join(work, "keys");
    mkdirSync(keys, { recursive: true });
    const { pub, secret } = makeKey(keys);
    const dir = fakeBuild("1.6.0", { signed: false });
    const before = JSON.parse(readFileSync(join(dir, "release.json"), "utf8"));

    const r = sign(dir, { AUDITGRAPH_MINISIGN_SECRET_KEY: secret }, pub);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const sums = readBytes(join(dir, "SHA256SUMS"));
    const sig = readFileSync(join(dir, "SHA256SUMS.minisig"), "utf8");
    expect(sig).toBe(signMinisign(parseSecretKey(secret), sums, trustedComment(1_700_000_000))); // what build.ts writes with the key set
    const v = run(["minisign", "-Vm", join(dir, "SHA256SUMS"), "-p", pub]);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain("timestamp:1700000000\tfile:SHA256SUMS\thashed");
    const after = JSON.parse(readFileSync(join(dir, "release.json"), "utf8"));
    expect(after.assets.map((a: any) => a.name)).toEqual([...before.assets.map((a: any) => a.name), "SHA256SUMS.minisig"].sort());
    expect(after.assets.find((a: any) => a.name === "SHA256SUMS.minisig")).toEqual({ name: "SHA256SUMS.minisig", sha256: buildFiles(dir)["SHA256SUMS.minisig"], target: null, os: null, arch: null, libc: null, size: sig.length });

    // Again: nothing changes. With another key than the public key file's: refused, nothing changes.
    const again = sign(dir, { AUDITGRAPH_MINISIGN_SECRET_KEY: secret }, pub);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("nothing changed");
    mkdirSync(join(work, "keys2"), { recursive: true });
    const other = makeKey(join(work, "keys2"));
    const files = buildFiles(dir);
    const wrong = sign(dir, { AUDITGRAPH_MINISIGN_SECRET_KEY: other.secret }, pub);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/^error: the secret key is key [0-9A-F]{16}, .* is key [0-9A-F]{16}: users of that public key could not verify this release\n$/);
    expect(buildFiles(dir)).toEqual(files);
    expect(sign(dir, {}, pub).stderr).toBe("error: AUDITGRAPH_MINISIGN_SECRET_KEY is not set\n");

    const dry = await publish([dir, "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).not.toContain("UNSIGNED");
  });
});

describe("CHANGELOG.md", () => {
  test("sections by version; the repository's CHANGELOG has one for package.json's version", async () => {
    const text = "# Changelog\n\n## Unreleased\n\n- next\n\n## [1.2.0] - 2026-11-28\n\n### Added\n\n- a\n\n## v1.1.0\n\n- b\n";
    expect(changelogVersions(text)).toEqual(["Unreleased", "1.2.0", "1.1.0"]);
    expect(changelogSection(text, "1.2.0")).toBe("### Added\n\n- a\n");
    expect(changelogSection(text, "1.1.0")).toBe("- b\n");
    expect(changelogSection(text, "1.0.0")).toBeUndefined();
    const real = await Bun.file(join(REPO_ROOT, "CHANGELOG.md")).text();
    const { version } = await Bun.file(join(REPO_ROOT, "package.json")).json();
    expect(changelogSection(real, version)).toBeDefined();
    expect(changelogVersions(real)[0]).toBe("Unreleased");
  });
});

// HTTP behaviour of a spawned server: downloads (ETag/304, Range/206, HEAD, headers), the seed's
// endpoints at the root and per app, the package browser, staged rollout on `latest`, probes, the
// access log, graceful shutdown, and memory during a 100 MB streaming upload.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { sha256Hex } from "../../../src/shared/hash.ts";
import { MAIN, OP, auth, logLine, peakRss, publish, seed, startServer, storedFiles, tempData, until, type Running } from "./server.ts";

let srv: Running;
const payload = new Uint8Array(100_000).map((_, i) => (i * 31 + 7) % 256);
const hex = sha256Hex(payload);

beforeAll(async () => {
  const t = tempData();
  await seed(t.data, async (s) => {
    const app = await s.createApp({ owner: "acme", slug: "tool", display_name: "Acme Tool" }, OP);
    await s.createApp({ owner: "acme", slug: "empty" }, OP);
    await publish(s, app, { version: "1.0.0", channel: "stable" }, { "tool.bin": "one" });
    await publish(s, app, { version: "2.0.0", channel: "stable" }, { "tool.bin": payload });
    await s.promote(app, "stable", (await s.getReleaseByTag(app, "v1.0.0")).id, {}, OP);
    await s.promote(app, "stable", (await s.getReleaseByTag(app, "v2.0.0")).id, { rolloutPercent: 30 }, OP);
  });
  srv = await startServer({ ...t, args: ["--default-app", "acme/tool", "--public-url", "https://releases.example.test/"] });
});
afterAll(() => srv[Symbol.asyncDispose]());

const get = (path: string, headers: Record<string, string> = {}) => fetch(srv.url + path, { headers });
const dl = "/acme/tool/releases/download/v2.0.0/tool.bin";
/** The container health probe (`serve --check`) against this server's port: its exit status. */
const probe = () => Bun.spawnSync(["bun", MAIN, "serve", "--check", "--port", new URL(srv.url).port]).exitCode;

describe("downloads", () => {
  test("200 with strong sha256 ETag, attachment disposition, nosniff, digest headers; download counted", async () => {
    const r = await get(dl);
    expect(r.status).toBe(200);
    expect(new Uint8Array(await r.arrayBuffer())).toEqual(payload);
    expect(r.headers.get("etag")).toBe(`"sha256:${hex}"`);
    expect(r.headers.get("content-disposition")).toBe(`attachment; filename="tool.bin"; filename*=UTF-8''tool.bin`);
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("content-type")).toBe("application/octet-stream");
    expect(r.headers.get("content-length")).toBe(String(payload.length));
    expect(r.headers.get("repr-digest")).toBe(`sha-256=:${Buffer.from(hex, "hex").toString("base64")}:`);
    const asset = ((await (await get("/api/v3/repos/acme/tool/releases/tags/v2.0.0")).json()) as any).assets[0];
    expect(asset.download_count).toBe(1);
  });

  test("If-None-Match → 304 without body; a different tag → 200", async () => {
    const r = await get(dl, { "if-none-match": `"x", "sha256:${hex}"` });
    expect(r.status).toBe(304);
    expect(await r.text()).toBe("");
    expect(r.headers.get("etag")).toBe(`"sha256:${hex}"`);
    expect((await get(dl, { "if-none-match": '"sha256:other"' })).status).toBe(200);
  });

  test("Range → 206 with Content-Range; suffix and open ranges; past the end → 416; If-Range mismatch → 200", async () => {
    const r = await get(dl, { range: "bytes=10-19" });
    expect(r.status).toBe(206);
    expect(r.headers.get("content-range")).toBe(`bytes 10-19/${payload.length}`);
    expect(new Uint8Array(await r.arrayBuffer())).toEqual(payload.slice(10, 20));
    const suffix = await get(dl, { range: "bytes=-5" });
    expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(payload.slice(-5));
    const open = await get(dl, { range: "bytes=99990-" });
    expect(open.headers.get("content-range")).toBe(`bytes 99990-99999/${payload.length}`);
    const past = await get(dl, { range: "bytes=200000-" });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe(`bytes */${payload.length}`);
    expect((await get(dl, { range: "bytes=0-1", "if-range": '"sha256:stale"' })).status).toBe(200);
    expect((await get(dl, { range: "bytes=0-1", "if-range": `"sha256:${hex}"` })).status).toBe(206);
  });

  test("HEAD gives the headers and length without a body", async () => {
    const r = await fetch(srv.url + dl, { method: "HEAD" });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-length")).toBe(String(payload.length));
    expect(r.headers.get("etag")).toBe(`"sha256:${hex}"`);
    expect(await r.text()).toBe("");
  });
});

describe("seed endpoints and the package browser", () => {
  test("POST /upload creates the release with its file; GET /assets/{name} serves the newest; DELETE removes it", async () => {
    const up = await fetch(`${srv.url}/upload?name=spec-kit-template.zip&version=3.0.0&label=Template`, { method: "POST", body: "v3 zip", headers: auth(srv.admin) });
    expect(up.status).toBe(201);
    const body: any = await up.json();
    expect(body.release.tag_name).toBe("v3.0.0");
    expect(body.asset).toMatchObject({ name: "spec-kit-template.zip", label: "Template", size: 6 });
    expect(body.asset.browser_download_url).toBe("https://releases.example.test/acme/tool/releases/download/v3.0.0/spec-kit-template.zip");
    const up2 = await fetch(`${srv.url}/apps/acme/tool/upload?name=spec-kit-template.zip&version=3.1.0`, { method: "POST", body: "v3.1 zip", headers: auth(srv.admin) });
    expect(up2.status).toBe(201);
    expect(await (await get("/assets/spec-kit-template.zip")).text()).toBe("v3.1 zip");
    expect(await (await get("/apps/acme/tool/assets/spec-kit-template.zip?version=3.0.0")).text()).toBe("v3 zip");
    expect((await fetch(`${srv.url}/assets/spec-kit-template.zip`, { method: "DELETE", headers: auth(srv.admin) })).status).toBe(204);
    expect(await (await get("/assets/spec-kit-template.zip")).text()).toBe("v3 zip");
    expect((await get("/assets/never-uploaded.zip")).status).toBe(404);
  });

  test("JSON reads carry a weak ETag; If-None-Match answers 304", async () => {
    const first = await get("/api/v3/repos/acme/tool/releases?per_page=2");
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^W\/"[0-9a-f]{32}"$/);
    const again = await get("/api/v3/repos/acme/tool/releases?per_page=2", { "if-none-match": etag });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    expect((await get("/api/v3/repos/acme/tool/releases?per_page=1", { "if-none-match": etag })).status).toBe(200);
  });

  test("GET /latest and /api/v3/.../latest without a channel: newest published release", async () => {
    expect(((await (await get("/latest")).json()) as any).tag_name).toBe("v3.1.0");
    expect(((await (await get("/api/v3/repos/acme/tool/releases/latest")).json()) as any).tag_name).toBe("v3.1.0");
    const none = await get("/apps/acme/empty/latest");
    expect(none.status).toBe(404);
  });

  test("POST /upload of a prerelease version (1.0.0-rc.1) marks it prerelease, so /latest skips it; prerelease=false overrides", async () => {
    const up = (q: string) => fetch(`${srv.url}/apps/acme/empty/upload?name=x.zip&${q}`, { method: "POST", body: q, headers: auth(srv.admin) });
    const rc1 = await up("version=1.0.0-rc.1");
    expect(rc1.status).toBe(201);
    expect(((await rc1.json()) as any).release).toMatchObject({ tag_name: "v1.0.0-rc.1", prerelease: true });
    expect((await get("/apps/acme/empty/latest")).status).toBe(404);
    const bad = await up("version=1.0.0-rc.2&prerelease=yes");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).message).toContain("prerelease query parameter must be true or false");
    const rc2 = await up("version=1.0.0-rc.2&prerelease=false");
    expect(((await rc2.json()) as any).release).toMatchObject({ tag_name: "v1.0.0-rc.2", prerelease: false });
    expect(((await (await get("/apps/acme/empty/latest")).json()) as any).tag_name).toBe("v1.0.0-rc.2");
    const final = await up("version=1.0.0&prerelease=true");
    expect(((await final.json()) as any).release).toMatchObject({ tag_name: "v1.0.0", prerelease: true });
    expect(((await (await get("/apps/acme/empty/latest")).json()) as any).tag_name).toBe("v1.0.0-rc.2");
  });

  test("/packages is HTML by default and JSON on request; apps index", async () => {
    const page = await get("/packages");
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const html = await page.text();
    expect(html).toContain("acme/tool");
    expect(html).toContain(`https://releases.example.test/acme/tool/releases/download/v2.0.0/tool.bin`);
    const viaQuery: any = await (await get("/packages?format=json")).json();
    const viaAccept: any = await (await get("/apps/acme/tool/packages", { accept: "application/json" })).json();
    expect(viaQuery).toEqual(viaAccept);
    expect(viaQuery).toMatchObject({ owner: "acme", app: "tool", total: 4 });
    expect(viaQuery.releases.map((r: any) => r.tag_name)).toEqual(["v3.1.0", "v3.0.0", "v2.0.0", "v1.0.0"]);
    const paged = await get("/packages?format=json&per_page=1&page=2");
    expect(((await paged.json()) as any).releases.map((r: any) => r.tag_name)).toEqual(["v3.0.0"]);
    expect(paged.headers.get("link")).toContain('rel="next"');
    const appsJson = (await (await get("/apps?format=json")).json()) as any[];
    expect(appsJson.map((a) => [a.owner, a.slug, a.name, a.private])).toEqual([["acme", "empty", "empty", false], ["acme", "tool", "Acme Tool", false]]);
    // What the page shows: the app's page, how many releases, the latest one and the channels.
    expect(appsJson[0]).toMatchObject({ channels: [], html_url: "https://releases.example.test/acme/empty/releases" });
    expect(appsJson[1]).toMatchObject({ release_count: 4, latest: { tag_name: "v3.1.0", html_url: "https://releases.example.test/acme/tool/releases/tag/v3.1.0" } });
    expect(typeof appsJson[1].latest.published_at).toBe("string");
    expect((await get("/acme/tool/releases/tag/v2.0.0")).status).toBe(200);
    expect((await get("/acme/tool/releases/tag/v9.9.9")).status).toBe(404);
  });

  // After the package browser's counts: it adds a release (an older version, so /latest stays).
  test("POST /upload of one new version from several clients at once: every file is added to the one release", async () => {
    const names = ["linux.bin", "mac.bin", "win.bin", "arm.bin"];
    const answers = await Promise.all(names.map((n) => fetch(`${srv.url}/upload?name=${n}&version=0.9.0`, { method: "POST", body: `build for ${n}`, headers: auth(srv.admin) })));
    const bodies: any[] = await Promise.all(answers.map((r) => r.json()));
    expect(answers.map((r) => r.status)).toEqual(names.map(() => 201));
    expect(new Set(bodies.map((b) => b.release.id)).size).toBe(1);
    const rel: any = await (await get("/api/v3/repos/acme/tool/releases/tags/v0.9.0")).json();
    expect(rel.assets.map((a: any) => a.name).sort()).toEqual([...names].sort());
    for (const n of names) expect(await (await get(`/assets/${n}?version=0.9.0`)).text()).toBe(`build for ${n}`);
  });
});

describe("staged rollout on latest", () => {
  test("deterministic per install id; clients outside get the previous release, never a 404", async () => {
    const seen = new Map<string, string>();
    for (let i = 0; i < 200; i++) {
      const r = await get("/api/v3/repos/acme/tool/releases/latest?channel=stable", { "x-install-id": `install-${i}` });
      expect(r.status).toBe(200);
      expect(r.headers.get("cache-control")).toContain("private");
      seen.set(`install-${i}`, ((await r.json()) as any).tag_name);
    }
    const current = [...seen.values()].filter((t) => t === "v2.0.0").length;
    expect(new Set(seen.values())).toEqual(new Set(["v1.0.0", "v2.0.0"]));
    expect(current).toBeGreaterThan(30); // 30% of 200 = 60 expected
    expect(current).toBeLessThan(90);
    for (const [id, tag] of [...seen].slice(0, 20)) {
      const again: any = await (await get("/latest?channel=stable", { "x-user-staging-id": id })).json();
      expect(again.tag_name).toBe(tag);
    }
    const anonymous: any = await (await get("/latest?channel=stable")).json();
    expect(anonymous.tag_name).toBe("v1.0.0");
    const file = await get("/acme/tool/releases/latest/download/tool.bin?channel=stable", { "x-install-id": [...seen].find(([, t]) => t === "v2.0.0")![0] });
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(payload);
  });
});

describe("operations", () => {
  test("probes, 405 with Allow, JSON errors, OpenAPI document", async () => {
    expect(await (await get("/healthz")).json()).toEqual({ status: "ok" });
    expect(await (await get("/readyz")).json()).toEqual({ status: "ready" });
    const bad = await fetch(srv.url + "/healthz", { method: "POST" });
    expect(bad.status).toBe(405);
    expect(bad.headers.get("allow")).toBe("GET, HEAD");
    expect(((await (await get("/openapi.json")).json()) as any).openapi).toBe("3.1.0");
    expect(probe()).toBe(0);
  });

  test("one JSON log line per request with method, path, status, bytes, duration, actor", async () => {
    const r1 = await get("/healthz?secret=hunter2", { "x-request-id": "log-test-1" });
    expect(r1.headers.get("x-request-id")).toBe("log-test-1");
    await get(dl, { range: "bytes=0-9", "x-request-id": "log-test-2" });
    expect(await logLine(srv, "log-test-1")).toMatchObject({ msg: "request", method: "GET", path: "/healthz", status: 200, bytes: 15, actor: null, duration_ms: expect.any(Number) });
    expect(await logLine(srv, "log-test-2")).toMatchObject({ path: dl, status: 206, bytes: 10 });
    expect(srv.logs.filter((l) => l.includes('"log-test-1"'))).toHaveLength(1);
    expect(srv.logs.join("\n")).not.toContain("hunter2");
  });

  test("a 100 MB streaming upload grows the server's peak RSS by less than 64 MB", async () => {
    const base = peakRss(srv.proc.pid);
    const chunk = new Uint8Array(1024 * 1024).fill(7);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (sent++ < 100) ctl.enqueue(chunk);
        else ctl.close();
      },
    });
    const r = await fetch(`${srv.url}/upload?name=big.bin&version=4.0.0`, { method: "POST", body, headers: auth(srv.admin) });
    expect(r.status).toBe(201);
    expect(((await r.json()) as any).asset.size).toBe(100 * 1024 * 1024);
    const grew = peakRss(srv.proc.pid) - base;
    console.log(`peak RSS growth during a 100 MB upload: ${(grew / 1048576).toFixed(1)} MiB`);
    expect(grew).toBeLessThan(64 * 1024 * 1024);
  });

  test("SIGTERM lets an in-flight upload finish, then exits 0", async () => {
    let send!: (b: Uint8Array | null) => void;
    const body = new ReadableStream<Uint8Array>({
      start(ctl) {
        send = (b) => (b ? ctl.enqueue(b) : ctl.close());
      },
    });
    const pending = fetch(`${srv.url}/upload?name=late.bin&version=5.0.0`, { method: "POST", body, headers: auth(srv.admin) });
    send(new Uint8Array(1000).fill(1));
    await until("the upload to be staged", () => storedFiles(srv.data).staging === 1);
    srv.proc.kill("SIGTERM");
    await until("the server to start draining", () => srv.logs.some((l) => l.includes('"msg":"draining"')));
    send(new Uint8Array(1000).fill(2));
    send(null);
    const r = await pending;
    expect(r.status).toBe(201);
    expect(((await r.json()) as any).asset.size).toBe(2000);
    expect(await srv.proc.exited).toBe(0);
    await until("the last log line", () => srv.logs.at(-1)?.includes('"msg":"stopped"'));
    expect(probe()).toBe(1);
  });
});

describe("a public URL with a path (behind a proxy at /rs)", () => {
  test("Link headers keep the path, as every other URL does, so a paginating client follows them", async () => {
    const t = tempData();
    await seed(t.data, async (s) => {
      const app = await s.createApp({ owner: "acme", slug: "tool" }, OP);
      for (const v of ["1.0.0", "2.0.0", "3.0.0"]) await publish(s, app, { version: v }, { "tool.bin": v });
    });
    await using sub = await startServer({ ...t, args: ["--public-url", "https://proxy.example.test/rs"] });
    const res = await fetch(`${sub.url}/api/v3/repos/acme/tool/releases?per_page=1`);
    expect(res.status).toBe(200);
    const link = res.headers.get("link")!;
    expect(link).toContain('<https://proxy.example.test/rs/api/v3/repos/acme/tool/releases?per_page=1&page=2>; rel="next"');
    expect(link).not.toContain("https://proxy.example.test/api/");
    const body: any = await res.json();
    expect(body[0].url).toStartWith("https://proxy.example.test/rs/api/v3/");
  });
});

describe("as PID 1", () => {
  test("in its own PID namespace (as in a container) SIGTERM still drains and exits 0", async () => {
    if (!Bun.which("unshare")) throw new Error("unshare (util-linux) is required for this test");
    await using pid1 = await startServer({ ...tempData(), wrap: ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"] });
    expect(JSON.parse(pid1.logs[0]!).pid).toBe(1);
    expect((await fetch(`${pid1.url}/healthz`)).status).toBe(200);
    // Readiness follows the blob store: without its directory the server is alive but not ready.
    rmSync(join(pid1.data, "blobs"), { recursive: true });
    const notReady = await fetch(`${pid1.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as any).message).toBe("not ready: blob store: a data directory is not writable");
    expect((await fetch(`${pid1.url}/healthz`)).status).toBe(200);
    // PID 1 only receives signals it has a handler for: this is the server's own SIGTERM handler at work.
    const child = Number(readFileSync(`/proc/${pid1.proc.pid}/task/${pid1.proc.pid}/children`, "utf8").trim().split(" ")[0]);
    process.kill(child, "SIGTERM");
    expect(await Promise.race([pid1.proc.exited, Bun.sleep(10_000).then(() => "still running after 10 s")])).toBe(0);
    await until("the last log line", () => pid1.logs.at(-1)?.includes('"msg":"stopped"'));
  });
});

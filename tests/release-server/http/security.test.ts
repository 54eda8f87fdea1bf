// Security behaviour over real HTTP: tokens (missing, malformed, unknown, expired, revoked, wrong
// scope, in the query string), hostile names and paths, HTML injection, upload limits, digest
// mismatch, interrupted uploads, and retention against a channel's current release.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateToken } from "../../../src/release-server/domain/tokens.ts";
import { sha256Hex } from "../../../src/shared/hash.ts";
import { MAIN, OP, auth, logLine, openChunkedRequest, publish, seed, startServer, storedFiles, tempData, until, type Running } from "./server.ts";

let srv: Running;
const tok: Record<string, string> = {};
const MAX = 1024 * 1024;

beforeAll(async () => {
  const t = tempData();
  await seed(t.data, async (s) => {
    const tool = await s.createApp({ owner: "acme", slug: "tool" }, OP);
    await s.createApp({ owner: "acme", slug: "secret", visibility: "private" }, OP);
    await s.createApp({ owner: "other", slug: "app" }, OP);
    await publish(s, tool, { version: "1.0.0", name: "<img src=x onerror=alert(1)>", notes: "<script>alert('notes')</script> & more" }, { "<b onclick=x>bold.zip": "x" });
    for (const v of ["2.0.0", "3.0.0", "4.0.0", "5.0.0"]) await publish(s, tool, { version: v, channel: "stable" }, { [`tool-${v}.tgz`]: `tool ${v}` });
    await s.promote(tool, "stable", (await s.getReleaseByTag(tool, "v3.0.0")).id, {}, OP);
    const mk = async (name: string, input: object) => (await s.createToken({ name, ...input } as never, OP)).raw;
    tok.publisher = await mk("publisher", { actions: ["publish"], apps: ["acme/tool"] });
    tok.reader = await mk("reader", { actions: ["read"] });
    tok.deleter = await mk("deleter", { actions: ["delete"], apps: ["acme/tool"] });
    tok.beta = await mk("beta-only", { actions: ["publish"], channels: ["beta"] });
    const revoked = await s.createToken({ name: "revoked", actions: ["publish"] }, OP);
    await s.revokeToken(revoked.token.id, OP);
    tok.revoked = revoked.raw;
  });
  // A token issued three days ago for one day.
  tok.expired = await seed(t.data, async (s) => (await s.createToken({ name: "expired", actions: ["publish"], expires_in_days: 1 }, OP)).raw, undefined, () => new Date(Date.now() - 3 * 86_400_000));
  const config = join(t.dir, "server.yaml");
  writeFileSync(config, `uploads:\n  max_bytes: ${MAX}\nretention:\n  channels:\n    stable: { keep_last: 1 }\n`);
  srv = await startServer({ ...t, args: ["--config", config, "--default-app", "acme/tool"] });
});
afterAll(() => srv[Symbol.asyncDispose]());

const upload = (path: string, body: RequestInit["body"], headers: Record<string, string> = {}) =>
  fetch(`${srv.url}${path}`, { method: "POST", body, headers: { "content-type": "application/octet-stream", ...headers } });

async function expectError(res: Response | Promise<Response>, status: number, message?: RegExp) {
  const r = await res;
  expect(r.status).toBe(status);
  expect(r.headers.get("content-type")).toContain("application/json");
  const body: any = await r.json();
  expect(typeof body.message).toBe("string");
  expect(JSON.stringify(body)).not.toContain("    at "); // no stack trace
  if (message) expect(body.message).toMatch(message);
  return body;
}

describe("tokens", () => {
  const path = "/upload?name=t.bin&version=9.0.0";

  test("missing, malformed, unknown, expired and revoked tokens are 401 with a reason", async () => {
    const r = await upload(path, "x");
    expect(r.headers.get("www-authenticate")).toContain("Bearer");
    await expectError(r, 401, /Requires authentication/);
    await expectError(upload(path, "x", { authorization: "Basic abc" }), 401, /Bearer <token>/);
    await expectError(upload(path, "x", auth("rls_short")), 401, /malformed token/);
    await expectError(upload(path, "x", auth(generateToken())), 401, /unknown token/);
    await expectError(upload(path, "x", auth(tok.expired!)), 401, /expired/);
    await expectError(upload(path, "x", auth(tok.revoked!)), 401, /revoked/);
    expect((await fetch(`${srv.url}/api/v3/repos/acme/tool/releases`, { headers: auth("rls_bad") })).status).toBe(401);
    // Public routes too (what updaters call): a token that was sent is checked wherever it is sent.
    const latest: any = await (await fetch(`${srv.url}/api/v3/repos/acme/tool/releases/latest`)).json();
    for (const p of ["/api/v3/repos/acme/tool/releases/latest", `/acme/tool/releases/latest/download/${latest.assets[0].name}`, "/latest", "/api/v3/repos/acme/tool/channels", "/apps?format=json"]) {
      expect((await fetch(`${srv.url}${p}`)).status, p).toBe(200);
      for (const bad of [tok.revoked!, tok.expired!, "rls_bad"]) expect((await fetch(`${srv.url}${p}`, { headers: auth(bad) })).status, `${p} ${bad.slice(0, 8)}`).toBe(401);
    }
  });

  test("wrong scope is 403: read-only, other app, other channel, missing delete", async () => {
    await expectError(upload(path, "x", auth(tok.reader!)), 403, /lacks the 'publish' action/);
    await expectError(upload("/apps/other/app/upload?name=t.bin&version=1.0.0", "x", auth(tok.publisher!)), 403, /not valid for this app/);
    await expectError(upload(`${path}&channel=stable`, "x", auth(tok.beta!)), 403, /channel 'stable'/);
    await expectError(fetch(`${srv.url}/assets/tool-2.0.0.tgz`, { method: "DELETE", headers: auth(tok.publisher!) }), 403, /'delete'/);
    expect((await fetch(`${srv.url}/assets/tool-2.0.0.tgz`)).status).toBe(200);
  });

  test("a token is never accepted in the query string, and never logged", async () => {
    await expectError(fetch(`${srv.url}/api/v3/repos/acme/tool/releases?access_token=${tok.publisher}`), 400, /query string/);
    await expectError(upload(`${path}&token=${tok.publisher}`, "x"), 400, /query string/);
    await expectError(fetch(`${srv.url}/latest?access_token=${tok.reader}`, { headers: { "x-request-id": "query-token" } }), 400, /query string/);
    // Whatever the case of the name: `?TOKEN=` on an authenticated request was answered (and copied
    // into the Link headers of a paged list), `?Access_Token=` silently ignored.
    const releases = `${srv.url}/api/v3/repos/acme/tool/releases?per_page=1`;
    for (const name of ["TOKEN", "Access_Token", "API_KEY", "Private_Token", "tOkEn"]) {
      await expectError(fetch(`${releases}&${name}=${tok.reader}`, { headers: auth(tok.reader!) }), 400, new RegExp(`query string \\(${name}\\)`));
      await expectError(fetch(`${releases}&${name}=${tok.reader}`), 400, /query string/);
    }
    await expectError(upload(`${path}&Token=${tok.publisher}`, "x", auth(tok.publisher!)), 400, /query string/);
    // Other parameters that merely contain such a name are no credential.
    expect((await fetch(`${releases}&tokens=1&my_token=2`)).status).toBe(200);
    await logLine(srv, "query-token");
    const logs = srv.logs.join("\n");
    for (const t of Object.values(tok)) expect(logs).not.toContain(t);
    expect(logs).not.toContain(srv.admin);
  });

  test("both `token X` and `Bearer X` authenticate; the actor is logged", async () => {
    const a = await upload("/upload?name=a.bin&version=10.0.0", "a", auth(tok.publisher!, "token"));
    expect(a.status).toBe(201);
    const b = await upload("/upload?name=b.bin&version=10.0.0", "b", { ...auth(tok.publisher!, "Bearer"), "x-request-id": "bearer-upload" });
    expect(b.status).toBe(201);
    expect(((await b.json()) as any).release.assets.map((x: { name: string }) => x.name).sort()).toEqual(["a.bin", "b.bin"]);
    expect(await logLine(srv, "bearer-upload")).toMatchObject({ method: "POST", actor: expect.stringMatching(/^token:\d+:publisher$/), bytes: expect.any(Number), duration_ms: expect.any(Number) });
  });

  test("a private app is invisible without a read token", async () => {
    expect((await fetch(`${srv.url}/api/v3/repos/acme/secret/releases`)).status).toBe(404);
    expect((await fetch(`${srv.url}/api/v3/repos/acme/secret/releases`, { headers: auth(tok.reader!) })).status).toBe(200);
    expect(await (await fetch(`${srv.url}/apps?format=json`)).json()).not.toContainEqual(expect.objectContaining({ slug: "secret" }));
  });

  test("a hidden draft, or another app's release or asset, gets the 404 of one that does not exist", async () => {
    const admin = { ...auth(srv.admin), "content-type": "application/json" };
    const post = async (path: string, body: object) => (await fetch(srv.url + path, { method: "POST", headers: admin, body: JSON.stringify(body) })).json() as Promise<{ id: number; upload_url: string }>;
    await post("/api/v3/repos/acme/tool/releases", { tag_name: "v8.8.8-hidden", draft: true });
    const secret = await post("/api/v3/repos/acme/secret/releases", { tag_name: "v7.7.7", prerelease: true }); // not the latest
    const asset = (await (await fetch(`${srv.url}/api/uploads/repos/acme/secret/releases/${secret.id}/assets?name=hidden.bin`, { method: "POST", headers: auth(srv.admin), body: "h" })).json()) as { id: number };
    const body = async (path: string) => { const r = await fetch(srv.url + path); return [r.status, ((await r.json()) as { message: string }).message]; };
    expect(await body("/api/v3/repos/acme/tool/releases/tags/v8.8.8-hidden")).toEqual([404, "no release tagged v8.8.8-hidden in acme/tool"]);
    expect(await body("/api/v3/repos/acme/tool/releases/tags/v8.8.9-absent")).toEqual([404, "no release tagged v8.8.9-absent in acme/tool"]);
    expect(await body(`/api/v3/repos/acme/tool/releases/${secret.id}`)).toEqual([404, `no release with id ${secret.id}`]);
    expect(await body("/api/v3/repos/acme/tool/releases/999999")).toEqual([404, "no release with id 999999"]);
    expect(await body(`/api/v3/repos/acme/tool/releases/assets/${asset.id}`)).toEqual([404, `no artifact with id ${asset.id}`]);
    expect(await body("/api/v3/repos/acme/tool/releases/assets/999999")).toEqual([404, "no artifact with id 999999"]);
    expect(await body("/acme/tool/releases/download/v8.8.8-hidden/x.bin")).toEqual([404, "no release tagged v8.8.8-hidden in acme/tool"]);
  });

  test("a download that needed the token (private app, draft) is Cache-Control: private and varies by Authorization", async () => {
    const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
      const r = await fetch(`${srv.url}${path}`, { method: "POST", body, headers: { ...auth(srv.admin), ...headers } });
      expect(r.status, path).toBe(201);
      return (await r.json()) as any;
    };
    const secret = (await post("/apps/acme/secret/upload?name=s.bin&version=1.0.0", "secret bytes")).release;
    const draft = await post("/api/v3/repos/acme/tool/releases", JSON.stringify({ tag_name: "v18.0.0-draft", draft: true }), { "content-type": "application/json" });
    const asset = await post(`/api/uploads/repos/acme/tool/releases/${draft.id}/assets?name=d.bin`, "draft bytes");
    const reader = auth(tok.reader!);
    const cases: Array<[string, Record<string, string>]> = [
      [`/acme/secret/releases/download/${secret.tag_name}/s.bin`, reader],
      [`/api/v3/repos/acme/secret/releases/assets/${secret.assets[0].id}`, { ...reader, accept: "application/octet-stream" }],
      ["/apps/acme/secret/assets/s.bin", reader],
      ["/acme/secret/releases/latest/download/s.bin", reader],
      ["/acme/tool/releases/download/v18.0.0-draft/d.bin", auth(srv.admin)],
      [`/api/v3/repos/acme/tool/releases/assets/${asset.id}`, { ...auth(srv.admin), accept: "application/octet-stream" }],
      ["/assets/d.bin?version=v18.0.0-draft", auth(srv.admin)],
    ];
    for (const [path, headers] of cases) {
      const r = await fetch(`${srv.url}${path}`, { headers });
      expect(r.status, path).toBe(200);
      expect(r.headers.get("cache-control"), path).toStartWith("private");
      expect(r.headers.get("vary"), path).toContain("Authorization");
      // A revalidation answer says the same.
      const again = await fetch(`${srv.url}${path}`, { headers: { ...headers, "if-none-match": r.headers.get("etag")! } });
      expect(again.status, path).toBe(304);
      expect(again.headers.get("cache-control"), path).toStartWith("private");
    }
    // A public app's published release may be cached by anyone.
    const pub = await fetch(`${srv.url}/acme/tool/releases/download/v2.0.0/tool-2.0.0.tgz`);
    expect(pub.headers.get("cache-control")).toBe("public, max-age=300");
    expect(pub.headers.get("vary")).toContain("Authorization");
    // The channel-dependent latest keeps both its own Vary and Authorization.
    const latest = await fetch(`${srv.url}/acme/tool/releases/latest/download/tool-3.0.0.tgz?channel=stable`);
    expect(latest.status).toBe(200);
    expect(latest.headers.get("cache-control")).toBe("private, max-age=60");
    expect(latest.headers.get("vary")).toBe("Authorization, X-Release-Channel, X-Install-Id, X-User-Staging-Id");
    // Without a channel the answer is shared-cacheable, but varies by the header that would name one:
    // a cache must not hand it to a client sending X-Release-Channel.
    const plainLatest: any = await (await fetch(`${srv.url}/api/v3/repos/acme/tool/releases/latest`)).json();
    for (const path of [`/acme/tool/releases/latest/download/${plainLatest.assets[0].name}`, "/api/v3/repos/acme/tool/releases/latest"]) {
      const plain = await fetch(`${srv.url}${path}`);
      expect({ path, status: plain.status }).toEqual({ path, status: 200 });
      expect(plain.headers.get("vary"), path).toContain("Authorization");
      expect(plain.headers.get("vary"), path).toContain("X-Release-Channel");
      expect(plain.headers.get("vary"), path).toContain("X-Install-Id");
    }
  });
});

describe("hostile names and paths", () => {
  test("asset names with path separators, '..' or control characters are refused before any byte is stored", async () => {
    const before = storedFiles(srv.data);
    for (const name of ["../evil", "a/b", "a\\b", "..", "x\u0000y", "line\nbreak", " lead", "tool\u202Eexe.zip", "a\u2066b", "c1\u0085x"]) {
      await expectError(upload(`/upload?name=${encodeURIComponent(name)}&version=11.0.0`, "evil", auth(srv.admin)), 422, /invalid asset name/);
    }
    await expectError(upload("/upload?name=.&version=11.0.0", "evil", auth(srv.admin)), 422, /must not be '\.'/);
    expect(storedFiles(srv.data)).toEqual(before);
  });

  test("bidirectional controls in tags, release names, labels; zero-width characters in tags and asset names: 422 naming the field", async () => {
    const admin = { ...auth(srv.admin), "content-type": "application/json" };
    const api = `${srv.url}/api/v3/repos/acme/tool`;
    const send = (method: string, path: string, body: object) => fetch(api + path, { method, headers: admin, body: JSON.stringify(body) });
    const refused = async (res: Response | Promise<Response>, field: string, resource: string, why: RegExp) => {
      const body = await expectError(res, 422, why);
      expect(body.message).toStartWith(`Validation Failed: ${field}: `);
      expect(body.errors).toEqual([{ resource, field, code: "invalid" }]);
    };
    const bidi = /must not contain bidirectional control characters/;
    const reordering = /must not contain bidirectional embedding, override or isolate characters/;
    const zeroWidth = /must not contain zero-width characters/;
    for (const c of ["\u202e", "\u202a", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c"]) {
      await refused(send("POST", "/releases", { tag_name: `v7${c}gpj.exe` }), "tag_name", "Release", bidi);
      if (c >= "\u202a") await refused(send("POST", "/releases", { tag_name: "v7.0.1", name: `Release ${c}1` }), "name", "Release", reordering);
    }
    // A name may hold the marks (LRM, RLM, ALM): Hebrew and Arabic writers type them around numbers.
    expect((await send("POST", "/releases", { tag_name: "v7.0.9", name: "גרסה 7.0\u200f (בטא)" })).status).toBe(201);
    for (const c of ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]) await refused(send("POST", "/releases", { tag_name: `v7${c}.0.0` }), "tag_name", "Release", zeroWidth);
    // The seed's upload names the release by version: the same refusal, before any byte is stored.
    const before = storedFiles(srv.data);
    await expectError(upload(`/upload?name=a.bin&version=${encodeURIComponent("nightly\u202e")}`, "x", auth(srv.admin)), 422, /invalid release version/);
    await expectError(upload(`/upload?name=a.bin&version=${encodeURIComponent("nightly\u200b")}`, "x", auth(srv.admin)), 422, /invalid release version/);
    // Asset names (zero-width: "install\u200B.sh" looks like install.sh) and labels.
    for (const c of ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]) {
      await expectError(upload(`/upload?name=${encodeURIComponent(`install${c}.sh`)}&version=7.1.0`, "x", auth(srv.admin)), 422, /invalid asset name: must not contain zero-width characters/);
    }
    const labelled = await upload(`/upload?name=a.bin&version=7.1.0&label=${encodeURIComponent("Linux \u202ex64")}`, "x", auth(srv.admin));
    await refused(labelled, "label", "ReleaseAsset", reordering);
    expect(storedFiles(srv.data)).toEqual(before);
    // Edits are held to the same rules.
    const made = await upload("/upload?name=ok.bin&version=7.2.0", "ok 7.2.0", auth(srv.admin));
    expect(made.status).toBe(201);
    const { release, asset } = (await made.json()) as any;
    await refused(send("PATCH", `/releases/${release.id}`, { tag_name: "v7.2.0\u2067" }), "tag_name", "Release", bidi);
    await refused(send("PATCH", `/releases/${release.id}`, { tag_name: "v7.2.0\u200b" }), "tag_name", "Release", zeroWidth);
    await refused(send("PATCH", `/releases/${release.id}`, { name: "7.2.0 \u202d" }), "name", "Release", reordering);
    await refused(send("PATCH", `/releases/assets/${asset.id}`, { label: "x\u2068y" }), "label", "ReleaseAsset", reordering);
    await refused(send("PATCH", `/releases/assets/${asset.id}`, { name: "ok\u200b.bin" }), "name", "ReleaseAsset", zeroWidth);
    // Letters of any script stay valid, and names and labels keep ZWJ/ZWNJ (emoji sequences, Persian words).
    const fine = await send("POST", "/releases", { tag_name: "v7.3.0-ünïcødé", name: "Версия 7.3 — 工具 👩\u200d💻 می\u200cخواهم" });
    expect(fine.status).toBe(201);
    const relabelled = await send("PATCH", `/releases/assets/${asset.id}`, { name: "tool-ü-日本.bin", label: "Linux (x86_64) — ß 👨\u200d👩\u200d👧" });
    expect(relabelled.status).toBe(200);
  });

  test("echoed input is cut: a 5,000-character tag, name or version in the URL is quoted to 255 characters", async () => {
    const long = (c: string) => c.repeat(5000);
    const cut = (c: string) => `${c.repeat(254)}…`;
    const message = async (path: string, init: RequestInit = {}) => (await expectError(fetch(srv.url + path, init), init.method === "PATCH" ? 422 : 404)).message as string;
    expect(await message(`/api/v3/repos/acme/tool/releases/tags/${long("a")}`)).toBe(`no release tagged ${cut("a")} in acme/tool`);
    expect(await message(`/acme/tool/releases/tag/${long("a")}`)).toBe(`no release tagged ${cut("a")} in acme/tool`);
    expect(await message(`/acme/tool/releases/download/${long("a")}/x.bin`)).toBe(`no release tagged ${cut("a")} in acme/tool`);
    expect(await message(`/acme/tool/releases/download/v2.0.0/${long("b")}`)).toBe(`release v2.0.0 has no artifact named ${cut("b")}`);
    expect(await message(`/assets/${long("b")}`)).toBe(`no release has an asset named ${cut("b")}`);
    expect(await message(`/assets/x.bin?version=${long("c")}`)).toBe(`no release ${cut("c")}`);
    expect(await message(`/apps/${long("d")}/tool/latest`)).toBe(`no app ${cut("d")}/tool`);
    const form = await expectError(fetch(`${srv.url}/api/v3/repos/acme/tool/releases`, { method: "POST", headers: { ...auth(srv.admin), "content-type": `multipart/form-data; boundary=${long("g")}` }, body: "x" }), 415);
    expect(form.message).toBe(`expected a JSON body, got Content-Type ${`multipart/form-data; boundary=${"g".repeat(5000)}`.slice(0, 254)}…; send the JSON document itself as the request body`);
    // A valid tag (at most 255 characters) is quoted whole.
    expect(await message(`/api/v3/repos/acme/tool/releases/tags/${"e".repeat(255)}`)).toBe(`no release tagged ${"e".repeat(255)} in acme/tool`);
    // valibot's own messages quote the value they refused.
    const rel: any = await (await fetch(`${srv.url}/api/v3/repos/acme/tool/releases/tags/v5.0.0`)).json();
    const patch = await message(`/api/v3/repos/acme/tool/releases/${rel.id}`, { method: "PATCH", headers: { ...auth(srv.admin), "content-type": "application/json" }, body: JSON.stringify({ draft: long("f") }) });
    expect(patch.length).toBeLessThan(300);
    expect(patch).toStartWith("Validation Failed: draft: ");
    expect(patch).toEndWith("…");
  });

  test("without a public URL, links follow the origin the request reached (its Host)", async () => {
    const r: any = await (await fetch(`${srv.url}/api/v3/repos/acme/tool/releases/tags/v5.0.0`, { headers: { host: "mirror.example.test:8443" } })).json();
    expect(r.url).toBe(`http://mirror.example.test:8443/api/v3/repos/acme/tool/releases/${r.id}`);
    expect(r.assets[0].browser_download_url).toBe("http://mirror.example.test:8443/acme/tool/releases/download/v5.0.0/tool-5.0.0.tgz");
  });

  test("encoded traversal in download paths finds nothing", async () => {
    for (const p of [
      "/acme/tool/releases/download/v2.0.0/..%2F..%2F..%2Fdata%2Frelease-server.db",
      "/assets/..%2Frelease-server.db",
      "/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
      "/acme/tool/releases/download/..%2Fv2.0.0/tool-2.0.0.tgz",
      "/assets/%E0%A4%A",
    ]) {
      const r = await fetch(srv.url + p);
      expect(r.status).toBe(404);
    }
  });

  test("odd but legal names round-trip, with a safe Content-Disposition", async () => {
    const name = "Tool Setup (x64) – ü \"final\".exe";
    const r = await upload(`/upload?name=${encodeURIComponent(name)}&version=12.0.0`, "odd", auth(srv.admin));
    expect(r.status).toBe(201);
    const { asset }: any = await r.json();
    expect(asset.name).toBe(name);
    const dl = await fetch(asset.browser_download_url);
    expect(await dl.text()).toBe("odd");
    const cd = dl.headers.get("content-disposition")!;
    expect(cd).toBe(`attachment; filename="Tool Setup (x64) _ _ _final_.exe"; filename*=UTF-8''Tool%20Setup%20%28x64%29%20%E2%80%93%20%C3%BC%20%22final%22.exe`);
    // RFC 8187's attr-char has no ' ( ) or *, which encodeURIComponent leaves as they are.
    const odd = "it's (a) *star* ~!.bin";
    const r2 = await upload(`/upload?name=${encodeURIComponent(odd)}&version=12.0.0`, "star", auth(srv.admin));
    expect(r2.status).toBe(201);
    const cd2 = (await fetch(((await r2.json()) as any).asset.browser_download_url)).headers.get("content-disposition")!;
    expect(cd2).toBe(`attachment; filename="it's (a) *star* ~!.bin"; filename*=UTF-8''it%27s%20%28a%29%20%2Astar%2A%20~!.bin`);
    expect(decodeURIComponent(cd2.split("''")[1]!)).toBe(odd);
    for (const value of [cd, cd2].map((h) => h.split("''")[1]!)) expect(value).toMatch(/^(?:[A-Za-z0-9!#$&+.^_`|~-]|%[0-9A-F]{2})+$/);
  });

  test("HTML in names, notes and asset names is escaped in every page", async () => {
    for (const p of ["/packages", "/acme/tool/releases", "/acme/tool/releases/tag/v1.0.0"]) {
      const r = await fetch(srv.url + p);
      expect(r.headers.get("content-type")).toStartWith("text/html");
      expect(r.headers.get("content-security-policy")).toContain("default-src 'none'");
      const page = await r.text();
      expect(page).not.toContain("<script>alert");
      expect(page).not.toContain("<img src=x");
      expect(page).not.toContain("<b onclick");
      expect(page).toContain("&#60;script&#62;alert(&#39;notes&#39;)&#60;/script&#62; &#38; more");
      expect(page).toContain("&#60;b onclick=x&#62;bold.zip");
    }
  });
});

describe("upload limits and integrity", () => {
  test("a declared size over the limit is 413 before reading; a chunked body over it is 413 too; nothing stored", async () => {
    const before = storedFiles(srv.data);
    await expectError(upload("/upload?name=big.bin&version=13.0.0", new Uint8Array(MAX + 1), auth(srv.admin)), 413, /exceeds the limit/);
    async function* chunked() {
      for (let i = 0; i < 12; i++) yield new Uint8Array(128 * 1024);
    }
    await expectError(upload("/upload?name=big.bin&version=13.0.0", chunked() as unknown as NonNullable<RequestInit["body"]>, auth(srv.admin)), 413, /exceeds the limit/);
    expect(storedFiles(srv.data)).toEqual(before);
    expect((await fetch(`${srv.url}/api/v3/repos/acme/tool/releases/tags/v13.0.0`)).status).toBe(404);
  });

  test("a chunked JSON body is refused with 413 as soon as it passes the limit, not once it has been read whole", async () => {
    // The body stays open after 2 MiB: a server that reads it whole before checking never answers.
    const cases = [
      { path: "/api/v3/repos/acme/tool/releases", method: "POST", limit: 1024 * 1024, what: /JSON body larger than 1048576 bytes/ },
      { path: "/api/v3/repos/acme/tool/channels/stable", method: "PUT", limit: 64 * 1024, what: /JSON body larger than 65536 bytes/ },
      { path: "/api/graphql", method: "POST", limit: 256 * 1024, what: /GraphQL request larger than 262144 bytes/ },
    ];
    for (const c of cases) {
      const res = await openChunkedRequest(srv.url, { method: c.method, path: c.path, headers: { ...auth(srv.admin), "content-type": "application/json" }, totalBytes: 2 * c.limit + 4096 });
      expect(res.status, c.path).toBe(413);
      expect(res.headers["content-type"]).toContain("application/json");
      expect(JSON.parse(res.text).message, c.path).toMatch(c.what);
    }
    // A declared length over the limit is refused before reading, as before.
    const declared = await fetch(`${srv.url}/api/graphql`, { method: "POST", headers: { ...auth(tok.reader!), "content-type": "application/json" }, body: " ".repeat(256 * 1024 + 1) });
    await expectError(declared, 413, /GraphQL request larger than/);
  });

  test("a declared digest that does not match is 422 and stores nothing; a matching one is accepted", async () => {
    const before = storedFiles(srv.data);
    const body = "digest me";
    await expectError(upload(`/upload?name=d.bin&version=14.0.0&digest=sha256:${"0".repeat(64)}`, body, auth(srv.admin)), 422, /digest mismatch/);
    await expectError(upload("/upload?name=d.bin&version=14.0.0", body, { ...auth(srv.admin), "repr-digest": `sha-256=:${Buffer.alloc(32).toString("base64")}:` }), 422, /digest mismatch/);
    await expectError(upload("/upload?name=d.bin&version=14.0.0", body, { ...auth(srv.admin), "x-checksum-sha256": "F".repeat(64) }), 422, /digest mismatch/);
    expect(storedFiles(srv.data)).toEqual(before);
    await expectError(upload("/upload?name=d.bin&version=14.0.0&digest=sha256:zz", body, auth(srv.admin)), 400, /digest/);
    await expectError(upload("/upload?name=d.bin&version=14.0.0", body, { ...auth(srv.admin), "repr-digest": "md5=:abc:" }), 400, /Repr-Digest/);
    await expectError(upload("/upload?name=d.bin&version=14.0.0", body, { ...auth(srv.admin), "x-checksum-sha256": "abc" }), 400, /X-Checksum-Sha256/);
    const ok = await upload(`/upload?name=d.bin&version=14.0.0&digest=sha256:${sha256Hex(body)}`, body, auth(srv.admin));
    expect(ok.status).toBe(201);
    const upper = await upload("/upload?name=e.bin&version=14.0.0", body, { ...auth(srv.admin), "x-checksum-sha256": sha256Hex(body).toUpperCase() });
    expect(upper.status).toBe(201);
  });

  test("the version is read as publishing reads it: v17.0.0 and 17.0.0+ci.3 add to release 17.0.0; a version that is no tag either is 422 before any byte is stored", async () => {
    expect((await upload("/upload?name=a.bin&version=v17.0.0", "a", auth(srv.admin))).status).toBe(201);
    const b = await upload("/upload?name=b.bin&version=17.0.0%2Bci.3", "b", auth(srv.admin));
    expect(b.status).toBe(201);
    expect(((await b.json()) as any).release).toMatchObject({ tag_name: "v17.0.0", assets: [{ name: "a.bin" }, { name: "b.bin" }] });
    expect(await (await fetch(`${srv.url}/assets/b.bin?version=v17.0.0`)).text()).toBe("b");
    expect(await (await fetch(`${srv.url}/assets/a.bin?version=17.0.0%2Bother`)).text()).toBe("a");
    const before = storedFiles(srv.data);
    await expectError(upload("/upload?name=c.bin&version=17.0%20beta", "c", auth(srv.admin)), 422, /invalid release version/);
    expect(storedFiles(srv.data)).toEqual(before);
    await expectError(fetch(`${srv.url}/assets/a.bin?version=17.0`), 404);
  });

  test("multipart form uploads are 415 (they would be buffered)", async () => {
    const form = new FormData();
    form.append("file", new Blob(["x"]), "x.bin");
    const r = await fetch(`${srv.url}/upload?name=x.bin&version=15.0.0`, { method: "POST", body: form, headers: auth(srv.admin) });
    await expectError(r, 415, /raw request body/);
  });

  test("a dropped connection mid-upload stores nothing", async () => {
    const before = storedFiles(srv.data);
    const { port, hostname } = new URL(srv.url);
    const sock = await Bun.connect({ hostname, port: Number(port), socket: { data() {} } });
    sock.write(
      `POST /upload?name=cut.bin&version=16.0.0 HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${srv.admin}\r\n` +
        `Content-Type: application/octet-stream\r\nContent-Length: ${MAX - 1}\r\n\r\n`,
    );
    sock.write(new Uint8Array(256 * 1024));
    await until("the upload to be staged", () => storedFiles(srv.data).staging === 1);
    sock.end();
    await until("the staged upload to be removed", () => storedFiles(srv.data).staging === 0);
    expect(storedFiles(srv.data)).toEqual(before); // nothing left once the client vanished
    expect((await fetch(`${srv.url}/api/v3/repos/acme/tool/releases/tags/v16.0.0`)).status).toBe(404);
  });
});

describe("a missing or invalid Host header", () => {
  /** One raw request; the whole response once the server closes the connection. */
  const raw = async (head: string): Promise<string> => {
    const { port, hostname } = new URL(srv.url);
    let got = "";
    let done!: () => void;
    const closed = new Promise<void>((r) => (done = r));
    const sock = await Bun.connect({ hostname, port: Number(port), socket: { data(_s, d) { got += Buffer.from(d).toString("latin1"); }, close() { done(); } } });
    sock.write(head);
    await closed;
    return got;
  };
  test("an HTTP/1.0 probe without Host gets /healthz; anything else a JSON 400, logged; never a page with the source", async () => {
    const health = await raw("GET /healthz HTTP/1.0\r\n\r\n");
    expect(health).toStartWith("HTTP/1.1 200");
    for (const head of ["GET /apps HTTP/1.0\r\n\r\n", 'GET /apps HTTP/1.1\r\nHost: a"b\r\nConnection: close\r\n\r\n', "GET /api/v3/repos/acme/tool/releases HTTP/1.1\r\nHost: x:99999\r\nConnection: close\r\n\r\n", "GET //evil.example/x HTTP/1.0\r\n\r\n"]) {
      const res = await raw(head);
      expect({ head, status: res.slice(0, 12) }).toEqual({ head, status: "HTTP/1.1 400" });
      expect(res).toContain("Host header is missing or not a valid host");
      expect(res).not.toContain("/src/");
      const id = /x-request-id: ([^\r]+)/i.exec(res)![1]!;
      expect((await logLine(srv, id)).status).toBe(400);
    }
  });
});

describe("channel pointers", () => {
  test("deleting a release a channel points at is 409; the release stays", async () => {
    const rel: any = await (await fetch(`${srv.url}/api/v3/repos/acme/tool/releases/tags/v3.0.0`)).json();
    await expectError(fetch(`${srv.url}/api/v3/repos/acme/tool/releases/${rel.id}`, { method: "DELETE", headers: auth(srv.admin) }), 409, /current or previous release of a channel/);
    expect((await fetch(`${srv.url}/api/v3/repos/acme/tool/releases/${rel.id}`)).status).toBe(200);
    // Renaming its tag would move every file's URL: 409 too, the tag unchanged.
    await expectError(fetch(`${srv.url}/api/v3/repos/acme/tool/releases/${rel.id}`, { method: "PATCH", headers: { ...auth(srv.admin), "content-type": "application/json" }, body: JSON.stringify({ tag_name: "v3.0.0-renamed" }) }), 409, /its tag cannot change/);
    expect((await fetch(`${srv.url}/api/v3/repos/acme/tool/releases/tags/v3.0.0`)).status).toBe(200);
  });

  test("a served release's assets cannot be deleted or renamed (current or previous) until the channel moves on", async () => {
    const admin = auth(srv.admin);
    const api = `${srv.url}/api/v3/repos/other/app`;
    const release = async (version: string) => {
      const r = await fetch(`${srv.url}/apps/other/app/upload?name=app.bin&version=${version}`, { method: "POST", body: `app ${version}`, headers: admin });
      expect(r.status).toBe(201);
      return ((await r.json()) as any).release;
    };
    const promote = async (id: number) => expect((await fetch(`${api}/channels/stable`, { method: "PUT", headers: admin, body: JSON.stringify({ release_id: id }) })).status).toBe(200);
    const [one, two, three] = [await release("1.0.0"), await release("2.0.0"), await release("3.0.0")];
    const assetOf = (r: any) => `${api}/releases/assets/${r.assets[0].id}`;
    const refused = async () => {
      await expectError(fetch(assetOf(one), { method: "DELETE", headers: admin }), 409, /release v1\.0\.0 is the current or previous release of a channel; its assets cannot be deleted/);
      await expectError(fetch(`${srv.url}/apps/other/app/assets/app.bin?version=1.0.0`, { method: "DELETE", headers: admin }), 409, /cannot be deleted/);
      await expectError(fetch(assetOf(one), { method: "PATCH", headers: admin, body: JSON.stringify({ name: "renamed.bin" }) }), 409, /cannot be renamed/);
      expect(await (await fetch(`${srv.url}/other/app/releases/download/v1.0.0/app.bin`)).text()).toBe("app 1.0.0");
    };
    await promote(one.id);
    await refused(); // the channel's current release
    const label = await fetch(assetOf(one), { method: "PATCH", headers: admin, body: JSON.stringify({ label: "still labelled" }) });
    expect(label.status).toBe(200); // a label is no part of what installs download
    await promote(two.id);
    await refused(); // now its previous release: what clients outside a rollout get
    expect(await (await fetch(`${srv.url}/other/app/releases/latest/download/app.bin?channel=stable`)).text()).toBe("app 2.0.0");
    await promote(three.id); // 1.0.0 is served by no channel any more
    expect((await fetch(assetOf(one), { method: "PATCH", headers: admin, body: JSON.stringify({ name: "renamed.bin" }) })).status).toBe(200);
    expect((await fetch(assetOf(one), { method: "DELETE", headers: admin })).status).toBe(204);
  });
});

describe("retention", () => {
  test("retention run never removes the channel's current release", async () => {
    const run = Bun.spawnSync(["bun", MAIN, "retention", "run", "--data", srv.data, "--config", join(srv.dir, "server.yaml"), "--json"]);
    expect(run.exitCode).toBe(0);
    const report = JSON.parse(run.stdout.toString());
    const gone = report.releases.map((r: { version: string }) => r.version).sort();
    expect(gone).toEqual(["2.0.0", "4.0.0"]); // keep_last 1 keeps 5.0.0; 3.0.0 is stable's current release
    const tag = (t: string) => fetch(`${srv.url}/api/v3/repos/acme/tool/releases/tags/${t}`).then((r) => r.status);
    expect([await tag("v2.0.0"), await tag("v3.0.0"), await tag("v4.0.0"), await tag("v5.0.0")]).toEqual([404, 200, 404, 200]);
    const latest: any = await (await fetch(`${srv.url}/latest?channel=stable`)).json();
    expect(latest.tag_name).toBe("v3.0.0");
    expect(await (await fetch(`${srv.url}/acme/tool/releases/latest/download/tool-3.0.0.tgz?channel=stable`)).text()).toBe("tool 3.0.0");
  });
});

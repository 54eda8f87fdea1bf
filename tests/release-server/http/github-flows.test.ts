// GitHub release flows over real HTTP (issue 11): editing and publishing with PATCH, channel-scoped
// CI tokens, bounded paging, uploads refused before any byte is stored, curl's default form
// Content-Type, and tags that are not semantic versions.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Octokit } from "@octokit/rest";
import { openService } from "../../../src/release-server/service.ts";
import { defaultConfig } from "../../../src/release-server/config.ts";
import { OP, auth, publish, seed, startServer, storedFiles, tempData, until, type Running } from "./server.ts";

setDefaultTimeout(20_000);

let srv: Running;
const tok: Record<string, string> = {};
const owner = "acme";
const repo = "tool";
const log = { debug() {}, info() {}, warn() {}, error() {} };
const kit = (token?: string) => new Octokit({ baseUrl: `${srv.url}/api/v3`, auth: token, log });
const api = `/api/v3/repos/${owner}/${repo}`;

beforeAll(async () => {
  const t = tempData();
  await seed(t.data, async (s) => {
    const app = await s.createApp({ owner, slug: repo }, OP);
    await s.createApp({ owner, slug: "other" }, OP);
    await publish(s, app, { version: "1.0.0" }, { "a.txt": "a" });
    await publish(s, app, { version: "0.9.0", channel: "stable", draft: true }, { "s.txt": "s" });
    const mk = async (name: string, input: object) => (await s.createToken({ name, ...input } as never, OP)).raw;
    tok.publisher = await mk("publisher", { actions: ["publish"], apps: ["acme/tool"] });
    tok.reader = await mk("reader", { actions: ["read"] });
    tok.beta = await mk("ci-beta", { actions: ["publish"], apps: ["acme/tool"], channels: ["beta"] });
    tok.betaDelete = await mk("ci-beta-delete", { actions: ["publish", "delete"], apps: ["acme/tool"], channels: ["beta"] });
  });
  srv = await startServer({ ...t, args: ["--default-app", "acme/tool"] });
});
afterAll(() => srv[Symbol.asyncDispose]());

/** Reads the server's data directory beside it (audit events). */
const audit = async (action: string) => {
  const s = await openService(srv.data, defaultConfig());
  try {
    return await s.listAudit({ action });
  } finally {
    await s.close();
  }
};

const errOf = (p: Promise<unknown>) => p.then(() => ({ status: 0, response: { data: {} as any } }), (e) => e);

describe("PATCH releases and assets", () => {
  test("a draft is edited and published; published_at is set; each change is an audit event", async () => {
    const gh = kit(srv.admin);
    const { data: draft } = await gh.rest.repos.createRelease({ owner, repo, tag_name: "v2.0.0", draft: true, name: "Two", body: "first" });
    expect(draft.published_at).toBeNull();
    const edited = await gh.rest.repos.updateRelease({ owner, repo, release_id: draft.id, name: "Two!", body: "notes", prerelease: true });
    expect(edited.status).toBe(200);
    expect(edited.headers["x-oauth-scopes"]).toBe("repo, read:org, write:packages, admin:org"); // as on every authenticated response
    expect((await kit(tok.reader).rest.repos.listReleases({ owner, repo })).headers["x-oauth-scopes"]).toBe("repo, read:org");
    expect((await kit().rest.repos.listReleases({ owner, repo })).headers["x-oauth-scopes"]).toBeUndefined();
    expect(edited.data).toMatchObject({ id: draft.id, name: "Two!", body: "notes", prerelease: true, draft: true, published_at: null });
    const published = await gh.rest.repos.updateRelease({ owner, repo, release_id: draft.id, draft: false, prerelease: false, tag_name: "v2.0.1" });
    expect(published.data).toMatchObject({ draft: false, tag_name: "v2.0.1", name: "Two!" });
    expect(Date.parse(published.data.published_at!)).toBeGreaterThan(0);
    expect((await kit().rest.repos.getLatestRelease({ owner, repo })).data.tag_name).toBe("v2.0.1");
    expect((await kit().rest.repos.getReleaseByTag({ owner, repo, tag: "v2.0.1" })).data.id).toBe(draft.id);
    expect((await audit("release.publish")).find((e) => e.target_id === String(draft.id))).toMatchObject({ metadata: { tag: "v2.0.1", version: "2.0.1" } });
    expect((await audit("release.update")).filter((e) => e.target_id === String(draft.id))).toHaveLength(1);
    // A taken tag is GitHub's 422 already_exists; unknown fields are ignored; wrong types are 422.
    const dup = await errOf(gh.rest.repos.updateRelease({ owner, repo, release_id: draft.id, tag_name: "v1.0.0" }));
    expect(dup.status).toBe(422);
    expect(dup.response.data.errors[0]).toMatchObject({ code: "already_exists", field: "tag_name" });
    const bad = await fetch(`${srv.url}${api}/releases/${draft.id}`, { method: "PATCH", headers: { ...auth(srv.admin), "content-type": "application/json" }, body: JSON.stringify({ draft: "no", make_latest: "true" }) });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as any).errors[0]).toMatchObject({ resource: "Release", field: "draft" });
    // A body that is not an object (an array too, which a schema of optional fields would take as no change) is 422.
    for (const body of ["[1]", "[]", '"x"', "null"]) {
      const r = await fetch(`${srv.url}${api}/releases/${draft.id}`, { method: "PATCH", headers: { ...auth(srv.admin), "content-type": "application/json" }, body });
      expect([body, r.status]).toEqual([body, 422]);
    }
  });

  test("PATCH needs a token that may publish to the release's channel", async () => {
    const { data } = await kit().rest.repos.getReleaseByTag({ owner, repo, tag: "v1.0.0" });
    expect((await errOf(kit().rest.repos.updateRelease({ owner, repo, release_id: data.id, name: "x" }))).status).toBe(401);
    expect((await errOf(kit(tok.reader).rest.repos.updateRelease({ owner, repo, release_id: data.id, name: "x" }))).status).toBe(403);
    expect((await errOf(kit(tok.beta).rest.repos.updateRelease({ owner, repo, release_id: data.id, name: "x" }))).status).toBe(403);
    expect((await kit(tok.publisher).rest.repos.updateRelease({ owner, repo, release_id: data.id, name: "One" })).data.name).toBe("One");
    const hugeId = await fetch(`${srv.url}${api}/releases/99999999999999999999`, { method: "PATCH", headers: { ...auth(srv.admin), "content-type": "application/json" }, body: "{}" });
    expect(hugeId.status).toBe(404);
  });

  test("an asset's name and label change with PATCH; a taken name is 422", async () => {
    const gh = kit(tok.publisher);
    const { data: rel } = await gh.rest.repos.getReleaseByTag({ owner, repo, tag: "v1.0.0" });
    const a = rel.assets[0]!;
    const up = await gh.rest.repos.updateReleaseAsset({ owner, repo, asset_id: a.id, name: "tool.txt", label: "The tool" });
    expect(up.data).toMatchObject({ id: a.id, name: "tool.txt", label: "The tool" });
    expect(await (await fetch(`${srv.url}/${owner}/${repo}/releases/download/v1.0.0/tool.txt`)).text()).toBe("a");
    expect((await audit("artifact.update")).at(0)).toMatchObject({ target_id: String(a.id), metadata: { changes: { filename: "tool.txt", label: "The tool" } } });
    await gh.request({ method: "POST", url: rel.upload_url, name: "b.txt", data: "b", headers: { "content-type": "text/plain" } });
    const taken = await errOf(gh.rest.repos.updateReleaseAsset({ owner, repo, asset_id: a.id, name: "b.txt" }));
    expect(taken.status).toBe(422);
    expect(taken.response.data.errors[0]).toMatchObject({ code: "already_exists", field: "name" });
    const slash = await errOf(gh.rest.repos.updateReleaseAsset({ owner, repo, asset_id: a.id, name: "../x" }));
    expect(slash.status).toBe(422);
    expect((await errOf(kit(tok.reader).rest.repos.updateReleaseAsset({ owner, repo, asset_id: a.id, label: "x" }))).status).toBe(403);
  });
});

describe("channel-scoped tokens", () => {
  test("a beta token creates a beta draft, sees it, uploads to it and publishes it; nothing outside beta", async () => {
    const gh = kit(tok.beta);
    const created = await gh.request("POST /repos/{owner}/{repo}/releases", { owner, repo, tag_name: "v3.0.0-beta.1", draft: true, prerelease: true, channel: "beta" });
    expect(created.status).toBe(201);
    const id = created.data.id as number;
    expect((await gh.rest.repos.getRelease({ owner, repo, release_id: id })).data.draft).toBe(true);
    const up = await gh.rest.repos.uploadReleaseAsset({ owner, repo, release_id: id, name: "beta.bin", data: "beta bytes", baseUrl: `${srv.url}/api/uploads` });
    expect(up.status).toBe(201);
    const list = await gh.rest.repos.listReleases({ owner, repo, per_page: 100 });
    const tags = list.data.map((r) => r.tag_name);
    expect(tags).toContain("v3.0.0-beta.1");
    expect(tags).not.toContain("v0.9.0"); // the stable draft
    expect((await errOf(gh.rest.repos.getReleaseByTag({ owner, repo, tag: "v0.9.0" }))).status).toBe(404);
    expect((await gh.rest.repos.updateRelease({ owner, repo, release_id: id, draft: false })).data.draft).toBe(false);
    // Other channels, no channel, or moving the release out of beta: 403.
    const stable = await errOf(gh.request("POST /repos/{owner}/{repo}/releases", { owner, repo, tag_name: "v3.0.1", channel: "stable" }));
    expect(stable.status).toBe(403);
    expect(stable.response.data.message).toContain("channel 'stable'");
    expect((await errOf(gh.rest.repos.createRelease({ owner, repo, tag_name: "v3.0.2" }))).status).toBe(403);
    expect((await errOf(gh.request("PATCH /repos/{owner}/{repo}/releases/{release_id}", { owner, repo, release_id: id, channel: "stable" }))).status).toBe(403);
    // Anonymous callers and other apps' tokens still do not see beta drafts.
    const draft = await gh.request("POST /repos/{owner}/{repo}/releases", { owner, repo, tag_name: "v3.0.0-beta.2", draft: true, channel: "beta" });
    expect((await errOf(kit().rest.repos.getRelease({ owner, repo, release_id: draft.data.id }))).status).toBe(404);
    expect((await errOf(kit(tok.reader).rest.repos.getRelease({ owner, repo, release_id: draft.data.id }))).status).toBe(404);
  });

  test("the seed's asset endpoints show a beta token its beta drafts, as the API does, and nothing else", async () => {
    const beta = auth(tok.betaDelete!);
    const made = await kit(tok.betaDelete).request("POST /repos/{owner}/{repo}/releases", { owner, repo, tag_name: "b1", draft: true, channel: "beta" });
    await kit(tok.betaDelete).rest.repos.uploadReleaseAsset({ owner, repo, release_id: made.data.id, name: "x.txt", data: "x", baseUrl: `${srv.url}/api/uploads` });
    const get = (path: string, headers: Record<string, string> = beta) => fetch(`${srv.url}${path}`, { headers });
    expect(await (await get("/acme/tool/releases/download/b1/x.txt")).text()).toBe("x");
    for (const path of ["/apps/acme/tool/assets/x.txt?version=b1", "/apps/acme/tool/assets/x.txt", "/assets/x.txt?version=b1", "/assets/x.txt"]) {
      const r = await get(path);
      expect(r.status, path).toBe(200);
      expect(await r.text()).toBe("x");
      expect((await get(path, {})).status, `${path} anonymous`).toBe(404);
      expect((await get(path, auth(tok.reader!))).status, `${path} read-only`).toBe(404);
    }
    // The stable draft stays hidden from the beta token.
    for (const path of ["/assets/s.txt?version=v0.9.0", "/assets/s.txt", "/acme/tool/releases/download/v0.9.0/s.txt"]) expect((await get(path)).status, path).toBe(404);
    expect((await get("/assets/s.txt?version=v0.9.0", auth(srv.admin))).status).toBe(200);
    const del = await fetch(`${srv.url}/apps/acme/tool/assets/x.txt?version=b1`, { method: "DELETE", headers: beta });
    expect(del.status).toBe(204);
    expect((await get("/acme/tool/releases/download/b1/x.txt")).status).toBe(404);
  });
});

describe("a draft the token may not see, named by the seed's upload", () => {
  test("?version= of another channel's hidden draft: GitHub's 422 already_exists for the tag, never a 403 naming the draft's channel; nothing stored", async () => {
    const before = storedFiles(srv.data);
    for (const version of ["v0.9.0", "0.9.0"]) {
      const r = await fetch(`${srv.url}/upload?name=n.bin&version=${version}&channel=beta`, { method: "POST", body: `beta bytes ${version}`, headers: { ...auth(tok.beta!), "content-type": "application/octet-stream" } });
      const body = (await r.json()) as { message: string; errors: unknown[] };
      expect({ version, status: r.status, body }).toEqual({ version, status: 422, body: { message: "acme/tool already has tag v0.9.0", documentation_url: expect.any(String), errors: [{ resource: "Release", code: "already_exists", field: "tag_name" }] } as never });
    }
    // The refused upload's blob is gone again (it tells only what the tag, which exists, tells).
    expect(storedFiles(srv.data)).toEqual(before);
    // The draft is untouched and still hidden from the beta token.
    expect((await fetch(`${srv.url}/assets/n.bin?version=v0.9.0`, { headers: auth(srv.admin) })).status).toBe(404);
    expect((await fetch(`${srv.url}/assets/s.txt?version=v0.9.0`, { headers: auth(tok.beta!) })).status).toBe(404);
  });
});

describe("paging bounds", () => {
  test("a page past 2^63 is a 422 Validation Failed naming the parameter, on the API and on /packages; a far page is empty", async () => {
    for (const path of [`${api}/releases?page=99999999999999999999`, `${api}/releases?per_page=abc`, `${api}/releases?page=-1`, "/packages?format=json&page=99999999999999999999", "/apps/acme/tool/packages?format=json&page=1e3"]) {
      const r = await fetch(srv.url + path);
      expect(r.status, path).toBe(422);
      const body: any = await r.json();
      expect(body.message, path).toStartWith("Validation Failed");
      expect(["page", "per_page"], path).toContain(body.errors[0].field);
      expect(body.errors[0].code).toBe("invalid");
    }
    // The message gives the range as read: 0 is taken as 1 (as GitHub does), so it is not refused.
    const neg = (await (await fetch(`${srv.url}${api}/releases?per_page=-1`)).json()) as { message: string };
    expect(neg.message).toEndWith("per_page must be a whole number from 0 (read as 1) to 9007199254740991");
    const zero = await fetch(`${srv.url}${api}/releases?per_page=0`);
    expect([zero.status, ((await zero.json()) as unknown[]).length]).toEqual([200, 1]); // one a page, not the default 30
    const far = await fetch(`${srv.url}${api}/releases?page=1000000&per_page=100`);
    expect(far.status).toBe(200);
    expect(await far.json()).toEqual([]);
    const huge = await fetch(`${srv.url}${api}/releases?per_page=99999999999999999999`);
    expect(huge.status).toBe(422);
    const big = await fetch(`${srv.url}${api}/releases?per_page=1000`);
    expect(big.status).toBe(200);
  });

  test("a release's assets are paged like its releases: per_page, page, Link headers, the same bounds", async () => {
    const rel: any = await (await fetch(`${srv.url}${api}/releases`, { method: "POST", headers: { ...auth(srv.admin), "content-type": "application/json" }, body: JSON.stringify({ tag_name: "paged-assets" }) })).json();
    for (let i = 0; i < 7; i++) {
      const up = await fetch(`${srv.url}/api/uploads/repos/${owner}/${repo}/releases/${rel.id}/assets?name=f${i}.txt`, { method: "POST", headers: { ...auth(srv.admin), "content-type": "text/plain" }, body: `file ${i}` });
      expect(up.status).toBe(201);
    }
    const at = `${srv.url}${api}/releases/${rel.id}/assets`;
    const first = await fetch(`${at}?per_page=3`, { headers: auth(srv.admin) });
    expect(((await first.json()) as any[]).map((a) => a.name)).toEqual(["f0.txt", "f1.txt", "f2.txt"]);
    expect(first.headers.get("link")).toContain('rel="next"');
    const last = await fetch(`${at}?per_page=3&page=3`, { headers: auth(srv.admin) });
    expect(((await last.json()) as any[]).map((a) => a.name)).toEqual(["f6.txt"]);
    expect(last.headers.get("link")).not.toContain('rel="next"');
    expect(await (await fetch(`${at}?page=1000000`, { headers: auth(srv.admin) })).json()).toEqual([]);
    expect((await fetch(`${at}?page=1000001`, { headers: auth(srv.admin) })).status).toBe(422);
    // octokit's paginate follows the Link headers to every asset, once each.
    const gh = new Octokit({ baseUrl: `${srv.url}/api/v3`, auth: srv.admin });
    const every = await gh.paginate(gh.rest.repos.listReleaseAssets, { owner, repo, release_id: rel.id, per_page: 2 });
    expect(every.map((a) => a.name)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `f${i}.txt`));
  });
});

describe("uploads refused before any byte", () => {
  const upload = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(srv.url + path, { method: "POST", body, headers: { "content-type": "application/octet-stream", ...auth(srv.admin), ...headers } });

  test("bad Content-Type, long label, bad channel and duplicate name are 422 and leave no blob", async () => {
    const { data: rel } = await kit(srv.admin).rest.repos.createRelease({ owner, repo, tag_name: "v4.0.0" });
    const path = `/api/uploads/repos/${owner}/${repo}/releases/${rel.id}/assets`;
    expect((await upload(`${path}?name=ok.bin`, "ok")).status).toBe(201);
    const before = storedFiles(srv.data);
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      [`${path}?name=x.bin`, { "content-type": "not a type" }, /content_type/],
      [`${path}?name=x.bin&label=${"l".repeat(256)}`, {}, /label: must be at most 255 characters/],
      [`${path}?name=ok.bin`, {}, /already has an asset named ok.bin/],
      ["/upload?name=x.bin&version=4.1.0&channel=Not_A_Channel", {}, /invalid channel/],
      [`/upload?name=x.bin&version=4.2.0&label=${"l".repeat(256)}`, {}, /label/],
    ];
    for (const [p, h, why] of cases) {
      const r = await upload(p, `distinct bytes for ${p.length} ${JSON.stringify(h)}`, h);
      expect(r.status, p).toBe(422);
      expect(((await r.json()) as any).message, p).toMatch(why);
    }
    // An upload's invalid field is reported as an edit's is: GitHub's Validation Failed, its resource and field.
    const long = (await (await upload(`${path}?name=x.bin&label=${"l".repeat(256)}`, "long label")).json()) as any;
    expect(long.message).toBe("Validation Failed: label: must be at most 255 characters");
    expect(long.errors).toEqual([{ resource: "ReleaseAsset", field: "label", code: "invalid" }]);
    expect(storedFiles(srv.data)).toEqual(before);
  });

  test("the refusal comes before the body is read: a 100 MB upload that sends 64 KiB is answered", async () => {
    const { data: rel } = await kit(srv.admin).rest.repos.createRelease({ owner, repo, tag_name: "v4.3.0" });
    const before = storedFiles(srv.data);
    const { hostname, port } = new URL(srv.url);
    let reply = "";
    const sock = await Bun.connect({ hostname, port: Number(port), socket: { data(_s, d) { reply += d.toString(); } } });
    sock.write(
      `POST /api/uploads/repos/${owner}/${repo}/releases/${rel.id}/assets?name=big.bin&label=${"l".repeat(300)} HTTP/1.1\r\nHost: ${hostname}\r\n` +
        `Authorization: Bearer ${srv.admin}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`,
    );
    sock.write(new Uint8Array(64 * 1024));
    const status = await until("the 422 while the body is still being sent", () => /^HTTP\/1\.1 (\d+)/.exec(reply)?.[1]);
    sock.end();
    expect(status).toBe("422");
    expect(reply).toContain("label: must be at most 255 characters");
    expect(storedFiles(srv.data)).toEqual(before);
  });

  test("curl --data-binary @file (a form Content-Type) uploads the raw bytes as application/octet-stream", async () => {
    const file = join(srv.dir, "payload.bin");
    writeFileSync(file, "raw=bytes&not=a form\n");
    const { data: rel } = await kit(srv.admin).rest.repos.createRelease({ owner, repo, tag_name: "v4.4.0" });
    const p = Bun.spawnSync(["curl", "-sS", "-H", `Authorization: Bearer ${srv.admin}`, "--data-binary", `@${file}`, `${srv.url}/api/uploads/repos/${owner}/${repo}/releases/${rel.id}/assets?name=payload.bin`]);
    const asset = JSON.parse(p.stdout.toString());
    expect(asset).toMatchObject({ name: "payload.bin", content_type: "application/octet-stream", size: 21 });
    expect(await (await fetch(asset.browser_download_url)).text()).toBe("raw=bytes&not=a form\n");
    const multipart = Bun.spawnSync(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", `Authorization: Bearer ${srv.admin}`, "-F", `file=@${file}`, `${srv.url}/api/uploads/repos/${owner}/${repo}/releases/${rel.id}/assets?name=form.bin`]);
    expect(multipart.stdout.toString()).toBe("415");
  });
});

describe("JSON bodies as curl sends them", () => {
  test("curl -d '{...}' (a form Content-Type, as GitHub's examples send JSON) is read as JSON; multipart is 415", async () => {
    const curl = (method: string, path: string, ...args: string[]) => {
      const p = Bun.spawnSync(["curl", "-sS", "-X", method, "-H", `Authorization: Bearer ${srv.admin}`, "-w", "\n%{http_code}", ...args, `${srv.url}${path}`]);
      const [body, status] = p.stdout.toString().split(/\n(?=\d+$)/);
      return { status: Number(status), body: JSON.parse(body!) };
    };
    const made = curl("POST", `/api/v3/repos/${owner}/${repo}/releases`, "-d", '{"tag_name":"v4.5.0","name":"by curl -d","draft":true}');
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ tag_name: "v4.5.0", name: "by curl -d", draft: true });
    const edited = curl("PATCH", `/api/v3/repos/${owner}/${repo}/releases/${made.body.id}`, "-d", '{"body":"notes"}');
    expect(edited.status).toBe(200);
    expect(edited.body.body).toBe("notes");
    const gql = curl("POST", "/api/graphql", "-d", JSON.stringify({ query: "{ viewer { login } }" }));
    expect(gql.status).toBe(200);
    expect(gql.body.data.viewer.login).toBeString();
    // A missing or mistyped tag_name is named as such (not valibot's "Invalid key: Expected …").
    const missing = curl("POST", `/api/v3/repos/${owner}/${repo}/releases`, "-d", "{}");
    const typed = curl("POST", `/api/v3/repos/${owner}/${repo}/releases`, "-d", '{"tag_name":123}');
    expect([missing.status, missing.body.message, typed.status, typed.body.message]).toEqual([422, "Validation Failed: tag_name: tag_name is required", 422, "Validation Failed: tag_name: tag_name must be a string"]);
    // Whatever the type says, a body that is not JSON is still 400; a form is 415.
    expect(curl("POST", `/api/v3/repos/${owner}/${repo}/releases`, "-d", "tag_name=v4.6.0").status).toBe(400);
    const form = curl("POST", `/api/v3/repos/${owner}/${repo}/releases`, "-F", "tag_name=v4.6.0");
    expect(form.status).toBe(415);
    expect(form.body.message).toContain("multipart/form-data");
  });
});

describe("text that is not text", () => {
  test("an unpaired surrogate or bytes that are not UTF-8, in a JSON body or a query string, are a 400 and nothing is stored", async () => {
    const post = (body: Uint8Array | string, path = `${api}/releases`, method = "POST") =>
      fetch(`${srv.url}${path}`, { method, headers: { ...auth(srv.admin), "content-type": "application/json" }, body });
    const tags = async () => ((await (await fetch(`${srv.url}${api}/releases?per_page=100`, { headers: auth(srv.admin) })).json()) as { tag_name: string }[]).map((r) => r.tag_name);
    const before = await tags();
    for (const [body, message] of [
      ['{"tag_name":"v9.1.0\\ud800"}', "Problems parsing JSON: JSON body holds an unpaired surrogate (\\ud800-\\udfff)"],
      [Buffer.concat([Buffer.from('{"tag_name":"v9.1.0'), Buffer.from([0xff]), Buffer.from('"}')]), "Problems parsing JSON: JSON body is not UTF-8"],
    ] as const) {
      const r = await post(body);
      expect({ status: r.status, message: ((await r.json()) as { message: string }).message }).toEqual({ status: 400, message });
    }
    expect(await tags()).toEqual(before);
    // The same through PATCH, and in a query string (an asset's name).
    const rel = (await (await post('{"tag_name":"utf8-check","draft":true}')).json()) as { id: number; assets: unknown[] }; // a draft: the latest release stays the other tests'

    const patched = await post('{"name":"x\\udc00"}', `${api}/releases/${rel.id}`, "PATCH");
    expect(patched.status).toBe(400);
    for (const name of ["%E0%A4%A", "%ED%A0%80x", "a%FF.bin"]) {
      const up = await fetch(`${srv.url}/api/uploads/repos/${owner}/${repo}/releases/${rel.id}/assets?name=${name}`, { method: "POST", headers: auth(srv.admin), body: "bytes" });
      expect({ name, status: up.status, message: ((await up.json()) as { message: string }).message }).toEqual({ name, status: 400, message: "the query parameter name is not UTF-8 (percent-encoded bytes that are no text)" });
    }
    const label = await fetch(`${srv.url}/api/uploads/repos/${owner}/${repo}/releases/${rel.id}/assets?name=ok.bin&label=a%FF`, { method: "POST", headers: auth(srv.admin), body: "bytes" });
    expect([label.status, ((await label.json()) as { message: string }).message]).toEqual([400, "the query parameter label is not UTF-8 (percent-encoded bytes that are no text)"]);
    // The seed's upload and download routes read version and channel the same way: nothing is stored.
    for (const [path, param] of [["/upload?name=u.bin&version=9.9.%FF", "version"], ["/upload?name=u.bin&version=9.9.9&channel=b%FF", "channel"], ["/assets/u.bin?version=%ED%A0%80", "version"]] as const) {
      const r = await fetch(`${srv.url}${path}`, { method: path.startsWith("/upload") ? "POST" : "GET", headers: auth(srv.admin), body: path.startsWith("/upload") ? "bytes" : undefined });
      expect({ path, status: r.status, message: ((await r.json()) as { message: string }).message }).toEqual({ path, status: 400, message: `the query parameter ${param} is not UTF-8 (percent-encoded bytes that are no text)` });
    }
    expect((await tags()).filter((t) => t.includes("9.9"))).toEqual([]);
    // A parameter the route does not read is let be, whatever its bytes (a cache buster; a name where none is read).
    for (const path of [`${api}/releases/${rel.id}?x=%FF`, "/healthz?name=%FF"]) {
      expect([path, (await fetch(`${srv.url}${path}`, { headers: auth(srv.admin) })).status]).toEqual([path, 200]);
    }
    // Nesting far past a recursive walk's reach: answered as before (a body that is no release), not a 500.
    const deep = await post(`{"tag_name":"vdeep","x":${"[".repeat(60_000)}${"]".repeat(60_000)}}`);
    expect(deep.status).toBe(201);
    const deepSurrogate = await post(`{"tag_name":"vdeep2","x":${"[".repeat(60_000)}"\\ud800"${"]".repeat(60_000)}}`);
    expect(deepSurrogate.status).toBe(400);
    for (const [body, got] of [['"hello"', "a string"], ["null", "null"], ["123", "a number"]]) {
      const r = await post(body!);
      expect({ body, status: r.status, message: ((await r.json()) as { message: string }).message }).toEqual({ body, status: 422, message: `Validation Failed: body: Invalid type: Expected Object but received ${got}` });
    }
    // A `%` that starts no escape is read as itself, as before.
    const pct = await fetch(`${srv.url}/api/uploads/repos/${owner}/${repo}/releases/${rel.id}/assets?name=100%.bin`, { method: "POST", headers: auth(srv.admin), body: "bytes" });
    expect(pct.status).toBe(201);
    expect(((await (await fetch(`${srv.url}${api}/releases/${rel.id}`, { headers: auth(srv.admin) })).json()) as { assets: { name: string }[] }).assets.map((a) => a.name)).toEqual(["100%.bin"]);
  });
});

describe("tags that are not semantic versions", () => {
  test("nightly and 2026-11-28 are releases; latest orders semver releases by version above them", async () => {
    const gh = kit(srv.admin);
    // Published after 2.0.1 but older by version: latest stays the highest version.
    await gh.rest.repos.createRelease({ owner, repo, tag_name: "v1.5.0" });
    const nightly = await gh.rest.repos.createRelease({ owner, repo, tag_name: "nightly", name: "Nightly" });
    expect(nightly.status).toBe(201);
    expect(nightly.data.tag_name).toBe("nightly");
    const dated = await gh.rest.repos.createRelease({ owner, repo, tag_name: "2026-11-28" });
    expect(dated.data.tag_name).toBe("2026-11-28");
    const up = await fetch(`${srv.url}/upload?name=n.bin&version=nightly`, { method: "POST", body: "n", headers: auth(srv.admin) });
    expect(up.status).toBe(201);
    expect(((await up.json()) as any).release.tag_name).toBe("nightly");
    expect(await (await fetch(`${srv.url}/${owner}/${repo}/releases/download/nightly/n.bin`)).text()).toBe("n");
    expect((await gh.rest.repos.getReleaseByTag({ owner, repo, tag: "2026-11-28" })).data.id).toBe(dated.data.id);
    expect((await gh.rest.repos.getLatestRelease({ owner, repo })).data.tag_name).toBe("v4.4.0");
    // Lists stay newest created first, as GitHub lists them.
    const first = (await gh.rest.repos.listReleases({ owner, repo, per_page: 3 })).data.map((r) => r.tag_name);
    expect(first).toEqual(["2026-11-28", "nightly", "v1.5.0"]);
    // Renaming a non-semver release's tag renames it; a bad tag is 422.
    const renamed = await gh.rest.repos.updateRelease({ owner, repo, release_id: dated.data.id, tag_name: "2026-11-29" });
    expect(renamed.data.tag_name).toBe("2026-11-29");
    expect((await errOf(gh.rest.repos.createRelease({ owner, repo, tag_name: "bad tag" }))).status).toBe(422);
  });

  test("an app with only non-semver tags: latest is the newest created", async () => {
    const gh = kit(srv.admin);
    await gh.rest.repos.createRelease({ owner, repo: "other", tag_name: "2026-11-27" });
    await Bun.sleep(1100); // creation times have second precision
    await gh.rest.repos.createRelease({ owner, repo: "other", tag_name: "build-7" });
    expect((await gh.rest.repos.getLatestRelease({ owner, repo: "other" })).data.tag_name).toBe("build-7");
  });

  test("any tag git accepts is a release, unique by tag: release/1.0, pkg@1.2.3, and 1.0.0 beside v1.0.0", async () => {
    const gh = kit(srv.admin);
    const seeded = (await gh.rest.repos.getReleaseByTag({ owner, repo, tag: "v1.0.0" })).data;
    const ids = new Set([seeded.id]);
    for (const tag of ["release/1.0", "pkg@1.2.3", "1.0.0", "v1.0.0+build.7"]) {
      const made = await gh.rest.repos.createRelease({ owner, repo, tag_name: tag });
      ids.add(made.data.id);
      expect(made.status, tag).toBe(201);
      expect(made.data.tag_name).toBe(tag);
      // Found again by tag (octokit encodes the '/' of release/1.0 as %2F), its page too.
      expect((await gh.rest.repos.getReleaseByTag({ owner, repo, tag })).data.id).toBe(made.data.id);
      expect((await fetch(made.data.html_url)).status, made.data.html_url).toBe(200);
    }
    // Five releases; v1.0.0 (seeded) is still its own; a second 1.0.0 is GitHub's already_exists on tag_name.
    expect(ids.size).toBe(5);
    expect((await gh.rest.repos.getReleaseByTag({ owner, repo, tag: "v1.0.0" })).data).toMatchObject({ id: seeded.id, tag_name: "v1.0.0" });
    const dup = await errOf(gh.rest.repos.createRelease({ owner, repo, tag_name: "1.0.0" }));
    expect(dup.status).toBe(422);
    expect(dup.response.data.errors).toEqual([{ resource: "Release", code: "already_exists", field: "tag_name" }]);
    // Files of a tag with a '/' download at the encoded path the asset lists.
    const rel = (await gh.rest.repos.getReleaseByTag({ owner, repo, tag: "release/1.0" })).data;
    const up = await fetch(`${srv.url}/api/uploads/repos/${owner}/${repo}/releases/${rel.id}/assets?name=r.txt`, { method: "POST", body: "r", headers: auth(srv.admin) });
    const asset = (await up.json()) as { browser_download_url: string };
    expect(asset.browser_download_url).toEndWith("/releases/download/release%2F1.0/r.txt");
    expect(await (await fetch(asset.browser_download_url)).text()).toBe("r");
    // A tag git refuses is 422 naming the field the client sent.
    for (const [tag, why] of [["a..b", "'..'"], ["bad tag", "spaces"], ["-x", "'-'"], ["x.lock", ".lock"], ["x/", "'/'"], ["a@{1}", "@{"]] as const) {
      const e = await errOf(gh.rest.repos.createRelease({ owner, repo, tag_name: tag }));
      expect(e.status, tag).toBe(422);
      expect(e.response.data.message, tag).toStartWith("Validation Failed: tag_name: ");
      expect(e.response.data.message, tag).toContain(why);
      expect(e.response.data.errors, tag).toEqual([{ resource: "Release", code: "invalid", field: "tag_name" }]);
    }
    const renamed = await errOf(gh.rest.repos.updateRelease({ owner, repo, release_id: rel.id, tag_name: "x~1" }));
    expect(renamed.status).toBe(422);
    expect(renamed.response.data.errors).toEqual([{ resource: "Release", code: "invalid", field: "tag_name" }]);
  });
});

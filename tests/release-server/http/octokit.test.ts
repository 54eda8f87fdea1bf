// GitHub client compatibility: the real @octokit/rest, pointed at a spawned server with a custom
// baseUrl, exactly as a GitHub Enterprise user would configure it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Octokit } from "@octokit/rest";
import { sha256Hex } from "../../../src/shared/hash.ts";
import { OP, publish, seed, startServer, tempData, type Running } from "./server.ts";

let srv: Running;
let api: Octokit;
let anon: Octokit;
const owner = "acme";
const repo = "tool";
const bytesOf = (v: string) => `package ${v} `.repeat(50);

beforeAll(async () => {
  const t = tempData();
  await seed(t.data, async (s) => {
    const app = await s.createApp({ owner, slug: repo }, OP);
    for (const v of ["1.0.0", "2.0.0", "3.0.0", "4.0.0", "5.0.0"]) await publish(s, app, { version: v, notes: `notes ${v}` }, { [`pkg-${v}.zip`]: bytesOf(v) });
    await publish(s, app, { version: "6.0.0-beta.1", prerelease: true }, { "pkg-6.zip": "beta" });
    await publish(s, app, { version: "7.0.0", draft: true }, { "pkg-7.zip": "draft" });
  });
  srv = await startServer(t);
  const log = { debug() {}, info() {}, warn() {}, error() {} }; // expected 4xx would be logged as warnings
  api = new Octokit({ baseUrl: `${srv.url}/api/v3`, auth: srv.admin, log });
  anon = new Octokit({ baseUrl: `${srv.url}/api/v3`, log });
});
afterAll(() => srv[Symbol.asyncDispose]());

describe("octokit against the release server", () => {
  test("getLatestRelease: newest published non-prerelease, non-draft", async () => {
    const { data, status } = await anon.rest.repos.getLatestRelease({ owner, repo });
    expect(status).toBe(200);
    expect(data.tag_name).toBe("v5.0.0");
    expect(data.body).toBe("notes 5.0.0");
    expect(data.assets.map((a) => a.name)).toEqual(["pkg-5.0.0.zip"]);
    expect(data.html_url).toBe(`${srv.url}/${owner}/${repo}/releases/tag/v5.0.0`);
    expect(data.upload_url).toBe(`${srv.url}/api/uploads/repos/${owner}/${repo}/releases/${data.id}/assets{?name,label}`);
  });

  test("listReleases paginates with a Link header; drafts only for a token that may publish", async () => {
    const first = await anon.rest.repos.listReleases({ owner, repo, per_page: 2 });
    expect(first.data.map((r) => r.tag_name)).toEqual(["v6.0.0-beta.1", "v5.0.0"]);
    expect(first.headers.link).toContain('rel="next"');
    expect(first.headers.link).toContain(`${srv.url}/api/v3/repos/${owner}/${repo}/releases?per_page=2&page=3>; rel="last"`);
    const all = await anon.paginate(anon.rest.repos.listReleases, { owner, repo, per_page: 2 });
    expect(all.map((r) => r.tag_name)).toEqual(["v6.0.0-beta.1", "v5.0.0", "v4.0.0", "v3.0.0", "v2.0.0", "v1.0.0"]);
    const withDrafts = await api.paginate(api.rest.repos.listReleases, { owner, repo, per_page: 100 });
    expect(withDrafts.map((r) => r.tag_name)[0]).toBe("v7.0.0");
    expect(withDrafts).toHaveLength(7);
  });

  test("getReleaseByTag and the asset's bytes with Accept: application/octet-stream", async () => {
    const { data: rel } = await anon.rest.repos.getReleaseByTag({ owner, repo, tag: "v3.0.0" });
    const asset = rel.assets[0]!;
    expect(asset).toMatchObject({ name: "pkg-3.0.0.zip", state: "uploaded", size: bytesOf("3.0.0").length, digest: `sha256:${sha256Hex(bytesOf("3.0.0"))}` });
    const { data } = await anon.rest.repos.getReleaseAsset({ owner, repo, asset_id: asset.id, headers: { accept: "application/octet-stream" } });
    expect(new TextDecoder().decode(data as unknown as ArrayBuffer)).toBe(bytesOf("3.0.0"));
    const json = await anon.rest.repos.getReleaseAsset({ owner, repo, asset_id: asset.id });
    expect(json.data.browser_download_url).toBe(`${srv.url}/${owner}/${repo}/releases/download/v3.0.0/pkg-3.0.0.zip`);
    expect(await (await fetch(json.data.browser_download_url)).text()).toBe(bytesOf("3.0.0"));
  });

  test("createRelease, then uploadReleaseAsset with baseUrl per call and through upload_url", async () => {
    const { data: rel, status } = await api.rest.repos.createRelease({ owner, repo, tag_name: "v8.0.0", name: "Eight", body: "new" });
    expect(status).toBe(201);
    expect(rel).toMatchObject({ tag_name: "v8.0.0", name: "Eight", body: "new", draft: false, prerelease: false, assets: [] });

    const bin = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
    const up = await api.rest.repos.uploadReleaseAsset({
      owner,
      repo,
      release_id: rel.id,
      name: "tool-linux-x64.tar.gz",
      label: "Linux x64",
      data: bin as unknown as string,
      headers: { "content-type": "application/gzip" },
      baseUrl: `${srv.url}/api/uploads`,
    });
    expect(up.status).toBe(201);
    expect(up.data).toMatchObject({ name: "tool-linux-x64.tar.gz", label: "Linux x64", size: bin.length, content_type: "application/gzip", digest: `sha256:${sha256Hex(bin)}` });

    const viaTemplate = await api.request({ method: "POST", url: rel.upload_url, name: "notes.txt", data: "hello", headers: { "content-type": "text/plain" } });
    expect(viaTemplate.status).toBe(201);

    const { data: latest } = await anon.rest.repos.getLatestRelease({ owner, repo });
    expect(latest.tag_name).toBe("v8.0.0");
    expect(latest.assets.map((a) => a.name).sort()).toEqual(["notes.txt", "tool-linux-x64.tar.gz"]);
    const dl = await fetch(`${srv.url}/${owner}/${repo}/releases/latest/download/tool-linux-x64.tar.gz`);
    expect(new Uint8Array(await dl.arrayBuffer())).toEqual(bin);

    const dup = await api.request({ method: "POST", url: rel.upload_url, name: "notes.txt", data: "again", headers: { "content-type": "text/plain" } }).catch((e) => e);
    expect(dup.status).toBe(422);
    expect(dup.response.data.errors[0]).toMatchObject({ resource: "ReleaseAsset", code: "already_exists", field: "name" });
  });

  test("deleteReleaseAsset, and 404s that octokit reports as RequestError", async () => {
    const { data: rel } = await api.rest.repos.getReleaseByTag({ owner, repo, tag: "v8.0.0" });
    const notes = rel.assets.find((a) => a.name === "notes.txt")!;
    expect((await api.rest.repos.deleteReleaseAsset({ owner, repo, asset_id: notes.id })).status).toBe(204);
    const gone = await anon.rest.repos.getReleaseAsset({ owner, repo, asset_id: notes.id }).catch((e) => e);
    expect(gone.status).toBe(404);
    const unknownRepo = await anon.rest.repos.getLatestRelease({ owner, repo: "nope" }).catch((e) => e);
    expect(unknownRepo.status).toBe(404);
    expect(unknownRepo.response.data.message).toBe("no app acme/nope");
    const draftById = await anon.rest.repos.getReleaseByTag({ owner, repo, tag: "v7.0.0" }).catch((e) => e);
    expect(draftById.status).toBe(404);
  });

  test("write calls without a token are 401", async () => {
    const err = await anon.rest.repos.createRelease({ owner, repo, tag_name: "v9.0.0" }).catch((e) => e);
    expect(err.status).toBe(401);
  });

  test("users.getAuthenticated: the token's login (the API root's current_user_url); 401 without one", async () => {
    const root = (await api.request("GET /")).data as { current_user_url: string };
    expect(root.current_user_url).toBe(`${srv.url}/api/v3/user`);
    const me = await api.rest.users.getAuthenticated();
    const viewer = (await api.graphql<{ viewer: { login: string } }>("{ viewer { login } }")).viewer.login;
    expect(me.data).toMatchObject({ login: viewer, type: "User", site_admin: true });
    expect(viewer).toStartWith("admin");
    expect(me.headers["x-oauth-scopes"]).toBeDefined();
    expect(((await anon.rest.users.getAuthenticated().catch((e) => e)) as { status: number }).status).toBe(401);
  });
});

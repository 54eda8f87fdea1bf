// The GitHub CLI (Debian's gh 2.23) against the release server as a GitHub Enterprise host:
// https://releases.test reached through a CONNECT proxy and a loopback TLS listener whose
// certificate comes from the test's own CA (gh-harness.ts). gh races a REST tag lookup against a
// GraphQL draft lookup in every command that names a tag, so those run several times.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OP } from "./server.ts";
import { startGhServer, type GhServer } from "./gh-harness.ts";

setDefaultTimeout(30_000);

let s: GhServer;
const R = ["-R", "releases.test/acme/tool"];
let reader: string;
let beta: string;

beforeAll(async () => {
  s = await startGhServer();
  await s.service.createApp({ owner: "acme", slug: "tool" }, OP);
  reader = (await s.service.createToken({ name: "reader", actions: ["read"] }, OP)).raw;
  beta = (await s.service.createToken({ name: "ci-beta", actions: ["publish"], apps: ["acme/tool"], channels: ["beta"] }, OP)).raw;
  for (const [name, text] of [["f1.txt", "one\n"], ["f2.txt", "two\n"], ["f3.txt", "three\n"]]) writeFileSync(join(s.dir, name), text);
});
afterAll(() => s?.close());

async function ok(args: string[], opts: { token?: string } = {}): Promise<string> {
  const r = await s.gh(args, opts);
  if (r.code !== 0) throw new Error(`gh ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

describe("gh as a GitHub Enterprise client", () => {
  test("auth status reads the API root's X-OAuth-Scopes and the viewer's login", async () => {
    const r = await s.gh(["auth", "status"]);
    expect(r.code).toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toContain("Logged in to releases.test as admin");
    expect(out).toMatch(/Token scopes: repo/);
  });

  test("release create with files (create draft, upload, PATCH to publish), list, view", async () => {
    const url = await ok(["release", "create", "v1.0.0", "f1.txt", "f2.txt", "--notes", "first", "--title", "One", ...R]);
    expect(url.trim()).toBe("https://releases.test/acme/tool/releases/tag/v1.0.0");
    expect(s.requests.some((q) => q.method === "PATCH" && q.status === 200)).toBe(true);
    const rel = await s.service.getReleaseByTag(await s.service.getAppBySlug("acme", "tool"), "v1.0.0");
    expect(rel).toMatchObject({ draft: false, name: "One", notes: "first" });
    expect((await s.service.listArtifacts(rel)).map((a) => a.filename).sort()).toEqual(["f1.txt", "f2.txt"]); // gh uploads them in parallel

    await ok(["release", "create", "v2.0.0", "--draft", "--notes", "draft notes", ...R]);
    const list = await ok(["release", "list", ...R]);
    expect(list).toMatch(/^v2\.0\.0\tDraft\tv2\.0\.0\t/m);
    expect(list).toMatch(/^One\tLatest\tv1\.0\.0\t/m);
    for (let i = 0; i < 4; i++) {
      const view = await ok(["release", "view", "v1.0.0", ...R]);
      expect(view).toContain("asset:\tf1.txt");
      const draft = await ok(["release", "view", "v2.0.0", ...R]);
      expect(draft).toContain("draft:\ttrue");
    }
    // A token that may only read sees no draft, in the list or by tag.
    expect(await ok(["release", "list", ...R], { token: reader })).not.toContain("v2.0.0");
    const hidden = await s.gh(["release", "view", "v2.0.0", ...R], { token: reader });
    expect(hidden.code).not.toBe(0);
    expect(hidden.stderr).toContain("release not found");
  });

  test("upload, download, delete-asset, edit and delete, each tag lookup several times", async () => {
    for (let i = 0; i < 3; i++) {
      await ok(["release", "upload", "v2.0.0", "f3.txt", "--clobber", ...R]);
      await ok(["release", "download", "v1.0.0", "-p", "f2.txt", "-D", join(s.dir, `dl${i}`), ...R]);
      expect(readFileSync(join(s.dir, `dl${i}`, "f2.txt"), "utf8")).toBe("two\n");
    }
    await ok(["release", "download", "v2.0.0", "-p", "f3.txt", "-D", join(s.dir, "dl-draft"), ...R]);
    expect(readFileSync(join(s.dir, "dl-draft", "f3.txt"), "utf8")).toBe("three\n");
    await ok(["release", "delete-asset", "v1.0.0", "f2.txt", "-y", ...R]);
    expect(await ok(["release", "view", "v1.0.0", ...R])).not.toContain("f2.txt");
    await ok(["release", "edit", "v2.0.0", "--draft=false", "--title", "Two", "--notes", "edited", ...R]);
    const app = await s.service.getAppBySlug("acme", "tool");
    expect(await s.service.getReleaseByTag(app, "v2.0.0")).toMatchObject({ draft: false, name: "Two", notes: "edited" });
    expect(await ok(["release", "list", ...R])).toMatch(/^Two\tLatest\tv2\.0\.0\t/m);
    await ok(["release", "delete", "v1.0.0", "-y", ...R]);
    expect(s.service.getReleaseByTag(app, "v1.0.0")).rejects.toThrow();
    const missing = await s.gh(["release", "view", "v9.9.9", ...R]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("release not found");
  });

  test("a tag with a slash (tool/v5.0.0): create, view, upload, download, as gh and curl-style clients send it", async () => {
    const url = await ok(["release", "create", "tool/v5.0.0", "f1.txt", "--notes", "slash", ...R]);
    expect(url.trim()).toBe("https://releases.test/acme/tool/releases/tag/tool%2Fv5.0.0");
    for (let i = 0; i < 3; i++) expect(await ok(["release", "view", "tool/v5.0.0", ...R])).toContain("asset:\tf1.txt");
    await ok(["release", "upload", "tool/v5.0.0", "f2.txt", ...R]);
    await ok(["release", "download", "tool/v5.0.0", "-p", "f2.txt", "-D", join(s.dir, "dl-slash"), ...R]);
    expect(readFileSync(join(s.dir, "dl-slash", "f2.txt"), "utf8")).toBe("two\n");
    // The raw and the encoded spellings of the tag name the same release, as on GitHub.
    const tls = { tls: { ca: readFileSync(s.env.SSL_CERT_FILE!, "utf8") } };
    for (const tag of ["tool/v5.0.0", "tool%2Fv5.0.0"]) {
      const byTag = await fetch(`${s.direct}/api/v3/repos/acme/tool/releases/tags/${tag}`, { headers: { authorization: `token ${reader}` }, ...tls });
      expect(byTag.status).toBe(200);
      expect(((await byTag.json()) as { tag_name: string }).tag_name).toBe("tool/v5.0.0");
      const file = await fetch(`${s.direct}/acme/tool/releases/download/${tag}/f1.txt`, { headers: { authorization: `token ${reader}` }, ...tls });
      expect(file.status).toBe(200);
      expect(await file.text()).toBe("one\n");
      const page = await fetch(`${s.direct}/acme/tool/releases/tag/${tag}`, { headers: { authorization: `token ${reader}` }, ...tls });
      expect(page.status).toBe(200);
    }
    const missing = await fetch(`${s.direct}/api/v3/repos/acme/tool/releases/tags/tool/v5.0.0/x`, { headers: { authorization: `token ${reader}` }, ...tls });
    expect(missing.status).toBe(404);
    await ok(["release", "delete", "tool/v5.0.0", "-y", ...R]);
  });

  test("a channel-scoped token drafts for its channel with gh api, then gh sees and uploads to it", async () => {
    const out = await ok(["api", "repos/acme/tool/releases", "-f", "tag_name=v3.0.0-beta.1", "-F", "draft=true", "-f", "channel=beta"], { token: beta });
    expect(JSON.parse(out)).toMatchObject({ tag_name: "v3.0.0-beta.1", draft: true });
    await ok(["release", "upload", "v3.0.0-beta.1", "f1.txt", ...R], { token: beta });
    expect(await ok(["release", "view", "v3.0.0-beta.1", ...R], { token: beta })).toContain("asset:\tf1.txt");
    const denied = await s.gh(["api", "repos/acme/tool/releases", "-f", "tag_name=v3.0.0", "-f", "channel=stable"], { token: beta });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain("HTTP 403");
  });

  test("gh api: REST and GraphQL", async () => {
    expect(JSON.parse(await ok(["api", "repos/acme/tool/releases/latest"])).tag_name).toBe("v2.0.0");
    expect(JSON.parse(await ok(["api", "graphql", "-f", "query={ viewer { login } }"]))).toEqual({ data: { viewer: { login: "admin" } } });
    const refused = await s.gh(["api", "graphql", "-f", "query=mutation { deleteRelease(id: 1) { id } }"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toContain("mutation operations are not supported");
  });
});

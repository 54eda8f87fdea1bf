/**
 * Domain records → the JSON GitHub clients read (REST `release` and `release-asset` objects, as served
 * by GitHub Enterprise under `/api/v3`). URLs are absolute, built from the server's public base URL.
 */
import type { App, Artifact, Principal, Release } from "../domain/model.ts";

export interface GhAsset {
  url: string;
  browser_download_url: string;
  id: number;
  node_id: string;
  name: string;
  label: string | null;
  state: "uploaded";
  content_type: string;
  size: number;
  digest: string;
  download_count: number;
  created_at: string;
  updated_at: string;
  uploader: null;
}

export interface GhRelease {
  url: string;
  html_url: string;
  assets_url: string;
  upload_url: string;
  tarball_url: null;
  zipball_url: null;
  id: number;
  node_id: string;
  tag_name: string;
  target_commitish: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  immutable: boolean;
  created_at: string;
  published_at: string | null;
  author: { login: string; id: number; node_id: string; type: "Organization" };
  assets: GhAsset[];
}

/** Where this server is reachable; `base` has no trailing slash. */
export interface Urls {
  base: string;
}

const seg = encodeURIComponent;
const nodeId = (kind: string, id: number) => `${kind}_${Buffer.from(`${kind}:${id}`).toString("base64url")}`;

const repoApi = (u: Urls, app: App) => `${u.base}/api/v3/repos/${seg(app.owner)}/${seg(app.slug)}`;
const htmlBase = (u: Urls, app: App) => `${u.base}/${seg(app.owner)}/${seg(app.slug)}`;

export function toGhAsset(u: Urls, app: App, release: Release, a: Artifact): GhAsset {
  return {
    url: `${repoApi(u, app)}/releases/assets/${a.id}`,
    browser_download_url: `${htmlBase(u, app)}/releases/download/${seg(release.tag)}/${seg(a.filename)}`,
    id: a.id,
    node_id: nodeId("RA", a.id),
    name: a.filename,
    label: a.label,
    state: a.state,
    content_type: a.content_type,
    size: a.size_bytes,
    digest: `sha256:${a.sha256}`,
    download_count: a.download_count,
    created_at: a.created_at,
    updated_at: a.updated_at,
    uploader: null,
  };
}

export function toGhRelease(u: Urls, app: App, r: Release, artifacts: Artifact[]): GhRelease {
  return {
    url: `${repoApi(u, app)}/releases/${r.id}`,
    html_url: `${htmlBase(u, app)}/releases/tag/${seg(r.tag)}`,
    assets_url: `${repoApi(u, app)}/releases/${r.id}/assets`,
    upload_url: `${u.base}/api/uploads/repos/${seg(app.owner)}/${seg(app.slug)}/releases/${r.id}/assets{?name,label}`,
    tarball_url: null,
    zipball_url: null,
    id: r.id,
    node_id: nodeId("RE", r.id),
    tag_name: r.tag,
    target_commitish: "main",
    name: r.name,
    body: r.notes,
    draft: r.draft,
    prerelease: r.prerelease,
    immutable: false,
    created_at: r.created_at,
    published_at: r.published_at,
    author: { login: app.owner, id: app.id, node_id: nodeId("O", app.id), type: "Organization" },
    assets: artifacts.map((a) => toGhAsset(u, app, r, a)),
  };
}

/** RFC 8288 `Link` header for GitHub-style pagination; undefined when everything fits on one page. */
export function linkHeader(url: URL, page: number, perPage: number, total: number): string | undefined {
  const last = Math.max(1, Math.ceil(total / perPage));
  if (last === 1) return undefined;
  const at = (p: number) => {
    const u = new URL(url);
    u.searchParams.set("per_page", String(perPage));
    u.searchParams.set("page", String(p));
    return u.href;
  };
  const rels: [number, string][] = [];
  if (page < last) rels.push([page + 1, "next"], [last, "last"]);
  if (page > 1) rels.push([1, "first"], [page - 1, "prev"]);
  return rels.map(([p, rel]) => `<${at(p)}>; rel="${rel}"`).join(", ");
}

/**
 * GitHub's X-OAuth-Scopes for a caller's token, on every authenticated response (gh reads it from
 * the API root to check it may work with releases: it wants `repo`).
 */
export function oauthScopes(by: Principal): Record<string, string> {
  const actions = by.token ? by.token.scopes.actions : ["admin"];
  const writes = actions.some((a) => a !== "read");
  const scopes = ["repo", "read:org", ...(writes ? ["write:packages"] : []), ...(actions.includes("admin") ? ["admin:org"] : [])];
  return { "x-oauth-scopes": scopes.join(", "), "x-accepted-oauth-scopes": "repo" };
}

/**
 * The seed's own endpoints (per app under /apps/{owner}/{app}, and at the root for the default app),
 * the package browser pages, health probes and the OpenAPI document.
 */
import type { App } from "../../domain/model.ts";
import type { Ctx } from "../context.ts";
import { linkHeader } from "../github.ts";
import { openapi } from "../openapi.ts";
import { appsPage, releasePage as releaseHtml, releasesPage } from "../pages.ts";
import { newestWithAsset, notReady } from "../queries.ts";
import { HttpError, html, json } from "../respond.ts";
import type { Router } from "../router.ts";
import { created, ghRelease, latestJson, lookup, noContent, receiveUpload, releaseByTag, sendArtifact, type Handler } from "./shared.ts";

const appPrefix = (c: Ctx, app: App) => `${c.urls.base}/apps/${encodeURIComponent(app.owner)}/${encodeURIComponent(app.slug)}`;

const health: Handler = () => json({ status: "ok" });

const ready: Handler = (c) => {
  const why = notReady(c.service);
  return why ? json({ message: `not ready: ${why}` }, 503) : json({ status: "ready" });
};

const openapiDoc: Handler = () => json(openapi);

const apps: Handler = (c) => {
  const list = c.service.listApps().filter((a) => a.visibility === "public");
  if (c.wantsJson()) return json(list.map((a) => ({ owner: a.owner, slug: a.slug, name: a.display_name })));
  return html(appsPage(list.map((a) => ({ owner: a.owner, slug: a.slug, name: a.display_name, packagesUrl: `${appPrefix(c, a)}/packages` }))));
};

/** POST upload?name=&version=[&channel=&label=&digest=]: the release is created with its first file, atomically. */
const upload: Handler = async (c) => {
  const app = c.app();
  const q = c.url.searchParams;
  const version = q.get("version");
  if (!version) throw new HttpError(400, "the version query parameter is required (e.g. version=1.2.3)");
  const channel = q.get("channel") || null;
  // Read before any byte: a non-version is refused here, and "v1.2.3" finds release 1.2.3.
  const existing = c.service.findReleaseByVersion(app, version);
  const by = c.require("publish", { app, channel: existing?.channel ?? channel });
  const { plan, blob, filename } = await receiveUpload(c, q.get("name"), existing);
  const file = { filename, content_type: plan.contentType, label: q.get("label") || null };
  const { release, asset } = existing
    ? { release: existing, asset: c.service.addArtifact(existing, file, blob, by) }
    : (({ release, artifacts }) => ({ release, asset: artifacts[0]! }))(c.service.publishRelease(app, { version, channel }, [{ ...file, blob }], by));
  const out = ghRelease(c, app, release);
  return created({ release: out, asset: out.assets.find((a) => a.id === asset.id) }, out.url);
};

function assetByName(c: Ctx) {
  const app = c.app();
  const version = c.url.searchParams.get("version");
  const name = c.params.filename!;
  const drafts = c.canSeeDrafts(app);
  if (version) {
    const release = lookup(() => c.service.findReleaseByVersion(app, version), `no release ${version}`);
    if (!release || (release.draft && !drafts)) throw new HttpError(404, `no release ${version}`);
    return { app, release, artifact: c.service.findArtifactByName(release, name) };
  }
  const found = newestWithAsset(c.service, app, name, drafts);
  if (!found) throw new HttpError(404, `no release has an asset named ${name}`);
  return { app, ...found };
}

const download: Handler = (c) => sendArtifact(c, assetByName(c).artifact);

const deleteAsset: Handler = (c) => {
  const { app, release, artifact } = assetByName(c);
  c.service.deleteArtifact(artifact.id, c.require("delete", { app, channel: release.channel }));
  return noContent();
};

const packages: Handler = (c) => {
  const app = c.app();
  const paging = c.paging();
  const { items, total } = c.service.listReleases(app, { ...paging, drafts: c.canSeeDrafts(app) });
  const releases = items.map((r) => ghRelease(c, app, r));
  if (c.wantsJson()) {
    const link = linkHeader(c.publicRequestUrl, paging.page, paging.perPage, total);
    return json({ owner: app.owner, app: app.slug, total, releases }, 200, link ? { link } : {});
  }
  const at = (page: number) => `?page=${page}&per_page=${paging.perPage}`;
  const last = Math.ceil(total / paging.perPage);
  return html(releasesPage(app, releases, { prev: paging.page > 1 ? at(paging.page - 1) : undefined, next: paging.page < last ? at(paging.page + 1) : undefined }));
};

const releaseView: Handler = (c) => {
  const app = c.app();
  const release = ghRelease(c, app, releaseByTag(c, app, c.params.tag!));
  return c.wantsJson() ? json(release) : html(releaseHtml(app, release));
};

export function siteRoutes(r: Router<Handler>): void {
  r.add("GET", "/healthz", health).add("GET", "/readyz", ready).add("GET", "/openapi.json", openapiDoc).add("GET", "/apps", apps);
  for (const prefix of ["", "/apps/:owner/:app"]) {
    r.add("POST", `${prefix}/upload`, upload)
      .add("GET", `${prefix}/latest`, latestJson)
      .add("GET", `${prefix}/assets/:filename`, download)
      .add("DELETE", `${prefix}/assets/:filename`, deleteAsset)
      .add("GET", `${prefix}/packages`, packages);
  }
  r.add("GET", "/:owner/:app/releases", packages).add("GET", "/:owner/:app/releases/tag/:tag", releaseView);
}


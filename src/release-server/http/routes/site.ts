/**
 * The seed's own endpoints (per app under /apps/{owner}/{app}, and at the root for the default app),
 * the package browser pages, health probes and the OpenAPI document.
 */
import { clip } from "../../domain/errors.ts";
import type { App, Principal, Release } from "../../domain/model.ts";
import { appUrl, appView, releasesPageView, singleReleaseView } from "../browse.ts";
import type { Ctx } from "../context.ts";
import { linkHeader } from "../github.ts";
import { withSize } from "../log.ts";
import { openapi } from "../openapi.ts";
import { appPage, appsPage, errorPage, releasePage } from "../pages.ts";
import { newestWithAsset, notReady } from "../queries.ts";
import { HttpError, fromServiceError, html, isServiceError, json } from "../respond.ts";
import type { Router } from "../router.ts";
import { STYLESHEET, STYLESHEET_PATH, STYLESHEET_VERSION } from "../style.ts";
import { created, ghRelease, latestJson, lookup, noContent, receiveUpload, releaseByTag, sendArtifact, type Handler } from "./shared.ts";

/**
 * The pages' policy: nothing but the server's own stylesheet loads (no script, no inline style, no
 * image, no frame, no form target, no <base>). The stylesheet's URL is built from the public URL; when
 * that is another origin than the one the request reached (a proxy, a mirror), it is allowed by name.
 */
export const pageCsp = (c: Ctx): string => pageCspFor(c.urls.base, c.url);

/** The pages' CSP for a server whose public URL is `base`, answering the request for `url`. */
export function pageCspFor(base: string, url: URL): string {
  const origin = new URL(base).origin;
  const style = origin === url.origin ? "'self'" : `'self' ${origin}`;
  return `default-src 'none'; style-src ${style}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

/** Releases per HTML page unless ?per_page= says otherwise (the JSON default stays GitHub's 30). */
const HTML_PER_PAGE = 10;

/** An HTML page: the pages' CSP, and never shared between callers (drafts and private apps depend on the token). */
const page = (c: Ctx, text: string, status = 200): Response => pageResponse(c.urls.base, c.url, text, status);

/** `page` for a server whose public URL is `base`, answering the request for `url` (app.ts's 404 page has no Ctx). */
export function pageResponse(base: string, url: URL, text: string, status = 200): Response {
  const res = html(text, status);
  res.headers.set("content-security-policy", pageCspFor(base, url));
  res.headers.set("cache-control", "no-cache");
  res.headers.set("vary", "Accept, Authorization");
  res.headers.set("referrer-policy", "same-origin");
  return res;
}

/** Handlers that check a sent token themselves (pages: a bad token is an HTML 401 for a browser). */
export const checksTokenItself = new WeakSet<Handler>();

/**
 * A page handler whose failures a browser (Accept: text/html) sees as an HTML page with the same
 * status; API clients keep GitHub's JSON errors. Unexpected errors still go to the app's 500.
 */
const browsable = (h: Handler): Handler => {
  const wrapped: Handler = async (c) => {
    try {
      // A token that was sent is checked here (see app.ts), so a bad one is a 401 page for a browser.
      if (c.req.headers.has("authorization")) await c.principal();
      return await h(c);
    } catch (err) {
      const e = err instanceof HttpError ? err : isServiceError(err) ? fromServiceError(err) : undefined;
      if (!e || c.wantsJson() || !/text\/html/i.test(c.req.headers.get("accept") ?? "")) throw err;
      const res = page(c, errorPage(c.urls.base, e.status, e.message), e.status);
      for (const [k, v] of Object.entries(e.extra.headers ?? {})) res.headers.set(k, v);
      return res;
    }
  };
  checksTokenItself.add(wrapped);
  return wrapped;
};

function mayRead(c: Ctx, p: Principal, app: App): boolean {
  try {
    c.service.authorize(p, "read", { app });
    return true;
  } catch {
    return false;
  }
}

/** What of an app's releases the caller may see: drafts only those it could publish (all, or its channels'). */
async function visibility(c: Ctx, app: App) {
  const p = await c.principal();
  return { drafts: await c.draftScope(app), canSee: (r: Release) => c.service.canSee(p, r) };
}

const stylesheet: Handler = async (c) => {
  const body = new TextEncoder().encode(STYLESHEET);
  const current = c.url.searchParams.get("v") === STYLESHEET_VERSION;
  const res = new Response(body, {
    headers: {
      "content-type": "text/css; charset=utf-8",
      etag: `W/"${STYLESHEET_VERSION}"`,
      "cache-control": current ? "public, max-age=31536000, immutable" : "public, max-age=300",
    },
  });
  return withSize(res, body.length);
};

const health: Handler = () => json({ status: "ok" });

const ready: Handler = async (c) => {
  const why = await notReady(c.service);
  return why ? json({ message: `not ready: ${why}` }, 503) : json({ status: "ready" });
};

const openapiDoc: Handler = () => json(openapi);

/** The apps the caller may read (private ones only with a read token), each with its channels and latest release. */
const apps: Handler = browsable(async (c) => {
  const p = await c.principal();
  const list = (await c.service.listApps()).filter((a) => a.visibility === "public" || (p !== null && mayRead(c, p, a)));
  const views = await Promise.all(list.map(async (a) => appView(c.service, c.urls, a, await visibility(c, a))));
  // JSON carries what the page shows: the app's page, its releases, its latest release and channels.
  const link = (l: { tag: string; name: string; url: string }) => ({ tag_name: l.tag, name: l.name, html_url: l.url });
  if (c.wantsJson()) {
    return json(views.map((v) => ({
      owner: v.owner, slug: v.slug, name: v.name, private: v.private, html_url: v.url, release_count: v.releaseCount,
      latest: v.latest ? { ...link(v.latest), published_at: v.latest.publishedAt } : null,
      channels: v.channels.map((ch) => ({ name: ch.name, rollout_percent: ch.rollout, current: ch.current ? link(ch.current) : null, previous: ch.previous ? link(ch.previous) : null, updated_at: ch.updatedAt })),
    })));
  }
  return page(c, appsPage(c.urls.base, views));
});

/** POST upload?name=&version=[&channel=&label=&digest=]: the release is created with its first file, atomically. */
const upload: Handler = async (c) => {
  const app = await c.app();
  const q = c.url.searchParams;
  const version = c.queryText("version");
  if (!version) throw new HttpError(400, "the version query parameter is required (e.g. version=1.2.3)");
  const channel = c.queryText("channel") || null;
  const flag = q.get("prerelease");
  if (flag !== null && !["true", "false"].includes(flag)) throw new HttpError(400, `the prerelease query parameter must be true or false, not ${JSON.stringify(flag.slice(0, 40))}`);
  // Read before any byte: a non-version is refused here, and "v1.2.3" finds release 1.2.3. A release
  // the caller may not see (another channel's draft) is not there for it: the upload creates one,
  // which then meets the tag as GitHub's 422 already_exists (publishOrAdd) instead of a 403 naming
  // the draft's channel.
  const found = await c.service.findReleaseByVersion(app, version);
  const existing = found && (await c.service.canSee(await c.principal(), found)) ? found : undefined;
  const by = await c.require("publish", { app, channel: existing?.channel ?? channel });
  const { plan, blob, filename } = await receiveUpload(c, c.queryText("name"), existing);
  const file = { filename, content_type: plan.contentType, label: c.queryText("label") || null };
  const { release, asset } = existing
    ? { release: existing, asset: await c.service.addArtifact(existing, file, blob, by) }
    : (({ release, artifact }) => ({ release, asset: artifact }))(await c.service.publishOrAdd(app, { version, channel, prerelease: flag === null ? undefined : flag === "true" }, { ...file, blob }, by));
  const out = await ghRelease(c, app, release);
  return created({ release: out, asset: out.assets.find((a) => a.id === asset.id) }, out.url);
};

/**
 * The asset named by the seed's `/assets/{filename}[?version=]`: of that release, or of the newest
 * release that has one. Drafts follow the API's rule (`ReleaseService.draftScope`/`canSee`: a
 * channel-scoped token sees its channels' drafts).
 */
async function assetByName(c: Ctx) {
  const app = await c.app();
  const version = c.queryText("version");
  const name = c.params.filename!;
  if (version) {
    const missing = `no release ${clip(version)}`;
    const release = await lookup(() => c.service.findReleaseByVersion(app, version), missing);
    if (!release || !(await c.service.canSee(await c.principal(), release))) throw new HttpError(404, missing);
    return { app, release, artifact: await c.service.findArtifactByName(release, name) };
  }
  const found = await newestWithAsset(c.service, app, name, await c.draftScope(app));
  if (!found) throw new HttpError(404, `no release has an asset named ${clip(name)}`);
  return { app, ...found };
}

const download: Handler = async (c) => sendArtifact(c, await assetByName(c));

const deleteAsset: Handler = async (c) => {
  const { app, release, artifact } = await assetByName(c);
  await c.service.deleteArtifact(artifact.id, await c.require("delete", { app, channel: release.channel }));
  return noContent();
};

const packages: Handler = browsable(async (c) => {
  const app = await c.app();
  const paging = c.paging();
  const seen = await visibility(c, app);
  if (c.wantsJson()) {
    const { items, total } = await c.service.listReleases(app, { ...paging, drafts: seen.drafts });
    const releases = await Promise.all(items.map((r) => ghRelease(c, app, r)));
    const link = linkHeader(c.publicRequestUrl, paging.page, paging.perPage, total);
    return json({ owner: app.owner, app: app.slug, total, releases }, 200, link ? { link } : {});
  }
  const perPage = c.url.searchParams.get("per_page") ? paging.perPage : HTML_PER_PAGE;
  const { items, total } = await releasesPageView(c.service, c.urls, app, { page: paging.page, perPage, drafts: seen.drafts });
  const at = (n: number) => `?page=${n}${perPage === HTML_PER_PAGE ? "" : `&per_page=${perPage}`}`;
  return page(c, appPage(c.urls.base, await appView(c.service, c.urls, app, seen), items, { page: paging.page, perPage, total, at }));
});

const releaseView: Handler = browsable(async (c) => {
  const app = await c.app();
  const release = await releaseByTag(c, app, c.params.tag!);
  if (c.wantsJson()) return json(await ghRelease(c, app, release));
  const head = { owner: app.owner, slug: app.slug, name: app.display_name, url: appUrl(c.urls, app) };
  return page(c, releasePage(c.urls.base, head, await singleReleaseView(c.service, c.urls, app, release)));
});

/** The server's root: its list of apps (the package browser's first page, or its JSON). */
const root: Handler = async (c) => new Response(null, { status: 302, headers: { location: `${c.urls.base}/apps${c.url.search}` } });

export function siteRoutes(r: Router<Handler>): void {
  r.add("GET", "/", root);
  r.add("GET", "/healthz", health).add("GET", "/readyz", ready).add("GET", "/openapi.json", openapiDoc).add("GET", "/apps", apps);
  r.add("GET", STYLESHEET_PATH, stylesheet).add("GET", "/apps/:owner/:app", packages);
  for (const prefix of ["", "/apps/:owner/:app"]) {
    r.add("POST", `${prefix}/upload`, upload)
      .add("GET", `${prefix}/latest`, latestJson)
      .add("GET", `${prefix}/assets/:filename`, download)
      .add("DELETE", `${prefix}/assets/:filename`, deleteAsset)
      .add("GET", `${prefix}/packages`, packages);
  }
  r.add("GET", "/:owner/:app/releases", packages).add("GET", "/:owner/:app/releases/tag/:tag+", releaseView);
}


/**
 * The GitHub Enterprise-compatible surface: `/api/v3/repos/{owner}/{app}/releases...`, uploads at
 * `/api/uploads/...` (raw body, as uploads.github.com takes it) and downloads at GitHub's web paths.
 */
import * as v from "valibot";
import { readJsonAs } from "../body.ts";
import type { Ctx } from "../context.ts";
import { linkHeader, toGhAsset } from "../github.ts";
import { HttpError, json } from "../respond.ts";
import type { Router } from "../router.ts";
import { created, ghRelease, latestFor, latestJson, noContent, receiveUpload, releaseByTag, sendArtifact, type Handler } from "./shared.ts";

/** GitHub's create-release body; unknown fields (target_commitish, make_latest...) are ignored. */
const CreateReleaseBody = v.looseObject({
  tag_name: v.string("tag_name must be a string"),
  name: v.optional(v.nullable(v.string())),
  body: v.optional(v.nullable(v.string())),
  draft: v.optional(v.boolean()),
  prerelease: v.optional(v.boolean()),
  channel: v.optional(v.nullable(v.string())),
}, "tag_name is required"); // the message of a missing key (valibot's own quotes its internals)

/** GitHub's update-release body: every field optional; unknown fields (target_commitish, make_latest...) are ignored. */
const UpdateReleaseBody = v.looseObject({
  tag_name: v.optional(v.string()),
  name: v.optional(v.nullable(v.string())),
  body: v.optional(v.nullable(v.string())),
  draft: v.optional(v.boolean()),
  prerelease: v.optional(v.boolean()),
  channel: v.optional(v.nullable(v.string())),
});

/** GitHub's update-asset body (`state` is accepted and ignored: an asset here is always uploaded). */
const UpdateAssetBody = v.looseObject({
  name: v.optional(v.string()),
  label: v.optional(v.nullable(v.string())),
});

const MAX_JSON_BYTES = 1024 * 1024;

const listReleases: Handler = async (c) => {
  const app = await c.app();
  const paging = c.paging();
  const { items, total } = await c.service.listReleases(app, { ...paging, drafts: await c.draftScope(app) });
  const link = linkHeader(c.publicRequestUrl, paging.page, paging.perPage, total);
  return json(await Promise.all(items.map((r) => ghRelease(c, app, r))), 200, link ? { link } : {});
};

/**
 * The scope check waits for the body: a channel-scoped token may create a release only for one
 * of its channels, which the body names.
 */
const createRelease: Handler = async (c) => {
  const app = await c.app();
  await c.require("read", { app }); // 401 before reading a body from an anonymous caller
  const b = await readJsonAs(c, CreateReleaseBody, "Release", MAX_JSON_BYTES);
  const by = await c.require("publish", { app, channel: typeof b.channel === "string" ? b.channel : null });
  const release = await c.service.createRelease(
    app,
    { tag: b.tag_name, name: b.name ?? null, notes: b.body ?? null, draft: b.draft ?? false, prerelease: b.prerelease ?? false, channel: b.channel ?? null },
    by,
  );
  const out = await ghRelease(c, app, release);
  return created(out, out.url);
};

/** PATCH a release: GitHub's fields, plus our `channel`. `draft: false` publishes a draft. */
const updateRelease: Handler = async (c) => {
  const app = await c.app();
  const release = await c.visible(await c.service.getRelease(c.idParam("release_id")));
  const by = await c.require("publish", { app, channel: release.channel });
  const b = await readJsonAs(c, UpdateReleaseBody, "Release", MAX_JSON_BYTES);
  const updated = await c.service.updateRelease(release, { tag: b.tag_name, name: b.name, notes: b.body, draft: b.draft, prerelease: b.prerelease, channel: b.channel }, by);
  return json(await ghRelease(c, app, updated));
};

const byTag: Handler = async (c) => {
  const app = await c.app();
  return json(await ghRelease(c, app, await releaseByTag(c, app, c.params.tag!)));
};

const byId: Handler = async (c) => json(await ghRelease(c, await c.app(), await c.visible(await c.service.getRelease(c.idParam("release_id")))));

const deleteRelease: Handler = async (c) => {
  const app = await c.app();
  const release = await c.visible(await c.service.getRelease(c.idParam("release_id")));
  await c.service.deleteRelease(release, await c.require("delete", { app, channel: release.channel }));
  return noContent();
};

const listAssets: Handler = async (c) => {
  const app = await c.app();
  const release = await c.visible(await c.service.getRelease(c.idParam("release_id")));
  // Paged as GitHub pages it (per_page, default 30, at most 100; Link headers): a release's files
  // are few enough to slice in memory.
  const paging = c.paging();
  const all = await c.service.listArtifacts(release);
  const from = (paging.page - 1) * paging.perPage;
  const link = linkHeader(c.publicRequestUrl, paging.page, paging.perPage, all.length);
  return json(all.slice(from, from + paging.perPage).map((a) => toGhAsset(c.urls, app, release, a)), 200, link ? { link } : {});
};

/** The asset of this app with this id, if the caller may see its release. */
async function assetOf(c: Ctx) {
  const app = await c.app();
  const artifact = await c.service.getArtifact(c.idParam("asset_id"));
  const missing = `no artifact with id ${artifact.id}`; // what an id that does not exist gets
  if (artifact.app_id !== app.id) throw new HttpError(404, missing);
  return { app, artifact, release: await c.visible(await c.service.getRelease(artifact.release_id), missing) };
}

const getAsset: Handler = async (c) => {
  const { app, artifact, release } = await assetOf(c);
  if (/application\/octet-stream/i.test(c.req.headers.get("accept") ?? "")) return sendArtifact(c, { app, release, artifact });
  return json(toGhAsset(c.urls, app, release, artifact));
};

const updateAsset: Handler = async (c) => {
  const { app, artifact, release } = await assetOf(c);
  const by = await c.require("publish", { app, channel: release.channel });
  const b = await readJsonAs(c, UpdateAssetBody, "ReleaseAsset", MAX_JSON_BYTES);
  const updated = await c.service.updateArtifact(artifact.id, { filename: b.name, label: b.label }, by);
  return json(toGhAsset(c.urls, app, release, updated));
};

const deleteAsset: Handler = async (c) => {
  const { app, artifact, release } = await assetOf(c);
  await c.service.deleteArtifact(artifact.id, await c.require("delete", { app, channel: release.channel }));
  return noContent();
};

const uploadAsset: Handler = async (c) => {
  const app = await c.app();
  const release = await c.visible(await c.service.getRelease(c.idParam("release_id")));
  const by = await c.require("publish", { app, channel: release.channel });
  const { plan, blob, filename } = await receiveUpload(c, c.queryText("name"), release);
  const artifact = await c.service.addArtifact(release, { filename, content_type: plan.contentType, label: c.queryText("label") || null }, blob, by);
  const out = toGhAsset(c.urls, app, release, artifact);
  return created(out, out.url);
};

const downloadByTag: Handler = async (c) => {
  const app = await c.app();
  const release = await releaseByTag(c, app, c.params.tag!);
  return sendArtifact(c, { app, release, artifact: await c.service.findArtifactByName(release, c.params.asset!) });
};

const downloadLatest: Handler = async (c) => {
  const app = await c.app();
  const { release, headers } = await latestFor(c, app);
  return sendArtifact(c, { app, release, artifact: await c.service.findArtifactByName(release, c.params.asset!) }, headers);
};

export function apiRoutes(r: Router<Handler>): void {
  const repo = "/api/v3/repos/:owner/:app";
  r.add("GET", `${repo}/releases`, listReleases)
    .add("POST", `${repo}/releases`, createRelease)
    .add("GET", `${repo}/releases/latest`, latestJson)
    .add("GET", `${repo}/releases/tags/:tag+`, byTag)
    .add("GET", `${repo}/releases/:release_id`, byId)
    .add("PATCH", `${repo}/releases/:release_id`, updateRelease)
    .add("DELETE", `${repo}/releases/:release_id`, deleteRelease)
    .add("GET", `${repo}/releases/:release_id/assets`, listAssets)
    .add("GET", `${repo}/releases/assets/:asset_id`, getAsset)
    .add("PATCH", `${repo}/releases/assets/:asset_id`, updateAsset)
    .add("DELETE", `${repo}/releases/assets/:asset_id`, deleteAsset)
    .add("POST", "/api/uploads/repos/:owner/:app/releases/:release_id/assets", uploadAsset)
    .add("GET", "/:owner/:app/releases/download/:tag+/:asset", downloadByTag)
    .add("GET", "/:owner/:app/releases/latest/download/:asset", downloadLatest);
}

/** Pieces the GitHub API routes and the site routes both use. */
import { clip, ServiceError } from "../../domain/errors.ts";
import type { App, Artifact, Release } from "../../domain/model.ts";
import { FilenameSchema, parseInput } from "../../domain/validate.ts";
import type { StoredBlob } from "../../blobs/store.ts";
import type { Ctx } from "../context.ts";
import { blobDownload, serveBlob } from "../download.ts";
import { toGhRelease, type GhRelease } from "../github.ts";
import { HttpError, json } from "../respond.ts";
import { planUpload, type UploadPlan } from "../upload.ts";
import { assetNamed } from "../queries.ts";

export type Handler = (c: Ctx) => Response | Promise<Response>;

export const ghRelease = async (c: Ctx, app: App, r: Release): Promise<GhRelease> => toGhRelease(c.urls, app, r, await c.service.listArtifacts(r));

/** Runs a lookup keyed by part of the URL: a key that cannot exist (Invalid) is simply not found. */
export async function lookup<T>(find: () => T | Promise<T>, notFound = "Not Found"): Promise<T> {
  try {
    return await find();
  } catch (err) {
    if (err instanceof ServiceError && err.kind === "invalid") throw new HttpError(404, notFound);
    throw err;
  }
}

/** The release of `app` with this tag, if the caller may see it. */
export const releaseByTag = async (c: Ctx, app: App, tag: string): Promise<Release> => {
  const missing = `no release tagged ${clip(tag)} in ${app.owner}/${app.slug}`;
  return c.visible(await lookup(() => c.service.getReleaseByTag(app, tag), missing), missing);
};

/**
 * Sends the asset's blob from the blob store (ETag/Range/HEAD, or a redirect to a presigned URL; see
 * download.ts) and counts a download for full GETs. A private app's file or a draft's needed the
 * caller's token: serveBlob sends it `Cache-Control: private` (`authorized`). `headers` replace the
 * defaults, except `vary`, which is added to.
 */
export async function sendArtifact(c: Ctx, found: { app: App; release: Release; artifact: Artifact }, headers: Record<string, string> = {}): Promise<Response> {
  const a = found.artifact;
  const authorized = found.app.visibility === "private" || found.release.draft;
  const res = await serveBlob(c.req, blobDownload(c.service.blobs, a), { authorized });
  if (c.req.method === "GET" && (res.status === 200 || (res.status === 302 && !c.req.headers.has("range")))) c.service.countDownload(a.id);
  for (const [k, v] of Object.entries(headers)) {
    if (k === "vary") res.headers.append("vary", v);
    else res.headers.set(k, v);
  }
  return res;
}

/**
 * `latest` as the service resolves it; per-client when a channel's rollout is involved. Every
 * answer varies by the headers that choose it (a channel named in `X-Release-Channel`, an install
 * id), so a shared cache never hands the answer without a channel to a client that names one.
 */
export async function latestFor(c: Ctx, app: App): Promise<{ release: Release; headers: Record<string, string> }> {
  const opts = c.rolloutInputs();
  const { release } = await c.service.latestRelease(app, opts);
  const vary = "X-Release-Channel, X-Install-Id, X-User-Staging-Id";
  const headers: Record<string, string> = opts.channel ? { "cache-control": "private, max-age=60", vary } : { vary };
  return { release, headers };
}

export const latestJson: Handler = async (c) => {
  const app = await c.app();
  const { release, headers } = await latestFor(c, app);
  return json(await ghRelease(c, app, release), 200, headers);
};

/**
 * Checks everything about an upload that does not depend on its bytes BEFORE any byte is read
 * (scope, file name, `?label=`, Content-Type, the `?channel=` of a release it would create, a
 * duplicate name, the declared size and digest), then streams the body into the blob store.
 * Nothing is stored when a check fails. A form Content-Type (what `curl --data-binary` sends) is
 * the raw file, recorded as application/octet-stream.
 */
export async function receiveUpload(c: Ctx, name: string | null, existing?: Release): Promise<{ plan: UploadPlan; blob: StoredBlob; filename: string }> {
  if (name === null || name === "") throw new HttpError(400, "the name query parameter is required (the asset's file name)");
  const filename = parseInput(FilenameSchema, name, "asset name");
  if (existing && (await assetNamed(c.service, existing, filename))) {
    throw new HttpError(422, `release ${existing.tag} already has an asset named ${filename}`, { errors: [{ resource: "ReleaseAsset", code: "already_exists", field: "name" }] });
  }
  const planned = planUpload(c.req, c.url, c.service.config.uploads.max_bytes);
  const plan = /^application\/x-www-form-urlencoded\s*(;|$)/i.test(planned.contentType) ? { ...planned, contentType: "application/octet-stream" } : planned;
  const by = await c.require("read", { app: await c.app() });
  const label = c.queryText("label") || null;
  const target = existing ? { release: existing } : { channel: c.queryText("channel") || null };
  await c.service.checkUpload(await c.app(), target, { filename, label, content_type: plan.contentType }, by);
  const blob = await c.service.putBlob(plan.body, { expectedSha256: plan.expectedSha256 });
  return { plan, blob, filename };
}

export const created = (value: unknown, location?: string) => json(value, 201, location ? { location } : {});
export const noContent = () => new Response(null, { status: 204 });

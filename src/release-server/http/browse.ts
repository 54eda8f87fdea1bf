/**
 * The package browser's read model: what the HTML pages show about apps, channels, releases and
 * artifacts, gathered through ReleaseService's read methods (and, like queries.ts, its repositories
 * for the one read the service lacks: the release a first rollout falls back to). Nothing here
 * writes, and nothing here decides visibility: callers pass what the caller may see (`drafts`).
 * URLs come from github.ts, so a page links exactly where the JSON API points.
 */
import { ServiceError } from "../domain/errors.ts";
import type { App, Artifact, Channel, Release } from "../domain/model.ts";
import type { ReleaseService } from "../service.ts";
import { toGhRelease, type Urls } from "./github.ts";
import { renderNotes } from "./markdown.ts";

/**
 * How an app "ships an installer": its release has an asset with one of these names. The command
 * on the app page downloads it through `/releases/latest/download/<name>` (what GitHub-style
 * installers fetch), so it is offered when the app's latest release has the file; a release's
 * own page offers its versioned URL.
 */
export const INSTALLERS = { "install.sh": "sh", "install.ps1": "powershell" } as const;

export interface InstallCommand {
  shell: "sh" | "powershell";
  command: string;
}

export interface ReleaseLink {
  tag: string;
  name: string;
  url: string;
}

export interface AssetView {
  name: string;
  label: string | null;
  url: string;
  size: number;
  downloads: number;
  sha256: string;
  contentType: string;
  platform: Artifact["platform"];
  arch: string | null;
  format: string;
  /** Mach-O and PE: whether the file carries a code signature. */
  signed: boolean | null;
  status: Artifact["validation_status"];
  reason: string | null;
}

export interface ReleaseView extends ReleaseLink {
  id: number;
  draft: boolean;
  prerelease: boolean;
  latest: boolean;
  channel: string | null;
  createdAt: string;
  publishedAt: string | null;
  /** Channels whose current release this is, with their rollout. */
  currentOf: Array<{ channel: string; rollout: number }>;
  /** Sanitized HTML of the notes (empty when there are none). */
  notesHtml: string;
  assets: AssetView[];
  installers: InstallCommand[];
}

export interface ChannelView {
  name: string;
  /** Undefined when the channel points nowhere, or at a draft the caller may not see. */
  current?: ReleaseLink;
  rollout: number;
  /**
   * What clients outside the rollout get (rollout < 100), or the release a rollback returns to
   * (rollout 100).
   */
  previous?: ReleaseLink & { why: "previous" | "older" | "rollback" };
  updatedAt: string;
}

export interface AppView {
  owner: string;
  slug: string;
  name: string;
  private: boolean;
  /** The app's page (`/{owner}/{app}/releases`). */
  url: string;
  releaseCount: number;
  latest?: ReleaseLink & { publishedAt: string | null };
  channels: ChannelView[];
  installers: InstallCommand[];
}

const seg = encodeURIComponent;
export const appUrl = (u: Urls, app: Pick<App, "owner" | "slug">) => `${u.base}/${seg(app.owner)}/${seg(app.slug)}/releases`;
const releaseUrl = (u: Urls, app: App, r: Release) => `${appUrl(u, app)}/tag/${seg(r.tag)}`;
const link = (u: Urls, app: App, r: Release): ReleaseLink => ({ tag: r.tag, name: r.name || r.tag, url: releaseUrl(u, app, r) });

/** A POSIX shell word for `s`: as is when it holds only URL characters no shell treats specially. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9._~:/%@+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Where an installer should download from, passed to the shell that runs it: the app's download base
 * (`<server>/<owner>/<app>`, below which `releases/latest/download/` and `releases/download/<tag>/`
 * are), the release a release's page is for, and for a private app the token. An installer that
 * knows them (auditgraph's install.sh reads RELEASES_BASE_URL, RELEASES_VERSION and RELEASES_TOKEN
 * below its own settings) installs from this server; any other ignores them.
 */
export interface InstallFrom {
  base: string;
  /** A release's page: its tag (passed as RELEASES_TAG, a URL path segment) and version. */
  release?: { tag: string; version: string };
  privateApp: boolean;
}

/**
 * A PowerShell single-quoted string holding `s`. PowerShell reads four more characters as a single
 * quote besides `'`: U+2018 ‘, U+2019 ’, U+201A ‚ and U+201B ‛ (a tag holding ’ closed the string);
 * each of the five is escaped by doubling it, as `'` is.
 */
function psQuoted(s: string): string {
  return `'${s.replace(/['\u2018\u2019\u201a\u201b]/g, "$&$&")}'`;
}

function installCommand(name: keyof typeof INSTALLERS, url: string, from: InstallFrom): InstallCommand {
  if (INSTALLERS[name] === "sh") {
    const header = from.privateApp ? ` -H "Authorization: Bearer $RELEASES_TOKEN"` : "";
    const env = [
      `RELEASES_BASE_URL=${shellWord(from.base)}`,
      ...(from.release ? [`RELEASES_VERSION=${shellWord(from.release.version)}`, `RELEASES_TAG=${shellWord(seg(from.release.tag))}`] : []),
      ...(from.privateApp ? [`RELEASES_TOKEN="$RELEASES_TOKEN"`] : []),
    ];
    return { shell: "sh", command: `curl -fsSL${header} ${shellWord(url)} | ${env.join(" ")} sh` };
  }
  const header = from.privateApp ? ` -Headers @{Authorization = "Bearer $env:RELEASES_TOKEN"}` : "";
  // Variables set in a PowerShell session stay: each command sets (or clears) all three.
  const set = (name: string, value: string | undefined) => `$env:${name}=${value === undefined ? "$null" : psQuoted(value)}; `;
  const env = set("RELEASES_BASE_URL", from.base) + set("RELEASES_VERSION", from.release?.version) + set("RELEASES_TAG", from.release && seg(from.release.tag));
  return { shell: "powershell", command: `${env}irm${header} ${psQuoted(url)} | iex` };
}

function installers(artifacts: Artifact[], urlOf: (name: string) => string, from: InstallFrom): InstallCommand[] {
  const names = new Set(artifacts.map((a) => a.filename));
  return (Object.keys(INSTALLERS) as Array<keyof typeof INSTALLERS>).filter((n) => names.has(n)).map((n) => installCommand(n, urlOf(n), from));
}

/** The app's download base: what an installer or `auditgraph upgrade` takes as its base URL. */
const downloadBase = (u: Urls, app: Pick<App, "owner" | "slug">) => `${u.base}/${seg(app.owner)}/${seg(app.slug)}`;

function assetView(a: Artifact, url: string): AssetView {
  const m = a.metadata;
  return {
    name: a.filename,
    label: a.label,
    url,
    size: a.size_bytes,
    downloads: a.download_count,
    sha256: a.sha256,
    contentType: a.content_type,
    platform: a.platform,
    arch: typeof m.arch === "string" ? m.arch : null,
    format: m.kind,
    signed: (m.kind === "macho" || m.kind === "pe") && typeof m.signed === "boolean" ? m.signed : null,
    status: a.validation_status,
    reason: a.validation_reason,
  };
}

/** The app's latest release as `/releases/latest` serves it, or undefined when it has none. */
async function latestOf(s: ReleaseService, app: App): Promise<Release | undefined> {
  try {
    return (await s.latestRelease(app)).release;
  } catch (err) {
    if (err instanceof ServiceError && err.kind === "not_found") return undefined;
    throw err;
  }
}

/** What each channel serves; a release the caller may not see (a draft) is left out. */
async function channelViews(s: ReleaseService, u: Urls, app: App, channels: Channel[], canSee: (r: Release) => Promise<boolean>): Promise<ChannelView[]> {
  const shown = async (id: number | null) => {
    const r = id === null ? undefined : await s.repos.releases.get(id);
    return r && (await canSee(r)) ? r : undefined;
  };
  const views: ChannelView[] = [];
  for (const ch of channels) {
    const current = await shown(ch.current_release_id);
    let previous: ChannelView["previous"];
    const prev = await shown(ch.previous_release_id);
    if (ch.rollout_percent >= 100) {
      if (prev) previous = { ...link(u, app, prev), why: "rollback" };
    } else if (prev) {
      previous = { ...link(u, app, prev), why: "previous" };
    } else if (current) {
      // A first rollout: clients outside it get the app's newest published release older than the
      // candidate (ReleaseService.latestRelease), or the candidate when there is none.
      const older = await s.core.firstRolloutFallback(app.id, ch, current);
      if (older) previous = { ...link(u, app, older), why: "older" };
    }
    views.push({ name: ch.name, current: current && link(u, app, current), rollout: ch.rollout_percent, previous, updatedAt: ch.updated_at });
  }
  return views;
}

/** Which drafts a list includes, as ReleaseService.listReleases takes it. */
type Drafts = NonNullable<Parameters<ReleaseService["listReleases"]>[1]["drafts"]>;

export interface BrowseOptions {
  /** Whether the caller may see this release (drafts only for those who could publish them). */
  canSee: (r: Release) => Promise<boolean>;
}

/** The summary of an app: the /apps index and the head of the app's page. */
export async function appView(s: ReleaseService, u: Urls, app: App, opts: BrowseOptions & { drafts: Drafts }): Promise<AppView> {
  const latest = await latestOf(s, app);
  const latestArtifacts = latest ? await s.listArtifacts(latest) : [];
  const base = `${u.base}/${seg(app.owner)}/${seg(app.slug)}/releases/latest/download/`;
  return {
    owner: app.owner,
    slug: app.slug,
    name: app.display_name,
    private: app.visibility === "private",
    url: appUrl(u, app),
    releaseCount: (await s.listReleases(app, { page: 1, perPage: 1, drafts: opts.drafts })).total,
    latest: latest && { ...link(u, app, latest), publishedAt: latest.published_at },
    channels: await channelViews(s, u, app, await s.listChannels(app), opts.canSee),
    installers: installers(latestArtifacts, (n) => base + seg(n), { base: downloadBase(u, app), privateApp: app.visibility === "private" }),
  };
}

/** One release with its artifacts, what detection found in them, its notes rendered, its channels. */
export async function releaseView(s: ReleaseService, u: Urls, app: App, r: Release, ctx: { latestId?: number; channels: Channel[]; notesHeading?: number }): Promise<ReleaseView> {
  const artifacts = await s.listArtifacts(r);
  const gh = toGhRelease(u, app, r, artifacts);
  const urlOf = new Map(gh.assets.map((a) => [a.name, a.browser_download_url]));
  return {
    ...link(u, app, r),
    id: r.id,
    draft: r.draft,
    prerelease: r.prerelease,
    latest: r.id === ctx.latestId,
    channel: r.channel,
    createdAt: r.created_at,
    publishedAt: r.published_at,
    currentOf: ctx.channels.filter((c) => c.current_release_id === r.id).map((c) => ({ channel: c.name, rollout: c.rollout_percent })),
    notesHtml: r.notes ? renderNotes(r.notes, ctx.notesHeading) : "",
    assets: artifacts.map((a) => assetView(a, urlOf.get(a.filename)!)),
    installers: installers(artifacts, (n) => urlOf.get(n)!, { base: downloadBase(u, app), release: { tag: r.tag, version: r.version }, privateApp: app.visibility === "private" }),
  };
}

/** A page of the app's releases (newest first), each as `releaseView`. */
export async function releasesPageView(
  s: ReleaseService,
  u: Urls,
  app: App,
  paging: { page: number; perPage: number; drafts: Drafts },
): Promise<{ items: ReleaseView[]; total: number }> {
  const { items, total } = await s.listReleases(app, paging);
  const channels = await s.listChannels(app);
  const latestId = (await latestOf(s, app))?.id;
  const views: ReleaseView[] = [];
  for (const r of items) views.push(await releaseView(s, u, app, r, { latestId, channels, notesHeading: 4 }));
  return { items: views, total };
}

/** The release page's extras: the channels (for badges) and which release is the latest. */
export async function singleReleaseView(s: ReleaseService, u: Urls, app: App, r: Release): Promise<ReleaseView> {
  return releaseView(s, u, app, r, { latestId: (await latestOf(s, app))?.id, channels: await s.listChannels(app), notesHeading: 2 });
}

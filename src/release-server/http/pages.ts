/**
 * The package browser: server-rendered HTML from browse.ts's views. No script anywhere (the
 * Content-Security-Policy forbids it); one stylesheet served by the server (style.ts). Every value
 * that comes from a user, a file or the request goes through `esc`; release notes arrive already
 * sanitized by markdown.ts.
 */
import { VERSION } from "../../shared/build-info.ts";
import type { Platform } from "../domain/model.ts";
import type { AppView, AssetView, ChannelView, InstallCommand, ReleaseLink, ReleaseView } from "./browse.ts";
import { esc } from "./escape.ts";
import { STYLESHEET_PATH, STYLESHEET_VERSION } from "./style.ts";

export { esc };

export function humanSize(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** "2026-11-28T22:47:16Z" → a <time> reading "2026-11-28 22:47 UTC". */
function when(iso: string | null | undefined): string {
  if (!iso) return "";
  const text = iso.replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, " UTC");
  return `<time datetime="${esc(iso)}">${esc(text)}</time>`;
}

const PLATFORMS: Record<Platform, string> = { ios: "iOS", android_apk: "Android", macos: "macOS", linux: "Linux", windows: "Windows" };
const FORMATS: Record<string, string> = {
  elf: "ELF executable",
  macho: "Mach-O executable",
  pe: "PE (Windows executable)",
  apk: "Android APK",
  ipa: "iOS IPA",
  zip: "zip",
  tar: "tar",
  "tar.gz": "tar.gz",
  gzip: "gzip",
  xz: "xz",
  zstd: "zstd",
  dmg: "DMG disk image",
  msi: "MSI installer",
  deb: "Debian package",
  rpm: "RPM package",
  pkg: "macOS installer package",
  unknown: "not recognised",
};

const percent = (n: number) => `${Number.isInteger(n) ? n : n.toFixed(2).replace(/0$/, "")}%`;

interface Crumb {
  label: string;
  url?: string;
}

function layout(base: string, title: string, crumbs: Crumb[], body: string): string {
  const nav = crumbs
    .map((c, i) => `<li>${c.url && i < crumbs.length - 1 ? `<a href="${esc(c.url)}">${esc(c.label)}</a>` : `<span${i === crumbs.length - 1 ? ' aria-current="page"' : ""}>${esc(c.label)}</span>`}</li>`)
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title>
<link rel="stylesheet" href="${esc(`${base}${STYLESHEET_PATH}?v=${STYLESHEET_VERSION}`)}">
</head>
<body>
<header class="site"><nav aria-label="Breadcrumb"><ol>${nav}</ol></nav></header>
<main>
${body}
</main>
<footer class="site">release-server ${esc(VERSION)} · <a href="${esc(base)}/openapi.json">API description (OpenAPI)</a></footer>
</body></html>
`;
}

const home = (base: string): Crumb => ({ label: "Apps", url: `${base}/apps` });
const appCrumb = (app: Pick<AppView, "owner" | "slug" | "url">): Crumb => ({ label: `${app.owner}/${app.slug}`, url: app.url });

const badge = (kind: string, text = kind) => ` <span class="badge ${esc(kind)}">${esc(text)}</span>`;

function releaseBadges(r: ReleaseView): string {
  return [
    r.latest ? badge("latest") : "",
    r.draft ? badge("draft") : "",
    r.prerelease ? badge("prerelease") : "",
    ...r.currentOf.map((c) => badge("channel", c.rollout < 100 ? `${c.channel} · ${percent(c.rollout)}` : c.channel)),
  ].join("");
}

function installSection(installers: InstallCommand[], headingLevel: number, what: string): string {
  if (!installers.length) return "";
  const h = `h${headingLevel}`;
  const items = installers.map((i) =>
    `<p>${i.shell === "sh" ? "Linux and macOS (sh):" : "Windows (PowerShell):"}</p>\n<pre><code>${esc(i.command)}</code></pre>`,
  );
  return `<section class="install" aria-labelledby="install"><${h} id="install">Install</${h}>
<p class="muted">${esc(what)}</p>
${items.join("\n")}</section>`;
}

function statusCell(a: AssetView): string {
  if (a.status === "valid") return `<span class="status valid">valid</span>`;
  if (a.status === "invalid") return `<span class="status invalid">invalid</span> ${esc(a.reason ?? "")}`;
  return `<span class="status unchecked">unchecked</span> <span class="muted">no platform claimed or inferred</span>`;
}

function formatCell(a: AssetView): string {
  const signed = a.signed === null ? "" : a.signed ? ", code-signed" : ", not code-signed";
  return `${esc(FORMATS[a.format] ?? a.format)}${esc(signed)}`;
}

/**
 * A table in a region that scrolls sideways on a narrow screen (the page itself never does); the
 * region can take the keyboard focus, so it can be scrolled without a mouse.
 */
const scrollable = (label: string, table: string, kind = "") =>
  `<div class="table${kind ? ` ${kind}` : ""}" role="region" aria-label="${esc(label)}" tabindex="0">${table}</div>`;

function assetsTable(r: ReleaseView, withDigest: boolean): string {
  if (!r.assets.length) return `<p class="muted">No files.</p>`;
  const rows = r.assets.map(
    (a) => `<tr><td><a href="${esc(a.url)}">${esc(a.name)}</a>${a.label ? `<br><span class="muted">${esc(a.label)}</span>` : ""}</td>
<td data-label="Platform">${a.platform ? esc(PLATFORMS[a.platform] ?? a.platform) : `<span class="muted">any</span>`}</td>
<td data-label="Arch">${a.arch ? esc(a.arch) : `<span class="muted">—</span>`}</td>
<td data-label="Format">${formatCell(a)}</td>
<td data-label="Validation">${statusCell(a)}</td>
<td class="num" data-label="Size">${esc(humanSize(a.size))}</td>
<td class="num" data-label="Downloads">${esc(a.downloads.toLocaleString("en-US"))}</td>${withDigest ? `\n<td data-label="Digest"><code class="digest">sha256:${esc(a.sha256)}</code></td>` : ""}</tr>`,
  );
  // On a narrow screen each file is a block of labelled lines instead of a row (style.ts).
  return scrollable(`Files of ${r.tag}`, `<table>
<caption class="vh">Files of ${esc(r.tag)}</caption>
<thead><tr><th scope="col">File</th><th scope="col">Platform</th><th scope="col">Arch</th><th scope="col">Format</th><th scope="col">Validation</th><th scope="col" class="num">Size</th><th scope="col" class="num">Downloads</th>${withDigest ? `<th scope="col">Digest</th>` : ""}</tr></thead>
<tbody>${rows.join("\n")}</tbody>
</table>`, "files");
}

function releaseMeta(r: ReleaseView): string {
  const parts = [`<code>${esc(r.tag)}</code>`, r.publishedAt ? `published ${when(r.publishedAt)}` : `draft created ${when(r.createdAt)}`];
  if (r.channel) parts.push(`for channel ${esc(r.channel)}`);
  return `<p class="meta">${parts.join(" · ")}</p>`;
}

/** A release inside the app's list (h3, notes from h4). */
function releaseSummary(r: ReleaseView): string {
  return `<section class="release" aria-labelledby="release-${r.id}">
<h3 id="release-${r.id}"><a href="${esc(r.url)}">${esc(r.name)}</a>${releaseBadges(r)}</h3>
${releaseMeta(r)}
${r.notesHtml ? `<div class="notes">${r.notesHtml}</div>\n` : ""}${assetsTable(r, false)}
</section>`;
}

function releaseLink(l: ReleaseLink | undefined): string {
  return l ? `<a href="${esc(l.url)}">${esc(l.name)}</a>${l.name !== l.tag ? ` <code>${esc(l.tag)}</code>` : ""}` : `<span class="muted">none</span>`;
}

function previousCell(ch: ChannelView): string {
  if (!ch.current) return `<span class="muted">—</span>`;
  if (ch.rollout >= 100) return ch.previous ? `${releaseLink(ch.previous)} <span class="muted">(rollback target)</span>` : `<span class="muted">none</span>`;
  const others = percent(100 - ch.rollout);
  if (!ch.previous) return `<span class="muted">none: everyone gets the current release</span>`;
  const why = ch.previous.why === "older" ? "the app's newest older release" : "the channel's previous release";
  return `${releaseLink(ch.previous)} <span class="muted">(${esc(why)}, for the other ${esc(others)})</span>`;
}

function channelsSection(app: AppView): string {
  const body = app.channels.length
    ? scrollable(`Channels of ${app.owner}/${app.slug}`, `<table>
<caption class="vh">Channels of ${esc(app.owner)}/${esc(app.slug)}</caption>
<thead><tr><th scope="col">Channel</th><th scope="col">Current release</th><th scope="col" class="num">Rollout</th><th scope="col">Falls back to</th><th scope="col">Updated</th></tr></thead>
<tbody>${app.channels
        .map(
          (ch) => `<tr><th scope="row">${esc(ch.name)}</th><td>${releaseLink(ch.current)}</td><td class="num">${ch.current ? esc(percent(ch.rollout)) : ""}</td><td>${previousCell(ch)}</td><td>${when(ch.updatedAt)}</td></tr>`,
        )
        .join("\n")}</tbody>
</table>`)
    : `<p class="muted">No channels: clients asking for the latest release get ${app.latest ? releaseLink(app.latest) : "nothing yet"}.</p>`;
  return `<section aria-labelledby="channels"><h2 id="channels">Channels</h2>\n${body}\n</section>`;
}

function appMeta(app: AppView): string {
  const parts = [`<code>${esc(app.owner)}/${esc(app.slug)}</code>`, `${app.releaseCount} release${app.releaseCount === 1 ? "" : "s"}`];
  if (app.latest) parts.push(`latest ${releaseLink(app.latest)}${app.latest.publishedAt ? ` (${when(app.latest.publishedAt)})` : ""}`);
  return `<p class="meta">${parts.join(" · ")}</p>`;
}

export function appsPage(base: string, apps: AppView[]): string {
  const items = apps.map((a) => {
    const channels = a.channels.filter((c) => c.current);
    const summary = channels.length
      ? `<p>Channels: ${channels.map((c) => `${esc(c.name)} → ${releaseLink(c.current)}${c.rollout < 100 ? ` at ${esc(percent(c.rollout))}` : ""}`).join("; ")}</p>`
      : "";
    return `<li><h2><a href="${esc(a.url)}">${esc(a.name)}</a>${a.private ? badge("private") : ""}</h2>
${appMeta(a)}
${summary}</li>`;
  });
  const body = items.length ? `<ul class="apps">\n${items.join("\n")}\n</ul>` : `<p>No apps yet.</p>`;
  return layout(base, "Apps", [{ label: "Apps" }], `<h1>Apps</h1>\n${body}`);
}

export interface PageNav {
  page: number;
  perPage: number;
  total: number;
  /** Builds the URL of another page. */
  at(page: number): string;
}

function pagination(nav: PageNav): string {
  const last = Math.max(1, Math.ceil(nav.total / nav.perPage));
  if (last === 1 && nav.page === 1) return "";
  const parts: string[] = [];
  if (nav.page > 1) parts.push(`<a rel="prev" href="${esc(nav.at(Math.min(nav.page - 1, last)))}">← Newer</a>`);
  parts.push(`<span>Page ${nav.page} of ${last}</span>`);
  if (nav.page < last) parts.push(`<a rel="next" href="${esc(nav.at(nav.page + 1))}">Older →</a>`);
  return `<nav class="pages" aria-label="Pages of releases">${parts.join(" ")}</nav>`;
}

/** The app's page: install commands, channels, and one page of releases. */
export function appPage(base: string, app: AppView, releases: ReleaseView[], nav: PageNav): string {
  const last = Math.max(1, Math.ceil(nav.total / nav.perPage));
  const list = releases.length
    ? releases.map(releaseSummary).join("\n")
    : nav.total === 0
      ? `<p>No releases yet.</p>`
      : `<p>Page ${nav.page} is past the last page. <a href="${esc(nav.at(last))}">Go to page ${last}</a>.</p>`;
  const body = `<h1>${esc(app.name)}${app.private ? badge("private") : ""}</h1>
${appMeta(app)}
${installSection(app.installers, 2, "The installer of the latest release:")}
${channelsSection(app)}
<section aria-labelledby="releases"><h2 id="releases">Releases</h2>
${list}
${pagination(nav)}
</section>`;
  return layout(base, `${app.name} (${app.owner}/${app.slug})`, [home(base), appCrumb(app)], body);
}

/** One release: its notes, install command, files with their digests. */
export function releasePage(base: string, app: Pick<AppView, "owner" | "slug" | "name" | "url">, r: ReleaseView): string {
  const body = `<section class="release" aria-labelledby="release-${r.id}">
<h1 id="release-${r.id}">${esc(r.name)}${releaseBadges(r)}</h1>
${releaseMeta(r)}
${r.notesHtml ? `<div class="notes">${r.notesHtml}</div>` : `<p class="muted">No release notes.</p>`}
${installSection(r.installers, 2, `The installer of ${r.tag}:`)}
<h2>Files</h2>
${assetsTable(r, true)}
</section>`;
  return layout(base, `${r.name} · ${app.owner}/${app.slug}`, [home(base), appCrumb(app), { label: r.tag }], body);
}

/** An error, for a browser (API clients get the JSON error). */
export function errorPage(base: string, status: number, message: string): string {
  return layout(base, `${status} · release-server`, [home(base), { label: String(status) }], `<h1>${status}</h1>\n<p>${esc(message)}</p>`);
}

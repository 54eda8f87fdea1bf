/**
 * The package browser: small server-rendered HTML pages built from the same GitHub-shaped objects the
 * JSON API returns. Every user-supplied string goes through `esc`; notes are shown as text, not markdown.
 */
import type { GhAsset, GhRelease } from "./github.ts";

export function esc(s: string | null | undefined): string {
  return (s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function humanSize(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

const STYLE = `body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{padding:.3rem .5rem;border-bottom:1px solid #ddd;text-align:left}
code{font-size:12px;word-break:break-all}.tag{font-size:12px;padding:0 .4rem;border:1px solid #999;border-radius:.6rem}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5rem}`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body>${body}</body></html>
`;
}

export interface AppSummary {
  owner: string;
  slug: string;
  name: string;
  packagesUrl: string;
}

export function appsPage(apps: AppSummary[]): string {
  const rows = apps.map((a) => `<li><a href="${esc(a.packagesUrl)}">${esc(a.owner)}/${esc(a.slug)}</a> ${esc(a.name)}</li>`);
  return page("Packages", `<h1>Packages</h1>${rows.length ? `<ul>${rows.join("")}</ul>` : "<p>No apps yet.</p>"}`);
}

function assetRows(assets: GhAsset[]): string {
  if (!assets.length) return "<p>No assets.</p>";
  const rows = assets.map(
    (a) => `<tr><td><a href="${esc(a.browser_download_url)}">${esc(a.name)}</a>${a.label ? ` <small>${esc(a.label)}</small>` : ""}</td>
<td>${humanSize(a.size)}</td><td>${a.download_count}</td><td><code>${esc(a.digest)}</code></td></tr>`,
  );
  return `<table><tr><th>Asset</th><th>Size</th><th>Downloads</th><th>Digest</th></tr>${rows.join("")}</table>`;
}

function releaseSection(r: GhRelease, heading: "h1" | "h2"): string {
  const tags = [r.draft ? "draft" : "", r.prerelease ? "prerelease" : ""].filter(Boolean).map((t) => ` <span class="tag">${t}</span>`);
  return `<section><${heading}><a href="${esc(r.html_url)}">${esc(r.name || r.tag_name)}</a>${tags.join("")}</${heading}>
<p><code>${esc(r.tag_name)}</code> · published ${esc(r.published_at ?? "not yet")}</p>
${r.body ? `<pre>${esc(r.body)}</pre>` : ""}${assetRows(r.assets)}</section>`;
}

export function releasesPage(app: { owner: string; slug: string }, releases: GhRelease[], nav: { prev?: string; next?: string }): string {
  const title = `${app.owner}/${app.slug}`;
  const links = [nav.prev ? `<a href="${esc(nav.prev)}">newer</a>` : "", nav.next ? `<a href="${esc(nav.next)}">older</a>` : ""].filter(Boolean);
  const body = releases.length ? releases.map((r) => releaseSection(r, "h2")).join("\n") : "<p>No releases yet.</p>";
  return page(title, `<h1>${esc(title)}</h1>${body}${links.length ? `<nav>${links.join(" · ")}</nav>` : ""}`);
}

export function releasePage(app: { owner: string; slug: string }, release: GhRelease): string {
  return page(`${app.owner}/${app.slug} ${release.tag_name}`, `<p><a href="../../releases">${esc(app.owner)}/${esc(app.slug)}</a></p>${releaseSection(release, "h1")}`);
}

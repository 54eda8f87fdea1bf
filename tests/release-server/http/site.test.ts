// The package browser over real HTTP: what the apps index, an app's page and a release's page show
// (channels and rollout, detected formats and validation, sizes, downloads, install commands),
// that notes are sanitized markdown and every value is escaped (checked on the markup's structure:
// only known tags and attributes, only safe link targets), the pages' CSP and stylesheet, who sees
// drafts and private apps, and paging at and past its bounds (also for tags that are not versions).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Ctx, type HttpDeps } from "../../../src/release-server/http/context.ts";
import { renderNotes, safeHref } from "../../../src/release-server/http/markdown.ts";
import { pageCsp } from "../../../src/release-server/http/routes/site.ts";
import { humanSize } from "../../../src/release-server/http/pages.ts";
import { BIG, seedSite, type Seeded } from "./site-fixture.ts";
import { OP, auth, publish, seed, startServer, tempData, type Running } from "./server.ts";

let srv: Running;
let seeded: Seeded;
/** ' ‘ ’ ‚ ‛: a tag that ended the PowerShell string early and ran `calc` (only ' was doubled). */
const QUOTE_TAG = "v1\u2019;calc;\u2018x'\u201a\u201b";

/**
 * A PowerShell command line read as PowerShell reads its single-quoted strings: any of ' ‘ ’ ‚ ‛ opens
 * and closes one, and inside one two of them in a row stand for the first. Returns the text outside
 * the strings (each string as `S`) and the strings' values.
 */
function readPowerShell(line: string): { shape: string; strings: string[] } {
  const quote = /['\u2018\u2019\u201a\u201b]/;
  let shape = "";
  const strings: string[] = [];
  for (let i = 0; i < line.length; i++) {
    if (!quote.test(line[i]!)) {
      shape += line[i];
      continue;
    }
    let value = "";
    for (i++; i < line.length; i++) {
      if (quote.test(line[i]!)) {
        if (i + 1 < line.length && quote.test(line[i + 1]!)) value += line[i++];
        else break;
      } else value += line[i];
    }
    strings.push(value);
    shape += "S";
  }
  return { shape, strings };
}

beforeAll(async () => {
  const t = tempData();
  seeded = await seed(t.data, async (s) => {
    const out = await seedSite(s);
    // A tag holding every character PowerShell reads as a single quote (git accepts them all).
    const quotes = await s.createApp({ owner: "acme", slug: "quotes" }, OP);
    await publish(s, quotes, { tag: QUOTE_TAG }, { "install.ps1": "Write-Output 'quotes'\n" });
    return out;
  });
  srv = await startServer({ ...t, args: ["--default-app", "acme/tool"] });
});
afterAll(() => srv[Symbol.asyncDispose]());

const get = (path: string, headers: Record<string, string> = {}) => fetch(srv.url + path, { headers });
async function page(path: string, headers: Record<string, string> = {}): Promise<string> {
  const r = await get(path, headers);
  expect(r.status, path).toBe(200);
  expect(r.headers.get("content-type")).toBe("text/html; charset=utf-8");
  const text = await r.text();
  checkMarkup(text, path);
  return text;
}
/** The page's text as a reader sees it (tags dropped, the entities our escaping writes decoded, spaces collapsed). */
const visible = (html: string) =>
  html
    .replace(/<[^>]*>/g, " ")
    .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
    .replace(/\s+/g, " ");

const TAGS = new Set(
  "html head meta title link body header nav ol ul li span a main footer h1 h2 h3 h4 h5 h6 p code pre strong em del blockquote hr table caption thead tbody tr th td section time br div".split(" "),
);
const ATTRS = new Set(["lang", "charset", "name", "content", "rel", "href", "class", "id", "aria-label", "aria-labelledby", "aria-current", "scope", "datetime", "start", "role", "tabindex", "data-label"]);

/**
 * Every tag in the page is one the pages write, with only the attributes they write, each quoted;
 * every link goes to http(s), mailto or this site. Escaped text (`&#60;script&#62;`) is not a tag.
 */
function checkMarkup(html: string, where: string): void {
  expect(html.startsWith("<!doctype html>"), where).toBe(true);
  for (const m of html.slice("<!doctype html>".length).matchAll(/<(\/?)([^\s>/]+)([^>]*)>/g)) {
    const [tag, close, name, rest] = m as unknown as [string, string, string, string];
    expect(TAGS.has(name.toLowerCase()) ? name : `${tag} in ${where}`).toBe(name);
    if (close) continue;
    const attrs = [...rest.matchAll(/\s([a-z-]+)="([^"]*)"/g)];
    expect(rest.replace(/\s([a-z-]+)="([^"]*)"/g, "").trim(), `${tag} in ${where}`).toBe("");
    for (const [, attr, value] of attrs) {
      expect(ATTRS.has(attr!) ? attr : `${attr} in ${tag}`).toBe(attr);
      if (attr === "href") expect(value!, `${tag} in ${where}`).toMatch(/^(https?:|mailto:|[^:]*$)/i);
    }
  }
  expect(html).not.toMatch(/<(script|style|iframe|img|svg|object|embed|form|input|base)\b/i);
}

describe("pages", () => {
  test("/apps lists each public app with its channels and latest release, never a private one", async () => {
    const html = await page("/apps");
    const text = visible(html);
    for (const s of ["Acme Tool", "acme/tool", "Many Releases", "acme/many", "acme/empty", "0 releases", "latest Two v2.0.0", "stable → Two v2.0.0 at 30%", "beta → v2.1.0-beta.1 at 10%"]) expect(text).toContain(s);
    expect(html).toContain(`href="${srv.url}/acme/tool/releases"`);
    expect(text).not.toContain("Secret App");
    expect(text).not.toContain("Secret plans");
  });

  test("an app's channels: current release, rollout, and the release everyone else falls back to", async () => {
    const html = await page("/acme/tool/releases");
    const rows = Object.fromEntries([...html.matchAll(/<tr><th scope="row">([^<]+)<\/th>(.*?)<\/tr>/g)].map((m) => [m[1], visible(m[2]!).trim()]));
    expect(Object.keys(rows)).toEqual(["beta", "edge", "empty", "lts", "stable"]);
    expect(rows.stable).toStartWith("Two v2.0.0 30% v1.0.0 (the channel's previous release, for the other 70%)");
    // A first rollout: the previous channel release does not exist; the app's newest older release is served.
    expect(rows.beta).toStartWith("v2.1.0-beta.1 10% Two v2.0.0 (the app's newest older release, for the other 90%)");
    expect(rows.lts).toStartWith("v1.0.0 100% none");
    expect(rows.edge).toStartWith(`Two v2.0.0 100% <img src=x onerror=alert("name")> v0.9.0 (rollback target)`);
    expect(rows.empty).toStartWith("none —");
  });

  test("each file shows its detected platform, arch, format and validation, a readable size and its downloads", async () => {
    for (let i = 0; i < 2; i++) expect((await get("/acme/tool/releases/download/v2.0.0/tool-linux-x64")).status).toBe(200);
    const html = await page("/acme/tool/releases/tag/v2.0.0");
    const rows = Object.fromEntries(
      [...html.matchAll(/<tr><td><a href="[^"]+">([^<]+)<\/a>(.*?)<\/tr>/gs)].map((m) => [m[1], visible(m[2]!).trim()]),
    );
    expect(rows["tool-linux-x64"]).toMatch(/^Linux \(x86_64\) Linux x86_64 ELF executable valid 4\.0 KiB 2 sha256:[0-9a-f]{64}$/);
    expect(rows["tool-macos-arm64"]).toMatch(/^macOS arm64 Mach-O executable, code-signed valid 4\.0 KiB 0 sha256:/);
    expect(rows["tool-windows-x64.exe"]).toMatch(/^Windows x86_64 PE \(Windows executable\), not code-signed valid 1\.0 KiB 0 sha256:/);
    expect(rows["tool-data.bin"]).toMatch(/^any — not recognised unchecked no platform claimed or inferred 2\.9 MiB 0 sha256:/);
    expect(humanSize(BIG)).toBe("2.9 MiB");
    const bad = visible(await page("/acme/tool/releases/tag/v1.1.0"));
    expect(bad).toContain("macOS arm64 Mach-O executable, not code-signed invalid arm64 Mach-O without a code signature (Apple Silicon refuses to run it)");
    expect(bad).toContain("Linux arm64 PE (Windows executable), not code-signed invalid linux artifact is a pe file (expected elf, tar.gz, tar, xz, zstd, deb, rpm, zip, gzip)");
  });

  test("install commands: the app page's fetch the latest release's installer; a release page's its own", async () => {
    const app = visible(await page("/acme/tool/releases"));
    // Each passes the app's download base (and on a release's page its tag) to the installer's shell.
    expect(app).toContain(`Linux and macOS (sh): curl -fsSL ${srv.url}/acme/tool/releases/latest/download/install.sh | RELEASES_BASE_URL=${srv.url}/acme/tool sh`);
    // PowerShell keeps variables for the session: the latest release's command clears the release's.
    expect(app).toContain(`Windows (PowerShell): $env:RELEASES_BASE_URL='${srv.url}/acme/tool'; $env:RELEASES_VERSION=$null; $env:RELEASES_TAG=$null; irm '${srv.url}/acme/tool/releases/latest/download/install.ps1' | iex`);
    // The command works: it is what the server serves at that URL.
    expect(await (await get("/acme/tool/releases/latest/download/install.sh")).text()).toBe("#!/bin/sh\necho install 2.0.0\n");
    const v1 = visible(await page("/acme/tool/releases/tag/v1.0.0"));
    expect(v1).toContain(`curl -fsSL ${srv.url}/acme/tool/releases/download/v1.0.0/install.sh | RELEASES_BASE_URL=${srv.url}/acme/tool RELEASES_VERSION=1.0.0 RELEASES_TAG=v1.0.0 sh`);
    expect(v1).not.toContain("PowerShell");
    // No installer in the release, or no release at all: no install section.
    for (const p of ["/acme/many/releases", "/acme/empty/releases", "/acme/tool/releases/tag/v1.1.0"]) expect(await page(p)).not.toContain(`id="install"`);
    // A private app's command sends a token.
    const secret = visible(await page("/acme/secret/releases", auth(seeded.tokens.secretReader)));
    expect(secret).toContain(`curl -fsSL -H "Authorization: Bearer $RELEASES_TOKEN" ${srv.url}/acme/secret/releases/latest/download/install.sh | RELEASES_BASE_URL=${srv.url}/acme/secret RELEASES_TOKEN="$RELEASES_TOKEN" sh`);
  });

  test("a PowerShell command quotes every character PowerShell reads as a single quote", async () => {
    const html = await page(`/acme/quotes/releases/tag/${encodeURIComponent(QUOTE_TAG)}`);
    const command = /Windows \(PowerShell\): (.*? \| iex)/.exec(visible(html))?.[1];
    expect(command).toBeDefined();
    expect(readPowerShell(command!)).toEqual({
      shape: "$env:RELEASES_BASE_URL=S; $env:RELEASES_VERSION=S; $env:RELEASES_TAG=S; irm S | iex",
      strings: [`${srv.url}/acme/quotes`, QUOTE_TAG, encodeURIComponent(QUOTE_TAG), `${srv.url}/acme/quotes/releases/download/${encodeURIComponent(QUOTE_TAG)}/install.ps1`],
    });
    // The command names what the server serves.
    expect(await (await get(`/acme/quotes/releases/download/${encodeURIComponent(QUOTE_TAG)}/install.ps1`)).text()).toBe("Write-Output 'quotes'\n");
  });

  test("an app with no releases; one app page at /{owner}/{app}/releases, /apps/{owner}/{app}[/packages] and (the default app) /packages", async () => {
    const empty = visible(await page("/acme/empty/releases"));
    expect(empty).toContain("No releases yet.");
    expect(empty).toContain("No channels: clients asking for the latest release get nothing yet.");
    const pages = await Promise.all(["/acme/tool/releases", "/packages", "/apps/acme/tool/packages", "/apps/acme/tool"].map((p) => page(p)));
    for (const html of pages) {
      expect(visible(html)).toContain("Acme Tool");
      expect(html.replace(/datetime="[^"]*"/g, "")).toBe(pages[0]!.replace(/datetime="[^"]*"/g, ""));
    }
  });

  test("release notes are markdown, sanitized: formatting stays, scripts, handlers and unsafe links do not", async () => {
    const html = await page("/acme/tool/releases/tag/v0.9.0");
    const notes = html.slice(html.indexOf(`<div class="notes">`), html.indexOf("<h2>Files</h2>"));
    expect(notes).toContain("<h2>Changes</h2>");
    expect(notes).toContain("<strong>bold</strong>");
    expect(notes).toContain("<code>code &#60;b&#62;</code>");
    expect(notes).toContain(`<a href="https://example.com/docs" rel="nofollow noopener noreferrer">good link</a>`);
    expect(notes).toContain(`<a href="../v1.0.0" rel="nofollow noopener noreferrer">relative</a>`);
    expect(notes).toContain(`<li class="task">☑ done</li>`);
    expect(notes).toContain(`<div class="table" role="region" aria-label="Table in the release notes" tabindex="0"><table><thead><tr><th class="al-l">a</th><th class="al-r">b</th>`);
    // Raw HTML shows as text; unsafe links keep their words but lose their target.
    expect(notes).toContain("&#60;script&#62;alert(&#34;script&#34;)&#60;/script&#62;");
    expect(notes).toContain("&#60;img src=x onerror=&#34;alert(&#39;img&#39;)&#34;&#62;");
    for (const word of ["js link", "upper", "encoded", "data", "vb", "pixel"]) expect(notes).toContain(`<span class="unsafe-link">${word}</span>`);
    expect(notes).not.toMatch(/href="(javascript|data|vbscript):/i);
    // The name and the asset name are text too.
    expect(html).toContain("<h1 id=\"release-1\">&#60;img src=x onerror=alert(&#34;name&#34;)&#62;");
    expect(html).toContain("&#60;b onclick=alert(1)&#62;evil.zip");
    // The JSON API still returns the notes as written.
    expect(((await (await get("/acme/tool/releases/tag/v0.9.0?format=json")).json()) as any).body).toContain("<script>");
  });

  test("safeHref: browsers' URL parsing tricks do not get a script through", () => {
    for (const bad of ["javascript:alert(1)", " JavaScript:x", "java\tscript:x", "java\nscript:x", "\u0001javascript:x", "&#106;avascript:x", "&#x6A;avascript:x", "javascript&colon;x", "data:text/html,x", "vbscript:x", "file:///etc/passwd", ""]) {
      expect(safeHref(bad), JSON.stringify(bad)).toBeUndefined();
    }
    for (const [ok, out] of [["https://e.example/a?b=1&c", "https://e.example/a?b=1&c"], ["HTTP://E.EXAMPLE", "HTTP://E.EXAMPLE"], ["mailto:a@b.example", "mailto:a@b.example"], ["#frag", "#frag"], ["../v1.0.0", "../v1.0.0"], ["www.e.example", "http://www.e.example"], ["a_b:c", "a_b:c"]]) {
      expect(safeHref(ok!)).toBe(out!);
    }
    // A link target of 124,000 blanks inside (a trim pattern tried each of them to the end: 17 s a page view).
    const t0 = performance.now();
    expect(safeHref(`a${" ".repeat(124_000)}b`)).toBe(`a${" ".repeat(124_000)}b`);
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(renderNotes("# One\n## Two", 4)).toBe("<h4>One</h4>\n<h5>Two</h5>");
    expect(renderNotes("###### Six\n\nText", 4)).toBe("<h4>Six</h4>\n<p>Text</p>"); // moved up: no level is skipped
  });

  test("notes nested tens of thousands deep are shown as their text, at once; ordinary notes render as before", () => {
    const t0 = performance.now();
    for (const deep of [">".repeat(20_000) + "a", "- ".repeat(20_000) + "a", "*".repeat(20_000) + "a" + "*".repeat(20_000)]) {
      const out = renderNotes(deep);
      expect([out.slice(0, 25), out.endsWith("</pre>"), out.length > deep.length, /<(?:blockquote|ul|li|em|strong)>/.test(out)]).toEqual(['<pre class="notes-plain">', true, true, false]);
    }
    expect(performance.now() - t0).toBeLessThan(3_000); // each took 1-10 s
    expect(renderNotes("> quote\n>> deeper\n\n- a\n  - b\n    - c")).toBe("<blockquote><p>quote</p>\n<blockquote><p>deeper</p>\n</blockquote>\n</blockquote>\n<ul><li>a<ul><li>b<ul><li>c</li></ul>\n</li></ul>\n</li></ul>");
  });

  test("CSP forbids scripts; the one stylesheet comes from the server and is cached by its digest", async () => {
    for (const p of ["/apps", "/acme/tool/releases", "/acme/tool/releases/tag/v2.0.0", "/packages"]) {
      const r = await get(p);
      const csp = r.headers.get("content-security-policy")!;
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain("script-src");
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(r.headers.get("vary")).toContain("Authorization");
      const html = await r.text();
      expect(html).not.toMatch(/<[^>]*\sstyle=/);
      const css = html.match(/<link rel="stylesheet" href="([^"]+)">/)![1]!;
      expect(css).toStartWith(`${srv.url}/static/site.css?v=`);
      const sheet = await fetch(css);
      expect(sheet.status).toBe(200);
      expect(sheet.headers.get("content-type")).toBe("text/css; charset=utf-8");
      expect(sheet.headers.get("cache-control")).toContain("immutable");
      expect(await sheet.text()).toContain(".status.invalid");
      expect((await fetch(css, { headers: { "if-none-match": sheet.headers.get("etag")! } })).status).toBe(304);
    }
  });
});

test("behind a public URL on another origin, the CSP names that origin for the stylesheet", () => {
  const ctx = (publicUrl: string | null) => {
    const url = new URL("http://127.0.0.1:8080/apps");
    return new Ctx(new Request(url.href), url, {}, { publicUrl, defaultApp: null } as unknown as HttpDeps);
  };
  expect(pageCsp(ctx(null))).toContain("style-src 'self';");
  expect(pageCsp(ctx("http://127.0.0.1:8080/"))).toContain("style-src 'self';");
  expect(pageCsp(ctx("https://releases.example.test/mirror"))).toContain("style-src 'self' https://releases.example.test;");
});

describe("who sees what", () => {
  test("drafts only for tokens that may publish them; a draft's page is 404 for the rest", async () => {
    const anon = visible(await page("/acme/tool/releases"));
    const reader = visible(await page("/acme/tool/releases", auth(seeded.tokens.reader)));
    const publisher = visible(await page("/acme/tool/releases", auth(seeded.tokens.publisher)));
    for (const t of [anon, reader]) {
      expect(t).not.toContain("Secret plans");
      expect(t).not.toContain("draft-only.bin");
      expect(t).toContain("6 releases");
    }
    expect(publisher).toContain("Secret plans draft");
    expect(publisher).toContain("draft-only.bin");
    expect(publisher).toContain("7 releases");
    // A channel-scoped publisher sees the drafts of its channels only (the draft is for beta).
    expect(visible(await page("/acme/tool/releases", auth(seeded.tokens.betaPublisher)))).toContain("Secret plans draft");
    expect(visible(await page("/acme/tool/releases/tag/v3.0.0", auth(seeded.tokens.betaPublisher)))).toContain("Secret plans");
    expect(visible(await page("/acme/tool/releases", auth(seeded.tokens.stablePublisher)))).not.toContain("Secret plans");
    expect((await get("/acme/tool/releases/tag/v3.0.0", auth(seeded.tokens.stablePublisher))).status).toBe(404);
    expect((await get("/acme/tool/releases/tag/v3.0.0")).status).toBe(404);
    expect((await get("/acme/tool/releases/tag/v3.0.0", auth(seeded.tokens.reader))).status).toBe(404);
    expect(visible(await page("/acme/tool/releases/tag/v3.0.0", auth(seeded.tokens.publisher)))).toContain("draft created");
  });

  test("a private app: absent from /apps and 404 without a token that may read it; listed and shown with one", async () => {
    expect((await get("/acme/secret/releases")).status).toBe(404);
    expect((await get("/acme/secret/releases", auth(seeded.tokens.publisher))).status).toBe(404);
    for (const token of [seeded.tokens.reader, seeded.tokens.secretReader]) {
      const apps = visible(await page("/apps", auth(token)));
      expect(apps).toContain("Secret App private");
      expect(visible(await page("/acme/secret/releases", auth(token)))).toContain("Secret App private");
    }
    expect(visible(await page("/apps", auth(seeded.tokens.publisher)))).not.toContain("Secret App");
  });

  test("a browser gets errors as an HTML page with the same status; API clients get JSON", async () => {
    const html = await get("/acme/secret/releases", { accept: "text/html,application/xhtml+xml,*/*;q=0.8" });
    expect(html.status).toBe(404);
    expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(html.headers.get("content-security-policy")).toContain("default-src 'none'");
    const text = await html.text();
    checkMarkup(text, "404 page");
    expect(visible(text)).toContain("404 no app acme/secret");
    const api = await get("/acme/secret/releases");
    expect(api.headers.get("content-type")).toContain("application/json");
    const bad = await get("/acme/tool/releases", { accept: "text/html", authorization: "Bearer nope" });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toContain("Bearer");
    expect(bad.headers.get("content-type")).toBe("text/html; charset=utf-8");
    // A URL that is no page at all (mistyped) is a 404 page for a browser too; the API's stay JSON.
    const typo = await get("/no/such/place/at/all", { accept: "text/html" });
    expect([typo.status, typo.headers.get("content-type")]).toEqual([404, "text/html; charset=utf-8"]);
    expect(typo.headers.get("content-security-policy")).toContain("default-src 'none'");
    const typoText = await typo.text();
    checkMarkup(typoText, "404 page of a mistyped URL");
    expect(visible(typoText)).toContain("404 Not Found");
    expect((await get("/api/v3/no/such", { accept: "text/html" })).headers.get("content-type")).toContain("application/json");
    expect((await get("/no/such/place/at/all")).headers.get("content-type")).toContain("application/json");
    // The page's headers; a JSON answer asked for (?format=json) stays JSON for a browser too; a 404 varies by Accept.
    expect([typo.headers.get("cache-control"), typo.headers.get("referrer-policy"), typo.headers.get("vary")]).toEqual(["no-cache", "same-origin", "Accept, Authorization"]);
    const asked = await get("/apps/acme/nope?format=json", { accept: "text/html" });
    expect([asked.status, asked.headers.get("content-type"), asked.headers.get("vary")]).toEqual([404, "application/json; charset=utf-8", "Accept, Authorization"]);
  });

  test("the server's root is its list of apps", async () => {
    const r = await fetch(`${srv.url}/?format=json`, { redirect: "manual" });
    expect([r.status, r.headers.get("location")]).toEqual([302, `${srv.url}/apps?format=json`]);
    const followed = await fetch(`${srv.url}/`, { headers: { accept: "text/html" } });
    expect([followed.status, followed.url]).toEqual([200, `${srv.url}/apps`]);
  });
});

describe("paging", () => {
  const sections = (html: string) => [...html.matchAll(/<section class="release"[^>]*>\n<h3[^>]*><a href="[^"]+">([^<]+)<\/a>/g)].map((m) => m[1]);

  test("10 releases a page, newest first, with links between pages; a non-semver tag is a release like any", async () => {
    const first = await page("/acme/many/releases");
    expect(sections(first)).toEqual(["Dated build", ...Array.from({ length: 9 }, (_, i) => `v1.0.${23 - i}`)]);
    expect(first).toContain(`href="${srv.url}/acme/many/releases/tag/2026-11-28"`);
    expect(visible(first)).toContain("Page 1 of 3 Older →");
    expect(first).toContain(`<a rel="next" href="?page=2">`);
    expect(first).not.toContain(`rel="prev"`);
    const last = await page("/acme/many/releases?page=3");
    expect(sections(last)).toEqual(["v1.0.4", "v1.0.3", "v1.0.2", "v1.0.1", "v1.0.0"]);
    expect(last).toContain(`<a rel="prev" href="?page=2">`);
    expect(last).not.toContain(`rel="next"`);
    const sized = await page("/acme/many/releases?page=2&per_page=20");
    expect(sections(sized)).toEqual(["v1.0.4", "v1.0.3", "v1.0.2", "v1.0.1", "v1.0.0"]);
    expect(sized).toContain(`<a rel="prev" href="?page=1&#38;per_page=20">`);
    const dated = visible(await page("/acme/many/releases/tag/2026-11-28"));
    expect(dated).toContain("Dated build");
    expect(dated).toContain("dated.txt");
    const nightly = visible(await page("/acme/tool/releases/tag/nightly"));
    expect(nightly).toContain("nightly prerelease");
    expect(nightly).toContain("Built every night.");
  });

  test("a page past the end is an empty page pointing back; a page number no list reaches, or not a number, is a client error, never a 500", async () => {
    const past = visible(await page("/acme/many/releases?page=4"));
    expect(past).toContain("Page 4 is past the last page. Go to page 3");
    expect(past).toContain("← Newer");
    for (const q of ["page=99999999999999999999", "page=-1", "page=abc", "per_page=1e3", "page=9007199254740993"]) {
      const r = await get(`/acme/many/releases?${q}`, { accept: "text/html" });
      expect(r.status, q).toBeGreaterThanOrEqual(400);
      expect(r.status, q).toBeLessThan(500);
      expect(r.headers.get("content-type"), q).toBe("text/html; charset=utf-8");
      const json = await get(`/packages?format=json&${q}`);
      expect(json.status, q).toBeGreaterThanOrEqual(400);
      expect(json.status, q).toBeLessThan(500);
    }
    const huge = await get("/acme/many/releases?per_page=1000");
    expect(huge.status).toBe(200);
    expect(sections(await huge.text())).toHaveLength(25); // per_page is capped at 100
  });
});

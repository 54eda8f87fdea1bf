// The package browser in a real browser: Debian's Chromium, headless, driven by playwright-core,
// loads the pages from a spawned server with seeded releases, checks what a visitor sees, that the
// CSP keeps scripts out (nothing from the hostile notes runs, and not even an injected script
// does), that the server's stylesheet applies and a phone-sized window needs no sideways scrolling,
// and runs axe-core on every page: a serious or critical accessibility violation fails the test.
// Screenshots go to the test's temp dir (RS_KEEP_SCREENSHOTS=1 keeps them and prints where).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import axe from "axe-core";
import { chromium, type Browser, type Page } from "playwright-core";
import { seedSite, type Seeded } from "./site-fixture.ts";
import { auth, seed, startServer, tempData, type Running } from "./server.ts";

// The callbacks given to page.evaluate run in the page, where these exist (the project's tsconfig has no DOM types).
declare const document: any, window: any;
declare function getComputedStyle(el: unknown, pseudo?: string): { borderTopStyle: string; color: string; display: string; content: string };

const CHROMIUM = "/usr/bin/chromium";
const KEEP = process.env.RS_KEEP_SCREENSHOTS === "1";

let srv: Running;
let seeded: Seeded;
let browser: Browser;
let shots: string;
/** One tab per identity, reused from page to page (a new browser context costs about a second). */
const tabs = new Map<string, Promise<Tab>>();

interface Tab {
  page: Page;
  /** Dialogs (alert, confirm), page errors and console errors since the last visit: a script that ran, or a blocked load. */
  problems: string[];
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is not installed: apt-get install --no-install-recommends chromium (.ci/run installs it from .ci/packages.txt)`);
  const t = tempData();
  seeded = await seed(t.data, seedSite);
  [srv, browser] = await Promise.all([
    startServer({ ...t, args: ["--default-app", "acme/tool"] }),
    chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] }),
  ]);
  shots = join(KEEP ? t.dir.replace(/rs-http-/, "rs-browser-shots-") : t.dir, "screenshots");
  mkdirSync(shots, { recursive: true });
  await tab("anonymous"); // the first tab starts a renderer: seconds on a busy machine
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await srv?.[Symbol.asyncDispose]();
  if (KEEP) console.log(`screenshots kept in ${shots}`);
  else if (shots) rmSync(shots, { recursive: true, force: true });
});

/**
 * A tab for `who` (anonymous, or a token sent with every request). axe-core is added to every
 * document it loads through the DevTools protocol, which the page's CSP does not govern (the CSP
 * admits no script tag, so axe could not be injected as one).
 */
function tab(who: "anonymous" | "publisher", viewport = { width: 1280, height: 900 }): Promise<Tab> {
  const key = `${who} ${viewport.width}`;
  if (!tabs.has(key)) {
    tabs.set(key, (async () => {
      const context = await browser.newContext({ viewport, extraHTTPHeaders: who === "publisher" ? auth(seeded.tokens.publisher) : undefined });
      await context.addInitScript(axe.source);
      const page = await context.newPage();
      const t: Tab = { page, problems: [] };
      page.on("dialog", (d) => {
        t.problems.push(`dialog: ${d.message()}`);
        void d.dismiss();
      });
      page.on("pageerror", (e) => t.problems.push(`page error: ${e.message}`));
      page.on("console", (m) => {
        if (m.type() === "error" && !/favicon/.test(m.location().url)) t.problems.push(`console: ${m.text()}`);
      });
      return t;
    })());
  }
  return tabs.get(key)!;
}

/** Loads `path` in the tab, checks the status and screenshots it as `name`.png (the whole page with `fullPage`). */
async function visit(path: string, name: string, opts: { who?: "anonymous" | "publisher"; viewport?: { width: number; height: number }; status?: number; fullPage?: boolean } = {}): Promise<Tab> {
  const t = await tab(opts.who ?? "anonymous", opts.viewport);
  t.problems.length = 0;
  const res = await t.page.goto(srv.url + path, { waitUntil: "load" });
  expect(res?.status(), path).toBe(opts.status ?? 200);
  const file = join(shots, `${name}.png`);
  await t.page.screenshot({ path: file, fullPage: opts.fullPage ?? false });
  expect([...readFileSync(file).subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return t;
}

/** axe-core on the loaded page: no serious or critical violation; and nothing ran or failed to load. */
async function checked(t: Tab, where: string): Promise<void> {
  const result = await t.page.evaluate(() => (window.axe as typeof axe).run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const report = bad.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")})`);
  expect(report, `axe on ${where}`).toEqual([]);
  expect(t.problems, where).toEqual([]);
}

const squash = (s: string) => s.replace(/\s+/g, " ").trim();

describe("in Chromium", () => {
  test("the apps index: each app, its latest release and channels; styled by the server's stylesheet", async () => {
    const v = await visit("/apps", "apps");
    const { page } = v;
    expect(await page.title()).toBe("Apps");
    await expect(page.getByRole("heading", { level: 1, name: "Apps" }).isVisible()).resolves.toBe(true);
    for (const name of ["Acme Tool", "Many Releases", "empty"]) await expect(page.getByRole("link", { name, exact: true }).isVisible()).resolves.toBe(true);
    expect(await page.getByText("Secret App").count()).toBe(0);
    const text = await page.locator("main").innerText();
    expect(text).toContain("stable → Two v2.0.0 at 30%");
    // The stylesheet loaded (CSP style-src 'self'): cards have a border, the body the system font.
    const border = await page.locator("ul.apps > li").first().evaluate((el) => getComputedStyle(el).borderTopStyle);
    expect(border).toBe("solid");
    await checked(v, "/apps");
  }, 60_000);

  test("an app's page: install commands, channels with rollout and fallback, releases with file details", async () => {
    const v = await visit("/acme/tool/releases", "app", { fullPage: true });
    const { page } = v;
    await expect(page.getByRole("heading", { level: 1, name: "Acme Tool" }).isVisible()).resolves.toBe(true);
    expect(await page.getByText("Secret plans").count()).toBe(0); // the draft: only a publisher sees it
    const install = await page.locator("section.install").innerText();
    expect(install).toContain(`curl -fsSL ${srv.url}/acme/tool/releases/latest/download/install.sh | RELEASES_BASE_URL=${srv.url}/acme/tool sh`);
    const stable = page.getByRole("row", { name: /^stable / });
    expect((await stable.getByRole("cell").allInnerTexts()).map((s) => s.trim())).toEqual([
      "Two v2.0.0",
      "30%",
      "v1.0.0 (the channel's previous release, for the other 70%)",
      expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/),
    ]);
    const invalid = page.locator("section.release", { hasText: "Has a bad macOS build." }).getByRole("row", { name: /tool-macos-arm64/ });
    expect(await invalid.innerText()).toContain("invalid arm64 Mach-O without a code signature");
    const valid = page.locator("section.release", { hasText: "Highlights" }).getByRole("row", { name: /tool-data\.bin/ });
    expect(await valid.innerText()).toContain("2.9 MiB");
    // Colours come from the stylesheet: an invalid file's status is red on pink.
    const color = await page.locator(".status.invalid").first().evaluate((el) => getComputedStyle(el).color);
    expect(color).toBe("rgb(130, 7, 30)");
    await checked(v, "/acme/tool/releases");
  }, 60_000);

  test("hostile notes and names: rendered as text, nothing runs, no unsafe link; even an injected script is refused by the CSP", async () => {
    const v = await visit("/acme/tool/releases/tag/v0.9.0", "hostile", { fullPage: true });
    const { page } = v;
    await expect(page.getByRole("heading", { level: 1, name: `<img src=x onerror=alert("name")>` }).isVisible()).resolves.toBe(true);
    await expect(page.getByRole("heading", { level: 2, name: "Changes" }).isVisible()).resolves.toBe(true);
    await expect(page.getByRole("link", { name: "good link" }).getAttribute("href")).resolves.toBe("https://example.com/docs");
    for (const name of ["js link", "upper", "encoded", "data", "vb", "pixel", "raw link"]) expect(await page.getByRole("link", { name }).count(), name).toBe(0);
    expect(await page.locator("main").innerText()).toContain(`<script>alert("script")</script>`);
    const counts = await page.evaluate(() => ["script", "img", "iframe", "svg", "style", "[onclick]", "[onerror]", "[style]"].map((s): number => document.querySelectorAll(s).length));
    expect(counts).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    const ran = await page.evaluate<boolean>(`(async () => {
      const s = document.createElement("script");
      s.textContent = "window.__injected = true";
      document.body.append(s);
      await new Promise((r) => setTimeout(r, 50));
      return window.__injected === true;
    })()`);
    expect(ran).toBe(false);
    const refused = v.problems.filter((p) => p.includes("Content Security Policy"));
    expect(refused.length).toBeGreaterThan(0); // the injected script, refused
    v.problems.length = 0;
    await checked(v, "hostile release page");
  }, 60_000);

  test("a release page: its installers and each file's digest", async () => {
    const release = await visit("/acme/tool/releases/tag/v2.0.0", "release", { fullPage: true });
    expect(await release.page.locator("section.install").innerText()).toContain("irm 'http");
    expect(await release.page.getByRole("row", { name: /tool-linux-x64/ }).innerText()).toMatch(/sha256:[0-9a-f]{64}/);
    await checked(release, "release page");
  }, 60_000);

  test("drafts for a publisher's token only", async () => {
    const publisher = await visit("/acme/tool/releases", "app-as-publisher", { who: "publisher" });
    await expect(publisher.page.getByRole("heading", { name: /Secret plans/ }).isVisible()).resolves.toBe(true);
    expect(publisher.problems).toEqual([]);
  }, 60_000);

  test("paging: links between pages, in order", async () => {
    const paged = await visit("/acme/many/releases?page=2", "paging");
    expect(squash(await paged.page.locator("nav.pages").innerText())).toBe("← Newer Page 2 of 3 Older →");
    await paged.page.getByRole("link", { name: "Older →" }).click();
    await paged.page.waitForURL(/page=3$/);
    expect(await paged.page.locator("section.release h3").allInnerTexts()).toEqual(["v1.0.4", "v1.0.3", "v1.0.2", "v1.0.1", "v1.0.0"]);
    await checked(paged, "paging");
  }, 60_000);

  test("an app without releases, and a page that does not exist", async () => {
    const empty = await visit("/acme/empty/releases", "empty");
    expect(await empty.page.locator("main").innerText()).toContain("No releases yet.");
    await checked(empty, "empty app");
    const missing = await visit("/acme/nothing/releases", "not-found", { status: 404 });
    await expect(missing.page.getByRole("heading", { level: 1, name: "404" }).isVisible()).resolves.toBe(true);
    missing.problems = missing.problems.filter((p) => !p.includes("status of 404")); // Chromium logs the page's own 404
    await checked(missing, "404 page");
  }, 60_000);

  test("a phone-sized window: the page never scrolls sideways (files become labelled blocks, other wide tables scroll in their own region)", async () => {
    const phone = await visit("/acme/tool/releases", "app-phone", { viewport: { width: 390, height: 844 }, fullPage: true });
    const overflow = await phone.page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(0);
    // Each file is a block of labelled lines (the label is generated content), all visible without scrolling.
    const cell = phone.page.locator("section.release", { hasText: "Has a bad macOS build." }).locator("td[data-label=Validation]").first();
    expect(await cell.evaluate((el) => [getComputedStyle(el).display, getComputedStyle(el, "::before").content])).toEqual(["block", `"Validation: "`]);
    expect(squash(await cell.innerText())).toBe("invalid arm64 Mach-O without a code signature (Apple Silicon refuses to run it)");
    await checked(phone, "app page on a phone");
  }, 60_000);
});

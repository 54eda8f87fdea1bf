// `auditgraph ui` from the compiled linux-x64 executable of the shared release build: the page, its
// bundled script (cytoscape included) and stylesheet are embedded in the binary and served with the
// same headers, and the API answers; nothing is read from the checkout or the network.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cleanup } from "../helpers/cli.ts";
import { sharedLinuxExe } from "../release/support.ts";
import { body, makeWorkspace, startUi, type Ui } from "./support.ts";

let ui: Ui;

beforeAll(async () => {
  const exe = await sharedLinuxExe("ag-ui-exe-");
  const ws = makeWorkspace();
  // run from a directory without the sources, so nothing can come from the checkout
  ui = await startUi(ws.root, { exe });
}, 600_000);
afterAll(async () => { await ui?.stop(); cleanup(); });

test("the compiled executable serves the embedded page, its script and stylesheet, and the API", async () => {
  const page = await fetch(`${ui.base}/`);
  expect(page.status).toBe(200);
  expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
  const html = await page.text();
  expect(html).toContain("<title>auditgraph</title>");
  const js = /<script[^>]+src="(\/[^"]+\.js)"/.exec(html)?.[1];
  const css = /<link[^>]+rel="stylesheet"[^>]+href="(\/[^"]+\.css)"|<link[^>]+href="(\/[^"]+\.css)"[^>]*rel="stylesheet"/.exec(html);
  expect(js).toBeDefined();
  const script = await fetch(ui.base + js!);
  expect(script.status).toBe(200);
  expect(script.headers.get("content-type")).toContain("javascript");
  const code = await script.text();
  expect(code.length).toBeGreaterThan(100_000);
  expect(code).toContain("__________cytoscape_stylesheet"); // cytoscape, bundled in
  expect(code).toContain("X-Auditgraph-Token"); // the page's own code
  const sheet = await fetch(ui.base + (css?.[1] ?? css?.[2])!);
  expect(sheet.status).toBe(200);
  expect(await sheet.text()).toContain(".graphbox");
  const q = await body(fetch(`${ui.base}/api/query?q=postgres`, { headers: { "x-auditgraph-token": ui.token } }));
  expect(q.hits[0].path).toBe("docs/postgres-guide.md");
  expect((await fetch(`${ui.base}/api/status`)).status).toBe(401);
}, 30_000);

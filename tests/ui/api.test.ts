// `auditgraph ui`'s server over loopback, as a real process: the session token, Host and Origin
// checks, read-only methods, security headers, the JSON API answering what the CLI's --json
// answers, a new run followed without a restart, and an incompatible store turned into guidance.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, tempDir, treeHash } from "../helpers/cli.ts";
import { apiGet, body, currentRun, makeIncompatible, makeWorkspace, startUi, type Ui } from "./support.ts";

let ws: { root: string; runId: string };
let ui: Ui;

beforeAll(async () => {
  ws = makeWorkspace();
  ui = await startUi(ws.root);
}, 30_000);
afterAll(async () => { await ui?.stop(); cleanup(); });

test("prints one URL on 127.0.0.1 with a random port and a long session token", () => {
  expect(ui.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
  expect(new URL(ui.url).port).not.toBe("0");
  expect(ui.stderr()).not.toContain("not a loopback");
}, 20_000);

test("an API request without the token, or with a wrong one, is 401", async () => {
  const none = await fetch(`${ui.base}/api/status`);
  expect(none.status).toBe(401);
  expect((await body(none)).code).toBe("unauthorized");
  expect((await fetch(`${ui.base}/api/query?q=postgres`, { headers: { "x-auditgraph-token": ui.token.slice(1) + "x" } })).status).toBe(401);
  expect((await fetch(`${ui.base}/api/node?id=x`, { headers: { cookie: `token=${ui.token}` } })).status).toBe(401);
  const ok = await apiGet(ui, "/api/status");
  expect(ok.status).toBe(200);
  expect((await body(ok)).run_id).toBe(ws.runId);
}, 20_000);

test("a foreign Origin, or a cross-site or same-site fetch, is 403; the server's own origin is served", async () => {
  for (const origin of ["http://evil.example", `http://localhost.evil.example:${new URL(ui.base).port}`, "null"]) {
    const r = await apiGet(ui, "/api/status", { origin });
    expect(r.status).toBe(403);
  }
  expect((await apiGet(ui, "/api/status", { "sec-fetch-site": "cross-site" })).status).toBe(403);
  expect((await apiGet(ui, "/api/status", { "sec-fetch-site": "same-site" })).status).toBe(403);
  expect((await apiGet(ui, "/api/status", { origin: ui.base, "sec-fetch-site": "same-origin" })).status).toBe(200);
}, 20_000);

test("a Host header that is not this server (DNS rebinding) is refused with 421, even with the token", async () => {
  const port = new URL(ui.base).port;
  for (const host of [`evil.example:${port}`, "127.0.0.1:1", `127.0.0.1.nip.io:${port}`, ""]) {
    const r = await apiGet(ui, "/api/status", { host });
    expect(r.status).toBe(421);
  }
  expect((await fetch(`${ui.base}/`, { headers: { host: `evil.example:${port}` } })).status).toBe(421);
  expect((await apiGet(ui, "/api/status", { host: `localhost:${port}` })).status).toBe(200);
}, 20_000);

// Binding port 80 needs root; where it is taken, there is nothing to check.
test.skipIf(process.getuid?.() !== 0)("on port 80, the Host a browser sends (no port: HTTP's default) is this server's", async () => {
  let on80: Ui;
  try { on80 = await startUi(ws.root, { args: ["--port", "80"] }); } catch (e) {
    if (/cannot listen|EADDRINUSE|in use/i.test(String(e))) return;
    throw e;
  }
  try {
    expect(on80.url).toStartWith("http://127.0.0.1:80/?token=");
    const r = await fetch(`http://127.0.0.1/api/status`, { headers: { "x-auditgraph-token": on80.token } }); // Host: 127.0.0.1
    expect(r.status).toBe(200);
    expect((await apiGet(on80, "/api/status", { host: "127.0.0.1:80" })).status).toBe(200);
    expect((await apiGet(on80, "/api/status", { host: "evil.example" })).status).toBe(421);
  } finally { await on80.stop(); }
}, 30_000);

test("read-only: any method but GET and HEAD is 405 with Allow", async () => {
  for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
    const r = await apiGet(ui, "/api/status", {}, method);
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toBe("GET, HEAD");
  }
}, 20_000);

test("the page and the API carry a CSP without inline scripts, nosniff and no referrer", async () => {
  const page = await fetch(`${ui.base}/`);
  expect(page.status).toBe(200);
  const html = await page.text();
  for (const r of [page, await apiGet(ui, "/api/status")]) {
    const csp = r.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("referrer-policy")).toBe("no-referrer");
  }
  // No inline script in the page: every <script> has a src on this server.
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  expect(scripts.length).toBeGreaterThan(0);
  for (const s of scripts) { expect(s[1]).toMatch(/src="\/[^"]+"/); expect(s[2]!.trim()).toBe(""); }
  const src = /src="(\/[^"]+\.js)"/.exec(html)![1]!;
  const js = await fetch(ui.base + src);
  expect(js.status).toBe(200);
  expect(js.headers.get("content-type")).toContain("javascript");
  expect((await js.text()).length).toBeGreaterThan(100_000); // the page's code with cytoscape bundled in, no CDN
  expect(html).not.toMatch(/https?:\/\//);
}, 20_000);

test("the API answers what the CLI's --json answers", async () => {
  const q = await body(apiGet(ui, "/api/query?q=postgres&limit=5"));
  const c = cli(["query", "postgres", "--limit", "5", "--json", "--root", ws.root]).json;
  expect(q.hits).toEqual(c.hits);
  expect(q.total).toBe(c.total);
  expect(q.hits[0].path).toBe("docs/postgres-guide.md");

  const filtered = await body(apiGet(ui, "/api/query?q=postgres&path=notes/**&type=chunk"));
  expect(filtered.hits.length).toBeGreaterThan(0);
  expect(filtered.hits.every((h: any) => h.path.startsWith("notes/") && h.type === "chunk")).toBe(true);
  expect(filtered.hits).toEqual(cli(["query", "postgres", "--path", "notes/**", "--type", "chunk", "--json", "--root", ws.root]).json.hits);

  const id = cli(["list", "--type", "document", "--where", "path=notes/alpha.md", "--json", "--root", ws.root]).json.nodes[0].id;
  const n = await body(apiGet(ui, `/api/node?id=${id}`));
  const cn = cli(["node", id, "--json", "--root", ws.root]).json;
  expect(n.node).toEqual(cn.node);
  expect(n.out_edges).toEqual(cn.out_edges);
  expect(n.in_edges).toEqual(cn.in_edges);
  expect(n.document.sections.map((s: any) => s.name)).toEqual(["Alpha plan", "Risks"]);
  expect(n.excerpt.lines.join("\n")).toContain("We run Postgres and Redis");
  expect(Object.values(n.names).map((x: any) => x.name)).toContain("Beta design");

  const nb = await body(apiGet(ui, `/api/neighbors?id=${id}&depth=2&edge_type=links_to,mentions`));
  const cnb = cli(["neighbors", id, "--depth", "2", "--edge-type", "links_to,mentions", "--json", "--root", ws.root]).json;
  expect(nb.nodes).toEqual(cnb.nodes);
  expect(nb.edges).toEqual(cnb.edges);
  expect(nb.truncated).toBe(false);
  const cut = await body(apiGet(ui, `/api/neighbors?id=${id}&depth=2&edge_type=links_to,mentions&max=1`));
  expect(cut.truncated).toBe(true);
  expect(cut.nodes.length).toBe(1);
  expect(cnb.nodes.filter((n: any) => n.depth === 1)).toContainEqual(cut.nodes[0]);
  const kept = [id, cut.nodes[0].id];
  expect(cut.edges.length).toBeGreaterThan(0);
  expect(cut.edges.every((e: any) => kept.includes(e.source) && kept.includes(e.target))).toBe(true);
  // Cut anywhere, every edge the full walk finds between two kept nodes is drawn (the kept nodes the
  // cut walk had not read yet, beta's mention of Postgres, are read for them).
  const key = (e: any) => `${e.source} ${e.type} ${e.target}`;
  let missingBefore = 0;
  for (const max of [2, 3, 4, 5]) {
    const c = await body(apiGet(ui, `/api/neighbors?id=${id}&depth=2&edge_type=links_to,mentions&max=${max}`));
    const keep = new Set([id, ...c.nodes.map((n: any) => n.id)]);
    const expected = cnb.edges.filter((e: any) => keep.has(e.source) && keep.has(e.target)).map(key).sort();
    expect({ max, edges: c.edges.map(key).sort() }).toEqual({ max, edges: expected });
    missingBefore += expected.filter((k: string) => !cut.edges.map(key).includes(k)).length;
  }
  expect(missingBefore).toBeGreaterThan(0); // the cuts above keep edges that max=1 does not

  const runs = await body(apiGet(ui, "/api/runs"));
  expect(runs.runs).toEqual(cli(["runs", "list", "--json", "--root", ws.root]).json.runs);
  expect(runs.budget).toEqual(cli(["budget", "--json", "--root", ws.root]).json.budget);

  const ov = await body(apiGet(ui, "/api/overview"));
  expect(ov.clusters.map((c: any) => c.name)).toEqual(["docs", "notes"]);
  expect(ov.technologies[0].name).toBe("PostgreSQL");
  expect(ov.edges).toContainEqual({ source: "folder:notes", target: "tech_postgresql", type: "mentions", count: 3 });
}, 20_000);

test("each overview cluster's path glob finds exactly its documents (a shallow folder holds only its own files)", async () => {
  const root = tempDir("ag-ui-clusters-");
  const w = (p: string) => { mkdirSync(join(root, p, ".."), { recursive: true }); writeFileSync(join(root, p), `# ${p}\n\nText.\n`); };
  for (const p of ["notes/hub.md", "notes/a/x/1.md", "notes/a/y/2.md", "notes/b/z/3.md", "notes/b/4.md"]) w(p);
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  const u = await startUi(root);
  try {
    const ov = await body(apiGet(u, "/api/overview"));
    expect(ov.clusters.map((c: any) => [c.name, c.count, c.path])).toEqual([["notes", 1, "notes/*"], ["notes/a", 2, "notes/a/**"], ["notes/b", 2, "notes/b/**"]]);
    for (const c of ov.clusters) {
      const q = await body(apiGet(u, `/api/query?type=document&limit=100&path=${encodeURIComponent(c.path)}`));
      expect({ cluster: c.name, total: q.total }).toEqual({ cluster: c.name, total: c.count });
    }
  } finally { await u.stop(); }
}, 30_000);

test("bad input is one error document: a usage error 400, an unknown node or API 404", async () => {
  const bad = await apiGet(ui, "/api/query?q=" + encodeURIComponent("nope:thing"));
  expect(bad.status).toBe(400);
  expect((await body(bad)).message).toContain("unknown filter 'nope:'");
  expect((await apiGet(ui, "/api/neighbors?id=doc_00000000000000000000&depth=9")).status).toBe(400);
  for (const t of [",", "%20", ",%20,"]) expect((await body(apiGet(ui, `/api/neighbors?id=${ws.runId}&edge_type=${t}`))).message).toStartWith("edge_type names no edge type");
  for (const limit of ["1e1", "0x10", "2.0"]) {
    const r = await apiGet(ui, `/api/query?q=postgres&limit=${limit}`);
    expect([limit, r.status]).toEqual([limit, 400]);
    expect((await body(r)).message).toBe(`limit must be an integer from 1 to 200, got '${limit}'`);
  }
  const missing = await apiGet(ui, "/api/node?id=doc_00000000000000000000");
  expect(missing.status).toBe(404);
  expect((await body(missing)).code).toBe("not_found");
  expect((await apiGet(ui, "/api/nothing")).status).toBe(404);
  expect((await fetch(`${ui.base}/no-such-asset.js`)).status).toBe(404);
}, 20_000);

test("parameters: one the API does not take, a single one given twice, or a required one missing is a 400 naming it; type, path and tag add up as the CLI's flags do", async () => {
  const refused = async (path: string, message: string) => {
    const r = await apiGet(ui, path);
    expect({ path, status: r.status, message: (await body(r)).message }).toEqual({ path, status: 400, message });
  };
  await refused("/api/query?q=postgres&bogus=1", "/api/query takes only q, limit, type, path, tag, not 'bogus'");
  await refused("/api/status?x=", "/api/status takes no parameters, not 'x'");
  await refused("/api/query?q=postgres&limit=5&limit=7", "/api/query: 'limit' is given 2 times; give it once");
  await refused("/api/node", "/api/node needs 'id'");
  await refused("/api/neighbors?id=&depth=1", "/api/neighbors needs 'id'");
  await refused("/api/diff?a=" + ws.runId, "/api/diff needs 'b'");
  // A 100 KB id is not echoed back whole.
  const long = await body(apiGet(ui, `/api/node?id=${"x".repeat(10_000)}`));
  expect(long.message.length).toBeLessThan(400);
  // Two types: any of them, as `--type document --type chunk` and `type=document,chunk`.
  const total = async (q: string) => (await body(apiGet(ui, `/api/query?${q}`))).total as number;
  const docs = await total("q=postgres&type=document"), chunks = await total("q=postgres&type=chunk");
  expect(docs).toBeGreaterThan(0);
  expect(chunks).toBeGreaterThan(0);
  expect([await total("q=postgres&type=document&type=chunk"), await total("q=postgres&type=document,chunk")]).toEqual([docs + chunks, docs + chunks]);
  // Empty optional parameters are as if left out, one or several; other single ones given twice are refused too.
  const plain = await body(apiGet(ui, "/api/query?q=postgres"));
  for (const q of ["q=postgres&limit=&type=", "q=postgres&type=&type=&path=&tag="]) expect([q, (await body(apiGet(ui, `/api/query?${q}`))).hits]).toEqual([q, plain.hits]);
  const start = plain.hits[0].id as string;
  const around = async (q: string) => ((await body(apiGet(ui, `/api/neighbors?id=${start}${q}`))).nodes as { id: string }[]).map((n) => n.id).sort();
  expect(await around("&depth=&max=&edge_type=")).toEqual(await around(""));
  expect(await around("&edge_type=contains&edge_type=mentions")).toEqual(await around("&edge_type=contains,mentions"));
  await refused(`/api/node?id=${start}&id=${start}`, "/api/node: 'id' is given 2 times; give it once");
  await refused(`/api/neighbors?id=${start}&depth=1&depth=2`, "/api/neighbors: 'depth' is given 2 times; give it once");
  // A value is quoted short in an error, however long.
  expect((await body(apiGet(ui, `/api/query?q=postgres&limit=${"9".repeat(5000)}`))).message.length).toBeLessThan(200);
}, 20_000);

test("a new run is followed without a restart, and a diff between the two runs is served", async () => {
  writeFileSync(join(ws.root, "notes/delta.md"), "# Delta\n\nDelta adds Elasticsearch.\n");
  expect(cli(["ingest", "--root", ws.root]).code).toBe(0);
  const next = currentRun(ws.root);
  expect(next).not.toBe(ws.runId);
  expect((await body(apiGet(ui, "/api/status"))).run_id).toBe(next);
  expect((await body(apiGet(ui, "/api/query?q=elasticsearch"))).hits[0].path).toBe("notes/delta.md");
  const d = await body(apiGet(ui, `/api/diff?a=${ws.runId}&b=${next}`));
  expect(d).toEqual(cli(["diff", ws.runId, next, "--json", "--root", ws.root]).json);
  expect(d.added).toEqual(["notes/delta.md"]);
  expect((await apiGet(ui, `/api/diff?a=${ws.runId}&b=run_${"0".repeat(32)}`)).status).toBe(404);
}, 20_000);

test("an incompatible store answers 409 with the rebuild guidance, and the server keeps running", async () => {
  const before = currentRun(ws.root);
  makeIncompatible(ws.root);
  const r = await apiGet(ui, "/api/status");
  expect(r.status).toBe(409);
  const b = await body(r);
  expect(b.code).toBe("rebuild_required");
  expect(b.exit_code).toBe(3);
  expect(b.message).toContain("auditgraph rebuild");
  expect(b.message).toBe(JSON.parse(cli(["query", "x", "--json", "--root", ws.root]).stdout).message);
  expect((await apiGet(ui, "/api/query?q=postgres")).status).toBe(409);
  // runs list still describes the store, as `runs list` does
  const runs = await body(apiGet(ui, "/api/runs"));
  expect(runs.runs.map((x: any) => x.readable)).toContain(false);
  // back to a readable run: served again
  writeFileSync(join(ws.root, ".pkg/profiles/default/current"), before + "\n");
  expect((await apiGet(ui, "/api/status")).status).toBe(200);
}, 20_000);

test("a store with no run yet gets the ingest hint; a non-loopback --host is warned about", async () => {
  const { tempDir } = await import("../helpers/cli.ts");
  const empty = tempDir("ag-ui-empty-");
  writeFileSync(join(empty, "a.md"), "# A\n");
  const other = await startUi(empty, { args: ["--host", "0.0.0.0"] });
  try {
    expect(other.stderr()).toContain("not a loopback address");
    const port = new URL(other.base).port;
    const r = await fetch(`http://127.0.0.1:${port}/api/status`, { headers: { "x-auditgraph-token": other.token } });
    expect(r.status).toBe(409);
    expect((await body(r)).code).toBe("no_run");
  } finally {
    await other.stop();
  }
}, 20_000);

test("--port outside 0..65535, or not written in decimal digits, is a usage error (exit 2) and nothing listens", () => {
  for (const port of ["70000", "1e3", "0x50", "", "80.0"]) {
    const r = cli(["ui", "--root", ws.root, "--port", port]);
    expect([port, r.code]).toEqual([port, 2]);
    expect(r.stderr).toContain(`--port must be an integer from 0 to 65535, got '${port}'`);
  }
  // An empty --host is a flag without a value, not the default address.
  const host = cli(["ui", "--root", ws.root, "--host", ""]);
  expect(host.code).toBe(2);
  expect(host.stderr).toContain("--host needs an address");
}, 20_000);

test("a second ui on a port the first one listens on is refused (exit 2); the first keeps every connection", async () => {
  const port = new URL(ui.url).port;
  const r = cli(["ui", "--root", ws.root, "--port", port]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${port}`);
  expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(2); // the error and its hint
  expect(r.stderr).toContain("hint: choose another --port");
  for (let i = 0; i < 20; i++) expect((await apiGet(ui, "/api/status")).status).toBe(200);
  // An address that is not this machine's: the hint is about --host, not the port.
  const bad = cli(["ui", "--root", ws.root, "--host", "[::1", "--port", port]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("hint: check --host");
}, 30_000);

test("read-only: a search that looks inside longer words, and a node's links, keep their caches in memory and write nothing to the store", async () => {
  // A server of its own, on a store without the words and filters caches (src/query/words.ts,
  // filters.ts), as the CLI would make them.
  const own = makeWorkspace();
  const before = treeHash(join(own.root, ".pkg"));
  expect(Object.keys(before).some((k) => k.endsWith("words.zst") || k.endsWith("filters.bin"))).toBe(false);
  const server = await startUi(own.root);
  try {
    const r = await body(apiGet(server, "/api/query?q=zzyzxqu"));
    expect(r.total).toBe(0);
    const inside = await body(apiGet(server, "/api/query?q=ostgre"));
    expect(inside.total).toBeGreaterThan(0); // only inside longer words
    const doc = `doc_${inside.hits[0].id.split("_")[1]}`;
    expect((await apiGet(server, `/api/node?id=${doc}`)).status).toBe(200);
    expect((await apiGet(server, `/api/neighbors?id=${doc}&depth=2`)).status).toBe(200);
  } finally { await server.stop(); }
  expect(treeHash(join(own.root, ".pkg"))).toEqual(before);
}, 30_000);

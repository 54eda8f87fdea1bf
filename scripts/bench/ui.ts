#!/usr/bin/env bun
/**
 * `auditgraph ui` benchmark on ../shared/bench/corpus-2000.tar.gz: the corpus is unpacked into a temp
 * workspace and ingested, `auditgraph ui` is started (from source, or --bin PATH: a compiled
 * executable), then
 *   - search as you type: every prefix (2 letters on) of a few words and phrases, each one
 *     GET /api/query over loopback, timed at the client (so server time + HTTP), a cold pass and a warm pass;
 *   - graph: the depth-2 neighbourhood of the busiest node (the most mentioned technology, and the
 *     document with the most edges among the top hits) drawn in headless Chromium, from the hash change
 *     to the first frame after layout (the page's own figure, request included), 5 times each after a
 *     first drawing (reported apart: on this page, which was idle for seconds before, it is no longer
 *     the page's first drawing, see below), with the CPU time of the page's main thread from the hash change
 *     until the figure is set (CDP ThreadTime: the work behind the figure, without the waiting for a
 *     core that a loaded machine adds), and a mouse-wheel zoom right after each drawing, timed to the
 *     frame after cytoscape's render; also the technology's 1,500- and 5,000-node views.
 *     The page's first graph is also counted: the technology's neighbourhood as the first graph of
 *     each of N new pages (p50 and max; the target uses the worse of it and the p50s above);
 *   - the server's RSS (VmRSS now and VmHWM, its peak) after all of it.
 * Prints figures and the targets (search p95 <= 30 ms, graph <= 500 ms, RSS <= 150 MB); exits non-zero only on errors.
 *
 *   bun run bench:ui [--bin PATH] [--corpus FILE] [--reps N]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const REPO = join(import.meta.dir, "..", "..");
const { values } = parseArgs({ options: { bin: { type: "string" }, corpus: { type: "string" }, reps: { type: "string" } } });
const corpus = values.corpus ?? join(REPO, "..", "shared", "bench", "corpus-2000.tar.gz");
const reps = Math.max(1, Number(values.reps ?? 5));
const exe = values.bin ? [values.bin] : [process.execPath, join(REPO, "src", "cli.ts")];
const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AUDITGRAPH_"))), AUDITGRAPH_NO_UPDATE_CHECK: "1", NO_COLOR: "1" } as Record<string, string>;
const TARGETS = { searchP95: 30, graphMs: 500, rssMb: 150 };
const WORDS = ["buffer", "provenance", "rebase", "event loop", "merge conflict", "readFileSync", "garbage collection", "worker thread"];

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.max(0, Math.ceil(p * s.length) - 1)]!; };
const f1 = (x: number) => x.toFixed(1);

const root = mkdtempSync(join(tmpdir(), "ag-bench-ui-"));
let server: Bun.Subprocess | undefined;
try {
  const t = Bun.spawnSync(["tar", "-xzf", corpus, "-C", root]);
  if (t.exitCode !== 0) throw new Error(`cannot unpack ${corpus}: ${t.stderr}`);
  const ing = Bun.spawnSync([...exe, "ingest", "--root", root], { env, stdout: "pipe", stderr: "pipe" });
  if (ing.exitCode !== 0) throw new Error(`ingest failed: ${ing.stderr}`);
  const counts = JSON.parse(readFileSync(join(root, ".pkg/profiles/default/runs", readFileSync(join(root, ".pkg/profiles/default/current"), "utf8").trim(), "manifest.json"), "utf8")).counts;
  console.log(`workspace: ${corpus.split("/").pop()} unpacked, ${counts.files} files, ${counts.nodes} nodes, ${counts.edges} edges (${values.bin ? values.bin : "from source"})`);

  // The server.
  const t0 = performance.now();
  server = Bun.spawn([...exe, "ui", "--root", root], { env, stdout: "pipe", stderr: "pipe" });
  const reader = (server.stdout as ReadableStream<Uint8Array>).getReader();
  let out = "";
  while (!out.includes("\n")) { const r = await reader.read(); if (r.done) throw new Error(`ui printed no URL: ${await new Response(server.stderr as ReadableStream).text()}`); out += new TextDecoder().decode(r.value); }
  const startMs = performance.now() - t0;
  const url = new URL(out.split("\n")[0]!.trim());
  const token = url.searchParams.get("token")!;
  const get = async (path: string) => {
    const a = performance.now();
    const r = await fetch(url.origin + path, { headers: { "x-auditgraph-token": token } });
    const body = (await r.json()) as any;
    const timing = r.headers.get("server-timing") ?? "";
    const server = Number(/app;dur=([\d.]+)/.exec(timing)?.[1] ?? NaN);
    const cpu = Number(/cpu;dur=([\d.]+)/.exec(timing)?.[1] ?? NaN);
    return { ms: performance.now() - a, server, cpu, status: r.status, body };
  };
  console.log(`ui started in ${f1(startMs)} ms (process start to the URL on stdout)`);

  // Search as you type.
  const prefixes = WORDS.flatMap((w) => Array.from({ length: w.length - 1 }, (_, i) => w.slice(0, i + 2)).filter((p) => !p.endsWith(" ")));
  const pass = async () => {
    const ms: number[] = [];
    const server: number[] = [];
    const cpu: number[] = [];
    let errors = 0, empty = 0;
    for (const p of prefixes) {
      const r = await get(`/api/query?q=${encodeURIComponent(p)}&limit=30`);
      ms.push(r.ms);
      server.push(r.server);
      cpu.push(r.cpu);
      if (r.status !== 200) errors++; else if (r.body.hits.length === 0) empty++;
    }
    return { ms, server, cpu, errors, empty };
  };
  const cold = await pass();
  const warm = await pass();
  console.log(`\nsearch as you type: ${prefixes.length} prefixes of ${WORDS.length} words ("bu", "buf", … "worker thread"), GET /api/query?limit=30, client-timed over loopback`);
  const line = (xs: number[]) => `p50 ${f1(pct(xs, 0.5))} ms, p95 ${f1(pct(xs, 0.95))} ms, max ${f1(Math.max(...xs))} ms`;
  console.log(`  first pass (each prefix new): server ${line(cold.server)}; its CPU ${line(cold.cpu)}; at the client ${line(cold.ms)} (${cold.empty} prefixes without hits, ${cold.errors} usage errors)`);
  console.log(`  second pass (answers kept):   server ${line(warm.server)}; its CPU ${line(warm.cpu)}; at the client ${line(warm.ms)}`);
  const slow = prefixes.map((p, i) => [p, cold.cpu[i]!, cold.server[i]!] as const).sort((a, b) => b[1] - a[1]).slice(0, 5);
  console.log(`  the 5 costliest prefixes (first pass, CPU / wall ms): ${slow.map(([p, c, w]) => `"${p}" ${f1(c)} / ${f1(w)}`).join(", ")}`);
  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  console.log(`  (load average ${load} on ${navigator.hardwareConcurrency} cores: wall times above the CPU times are time spent waiting for a core)`);
  const searchP95 = pct(cold.server, 0.95);

  const rssAfterSearch = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${server.pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
  console.log(`  server RSS after the searches: ${f1(rssAfterSearch)} MB`);

  // The busiest nodes: the most mentioned technology; the document with the most edges among the hits of a common word.
  const ov = (await get("/api/overview")).body;
  const tech = ov.technologies[0];
  const hits = (await get("/api/query?q=buffer&type=document&limit=30")).body.hits as { id: string }[];
  let doc = { id: "", edges: -1 };
  for (const h of hits) { const n = (await get(`/api/node?id=${h.id}`)).body; const e = n.out_edges.length + n.in_edges.length; if (e > doc.edges) doc = { id: h.id, edges: e }; }

  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  const firsts: number[] = [];
  let readied = 0;
  const graphs: { name: string; ms: number[]; nodes: number; api: number[]; draw: number[]; cpu: number[]; wheel: number[]; first: number }[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(url.href);
    await page.waitForSelector("#q");
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Performance.enable", { timeDomain: "threadTicks" } as never);
    const threadMs = async () => 1000 * ((await cdp.send("Performance.getMetrics")).metrics.find((m) => m.name === "ThreadTime")?.value ?? NaN);
    const cases = [
      [`technology ${tech.name} (${tech.count} mentions)`, tech.id, ""], [`document ${doc.id} (${doc.edges} edges)`, doc.id, ""],
      [`technology ${tech.name}, "Draw up to 1,500 nodes"`, tech.id, "&max=1500"],
      [`technology ${tech.name}, "Draw up to 5,000 nodes"`, tech.id, "&max=5000"],
    ] as const;
    const box = (await (await page.waitForSelector("main")).boundingBox())!;
    // The page's first graph, counted: a new page (in a new browser context, so no compiled code or
    // canvas is shared with another page) per run, loaded and shown the runs view, then the busiest
    // technology's neighbourhood, at once (the page readies cytoscape when it is idle after its first
    // view: whether that was done before the hash change is recorded, not waited for).
    for (let i = 0; i < reps; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      try {
        const p = await context.newPage();
        await p.goto(url.href);
        await p.waitForSelector("#q");
        await p.evaluate(() => { (globalThis as any).location.hash = "#/runs"; });
        await p.waitForSelector("table, .bar");
        const ready = await p.evaluate((nid) => {
          const w = globalThis as any;
          const r = w.document.documentElement.dataset.graphReady === "1";
          w.location.hash = `#/graph/${encodeURIComponent(nid)}?depth=2`;
          return r;
        }, tech.id);
        await p.waitForSelector("#graph[data-ms]", { timeout: 60_000 });
        firsts.push(Number(await p.getAttribute("#graph", "data-ms")));
        if (ready) readied++;
      } finally {
        await context.close();
      }
    }
    for (const [name, id, max] of cases) {
      const ms: number[] = [];
      const api: number[] = [];
      const draw: number[] = [];
      const cpu: number[] = [];
      const wheel: number[] = [];
      let nodes = 0, first = NaN;
      for (let i = 0; i <= reps; i++) {
        await page.evaluate(() => { (globalThis as any).location.hash = "#/runs"; });
        await page.waitForSelector("table, .bar");
        api.push((await get(`/api/neighbors?id=${encodeURIComponent(id)}&depth=2${max}`)).ms);
        const c0 = await threadMs();
        await page.evaluate(([nid, m]) => { (globalThis as any).location.hash = `#/graph/${encodeURIComponent(nid!)}?depth=2${m}`; }, [id, max]);
        await page.waitForSelector("#graph[data-ms]", { timeout: 60_000 });
        const c = (await threadMs()) - c0;
        nodes = Number(await page.getAttribute("#graph", "data-nodes"));
        const total = Number(await page.getAttribute("#graph", "data-ms"));
        // a wheel zoom in the middle of the drawing, right away: from the wheel event to the frame after cytoscape's render
        const g = (await page.locator("#graph").boundingBox()) ?? box;
        await page.mouse.move(g.x + g.width / 2, g.y + g.height / 2);
        await page.evaluate(() => {
          const cy = (globalThis as any).__auditgraphGraph;
          (globalThis as any).__wheel = new Promise<number>((done) => {
            const w = globalThis as any;
            w.addEventListener("wheel", () => { const t = performance.now(); cy.one("render", () => w.requestAnimationFrame(() => done(performance.now() - t))); }, { once: true, capture: true });
            setTimeout(() => done(NaN), 10_000);
          });
        });
        await page.mouse.wheel(0, -200);
        const w = await page.evaluate(() => (globalThis as any).__wheel as Promise<number>);
        if (i === 0) first = total; // the first run, apart (for the first case, the page's first graph)
        else { ms.push(total); draw.push(Number(await page.getAttribute("#graph", "data-draw"))); cpu.push(c); wheel.push(w); }
      }
      graphs.push({ name, ms, nodes, api, draw, cpu, wheel, first });
    }
  } finally {
    await browser.close();
  }
  console.log(`\ngraph view, depth 2, drawn in headless Chromium (hash change → request → cytoscape layout → first frame; ${reps} runs after a warm-up)`);
  for (const g of graphs) {
    console.log(`  ${g.name}: ${g.nodes} nodes drawn; p50 ${f1(pct(g.ms, 0.5))} ms, max ${f1(Math.max(...g.ms))} ms (of which cytoscape, from the call to the first frame: p50 ${f1(pct(g.draw, 0.5))} ms; the API call alone: p50 ${f1(pct(g.api, 0.5))} ms); the page's main-thread CPU: p50 ${f1(pct(g.cpu, 0.5))} ms`);
    console.log(`      the first run, not counted above: ${f1(g.first)} ms${g === graphs[0] ? " (this page's first graph, drawn after seconds of idle time in which it readied cytoscape; counted below in new pages)" : ""}; a wheel zoom right after drawing, to the next frame: p50 ${f1(pct(g.wheel, 0.5))} ms, max ${f1(Math.max(...g.wheel))} ms`);
  }
  console.log(`  the page's first graph (${tech.name}, depth 2), in ${reps} new pages: p50 ${f1(pct(firsts, 0.5))} ms, max ${f1(Math.max(...firsts))} ms (${firsts.map((x) => x.toFixed(0)).join(", ")}; cytoscape readied before the hash change in ${readied} of ${reps})`);
  const gload = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  console.log(`  (load average ${gload} on ${navigator.hardwareConcurrency} cores)`);
  const graphP50 = Math.max(...graphs.slice(0, 2).map((g) => pct(g.ms, 0.5)));
  const firstP50 = pct(firsts, 0.5);
  const graphMs = Math.max(graphP50, firstP50);

  const status = readFileSync(`/proc/${server.pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
  const rss = kb("VmRSS") / 1024, hwm = kb("VmHWM") / 1024;
  console.log(`\nserver RSS: ${f1(rss)} MB now, ${f1(hwm)} MB peak (VmHWM)`);

  console.log(`\ntargets: search p95 (server, first pass) ${f1(searchP95)} ms (≤ ${TARGETS.searchP95}: ${searchP95 <= TARGETS.searchP95 ? "met" : "NOT met"}), ` +
    `graph (default view, 500 nodes; the worse of the p50 ${f1(graphP50)} ms and the page's first graph, p50 ${f1(firstP50)} ms) ${f1(graphMs)} ms (≤ ${TARGETS.graphMs}: ${graphMs <= TARGETS.graphMs ? "met" : "NOT met"}), ` +
    `RSS peak ${f1(hwm)} MB (≤ ${TARGETS.rssMb}: ${hwm <= TARGETS.rssMb ? "met" : "NOT met"})`);
} finally {
  server?.kill("SIGTERM");
  await server?.exited;
  rmSync(root, { recursive: true, force: true });
}

// `auditgraph mcp` from source, through the MCP SDK's own client over a real stdio process: the
// tools and their schemas, each tool's result against the CLI's --json, bad arguments as one-line
// tool errors, a new ingest seen without a restart, and the refusal of an incompatible store.
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AG, cleanup, cli, treeHash, workspace } from "../helpers/cli.ts";
import { MAX_LINE_BYTES } from "../../src/mcp/stdio.ts";
import { connect, serverEnv, textOf, type Session } from "./support.ts";

// Each test spawns several CLI processes: a minute, as tests/helpers/preload.ts gives when this file runs alone.
setDefaultTimeout(60_000);

let root: string;
let s: Session;
let graph: { nodes: any[]; edges: any[] };
let stored: Record<string, string>;
const doc = (path: string) => graph.nodes.find((n) => n.type === "document" && n.path === path)!.id as string;

beforeAll(async () => {
  root = workspace();
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  graph = cli(["export", "--root", root]).json;
  stored = treeHash(join(root, ".pkg"));
  s = await connect(root);
}, 30_000);
afterAll(async () => { await s?.close(); cleanup(); });

const call = async (name: string, args: Record<string, unknown>) => {
  const r: any = await s.client.callTool({ name, arguments: args });
  return r;
};
/** A successful call's result, which is both the text content (JSON) and the structured content. */
const ok = async (name: string, args: Record<string, unknown>) => {
  const r = await call(name, args);
  if (r.isError) throw new Error(`${name} failed: ${textOf(r)}`);
  expect(JSON.parse(textOf(r))).toEqual(r.structuredContent);
  return r.structuredContent;
};

describe("tools", () => {
  test("six read-only tools, each with a JSON Schema of its arguments", async () => {
    const { tools } = await s.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(["query", "node", "neighbors", "why_connected", "list", "export_subgraph"]);
    for (const t of tools) {
      expect(t.inputSchema.type).toBe("object");
      expect((t.inputSchema as any).additionalProperties).toBe(false);
      expect(t.annotations?.readOnlyHint).toBe(true);
      expect(t.description!.length).toBeGreaterThan(40);
    }
    const q = tools.find((t) => t.name === "query")!.inputSchema as any;
    expect(q.required).toEqual(["text"]);
    expect(q.properties.limit).toMatchObject({ type: "integer", minimum: 1, maximum: 100, default: 10 });
    expect(q.properties.types.items.enum).toContain("section");
  });

  test("query: the CLI's --json result, hits with path and line", async () => {
    const r = await ok("query", { text: "postgresql", limit: 5 });
    const c = cli(["query", "postgresql", "--limit", "5", "--root", root, "--json"]).json;
    expect(r).toEqual(c);
    expect(r.hits.length).toBe(5);
    for (const h of r.hits) { expect(typeof h.path).toBe("string"); expect(h.line).toBeGreaterThan(0); }
    const f = await ok("query", { text: "postgresql", types: ["section"], path: "notes/**" });
    expect(f).toEqual(cli(["query", "postgresql", "--type", "section", "--path", "notes/**", "--root", root, "--json"]).json);
    expect(f.hits.every((h: any) => h.type === "section" && h.path.startsWith("notes/"))).toBe(true);
  });

  test("node: a document, a chunk (with its text) and a shared node, as the CLI gives them", async () => {
    const chunk = graph.nodes.find((n) => n.type === "chunk").id;
    for (const id of [doc("notes/runbook.md"), chunk, "tech_postgresql"]) {
      const r = await ok("node", { id });
      expect(r).toEqual(cli(["node", id, "--root", root, "--json"]).json);
      expect(r.node.path).toBeTruthy();
      expect(r.node.line).toBeGreaterThan(0);
    }
  });

  test("neighbors: the CLI's result plus total and truncated; limit keeps the nearest", async () => {
    const id = doc("notes/runbook.md");
    const r = await ok("neighbors", { id, depth: 2 });
    const { total, truncated, ...rest } = r;
    expect(rest).toEqual(cli(["neighbors", id, "--depth", "2", "--root", root, "--json"]).json);
    expect([total, truncated]).toEqual([rest.nodes.length, false]);
    const cut = await ok("neighbors", { id, depth: 2, limit: 3 });
    const near = rest.nodes.filter((n: { depth: number }) => n.depth === 1).length;
    expect(near).toBeGreaterThan(3); // so the walk stops after depth 1 and reads no further
    expect([cut.nodes.length, cut.total, cut.truncated]).toEqual([3, near, true]);
    expect(cut.nodes).toEqual(rest.nodes.slice(0, 3));
    const kept = new Set([id, ...cut.nodes.map((n: { id: string }) => n.id)]);
    expect(cut.edges).toEqual(rest.edges.filter((e: { source: string; target: string }) => kept.has(e.source) && kept.has(e.target)));
    expect(await ok("neighbors", { id, depth: 10, limit: 3 })).toEqual({ ...cut, depth: 10 });
    const only = await ok("neighbors", { id, edge_types: ["mentions"] });
    expect(only).toMatchObject({ nodes: cli(["neighbors", id, "--edge-type", "mentions", "--root", root, "--json"]).json.nodes });
  });

  test("why_connected and list: the CLI's results", async () => {
    const a = doc("notes/runbook.md");
    const b = doc("notes/adr/0001-use-postgresql.md");
    expect(await ok("why_connected", { a, b, all: true })).toEqual(cli(["why-connected", a, b, "--all", "--root", root, "--json"]).json);
    const l = await ok("list", { types: ["section"], where: ["path=notes/runbook.md"], sort: "line", desc: true, limit: 2, offset: 1 });
    expect(l).toEqual(cli(["list", "--type", "section", "--where", "path=notes/runbook.md", "--sort", "line", "--desc", "--limit", "2", "--offset", "1", "--root", root, "--json"]).json);
    expect(await ok("list", { group_by: "type" })).toEqual(cli(["list", "--group-by", "type", "--root", root, "--json"]).json);
    expect(await ok("list", { count_only: true })).toEqual({ status: "ok", run_id: l.run_id, total: graph.nodes.length });
  });

  test("export_subgraph: the CLI's subgraph export, bounded, and other formats as text", async () => {
    const id = doc("notes/runbook.md");
    const r = await ok("export_subgraph", { id, depth: 2 });
    const c = cli(["export", "--subgraph", id, "--depth", "2", "--root", root]).json;
    expect([r.nodes, r.edges, r.truncated]).toEqual([c.nodes, c.edges, false]);
    const cut = await ok("export_subgraph", { id, depth: 2, max_nodes: 3, max_edges: 2 });
    expect(cut.truncated).toBe(true);
    expect(cut.nodes.length).toBe(3);
    expect(cut.edges.length).toBeLessThanOrEqual(2);
    const ids = new Set(cut.nodes.map((n: any) => n.id));
    expect(ids.has(id)).toBe(true);
    expect(cut.edges.every((e: any) => ids.has(e.source) && ids.has(e.target))).toBe(true);
    // max_edges bounds the walk: one edge keeps the start and one neighbour, however deep the walk goes.
    const one = await ok("export_subgraph", { id: "tech_postgresql", depth: 3, max_edges: 1 });
    expect([one.nodes.length, one.edges.length, one.truncated]).toEqual([2, 1, true]);
    expect(one.nodes.map((n: any) => n.id)).toContain("tech_postgresql");
    const cy: any = await call("export_subgraph", { id, format: "cypher" });
    expect(cy.isError).toBeFalsy();
    expect(textOf(cy)).toBe(cli(["export", "--subgraph", id, "--format", "cypher", "--root", root]).stdout);
    expect(cy.structuredContent).toMatchObject({ format: "cypher", truncated: false, start: id });
  });
});

describe("export_subgraph bounds", () => {
  test("every kept node is reached by a kept edge, and no node left out is nearer the start than one kept", async () => {
    const start = "tech_postgresql";
    const depthOf = new Map<string, number>([[start, 0], ...cli(["neighbors", start, "--depth", "3", "--root", root, "--json"]).json.nodes.map((n: any) => [n.id, n.depth] as [string, number])]);
    const full = await ok("export_subgraph", { id: start, depth: 3, max_nodes: 5000, max_edges: 20000 });
    expect(full.truncated).toBe(false);
    for (const [maxNodes, maxEdges] of [[5000, 1], [5000, 7], [5000, 25], [4, 20000], [12, 20000], [12, 9]]) {
      const cut = await ok("export_subgraph", { id: start, depth: 3, max_nodes: maxNodes, max_edges: maxEdges });
      expect(cut.truncated).toBe(true);
      expect(cut.nodes.length).toBeLessThanOrEqual(maxNodes);
      expect(cut.edges.length).toBeLessThanOrEqual(maxEdges);
      const kept = new Set<string>(cut.nodes.map((n: any) => n.id));
      expect(kept.has(start)).toBe(true);
      expect(cut.edges.every((e: any) => kept.has(e.source) && kept.has(e.target))).toBe(true);
      const touched = new Set<string>([start, ...cut.edges.flatMap((e: any) => [e.source, e.target])]);
      expect([...kept].filter((n) => !touched.has(n))).toEqual([]);
      const farthestKept = Math.max(...[...kept].map((n) => depthOf.get(n)!));
      const nearestLeft = Math.min(...[...depthOf].filter(([n]) => !kept.has(n)).map(([, d]) => d));
      expect(farthestKept).toBeLessThanOrEqual(nearestLeft);
    }
  });
});

describe("bad arguments", () => {
  test("are tool errors of one line, and the server goes on answering", async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ["query", {}, "invalid arguments for query: 'text': Invalid input"],
      ["query", { text: "x", limit: 0 }, "invalid arguments for query: 'limit': Too small"],
      ["query", { text: "x", limit: "5" }, "invalid arguments for query: 'limit': Invalid input: expected number, received string"],
      ["query", { text: "x", colour: "red" }, "invalid arguments for query: arguments: Unrecognized key"],
      ["query", { text: "x", types: ["planet"] }, "invalid arguments for query: 'types.0': Invalid option"],
      ["query", { text: "the of and" }, "has only common words"],
      ["query", { text: "colour:red" }, "unknown filter"],
      ["node", { id: "doc_00000000000000000000" }, "node 'doc_00000000000000000000' not found in run"],
      ["neighbors", { id: "tech_postgresql", depth: 11 }, "invalid arguments for neighbors: 'depth': Too big"],
      ["why_connected", { a: "tech_postgresql" }, "invalid arguments for why_connected: 'b'"],
      ["list", { where: ["nonsense"] }, "'where' takes FIELD=VALUE"],
      ["list", { where: ["colour=red"] }, "'where': unknown field 'colour'"],
      ["list", { group_by: "colour" }, "'group_by': unknown field 'colour'"],
      ["list", { sort: "colour" }, "'sort': unknown field 'colour'"],
      ["list", { group_by: "type", limit: 2 }, "'limit' applies to a list of nodes, and 'group_by' counts every group"],
      ["list", { group_by: "type", sort: "name" }, "'sort' applies to a list of nodes, and 'group_by' counts every group"],
      ["export_subgraph", { id: "tech_postgresql", max_nodes: 1e9 }, "invalid arguments for export_subgraph: 'max_nodes': Too big"],
      ["export_subgraph", { id: "tech_nothing" }, "node 'tech_nothing' not found"],
      ["drop_database", {}, "unknown tool 'drop_database'"],
      // The filter parameters beside the text have the text's limit, together (1,000 characters).
      ["query", { text: "redis", path: `${"p".repeat(600)}/**`, tag: "t".repeat(500) }, "filter values are 1103 characters long; the limit is 1000"],
    ];
    for (const [name, args, want] of cases) {
      const r = await call(name, args);
      expect(r.isError).toBe(true);
      const text = textOf(r);
      expect(text).toContain(want);
      expect(text.includes("\n")).toBe(false);
      expect(text).not.toContain("    at ");
      expect(text).not.toMatch(/--[a-z]/); // the tool's argument names, not the CLI's flags
    }
    expect((await ok("query", { text: "redis" })).total).toBeGreaterThan(0);
  });
});

describe("read-only", () => {
  const WORDS = "profiles/default/cache/words.zst";
  const FILTERS = "profiles/default/cache/filters.bin";
  test("after every tool was called, the store is byte for byte what ingest left", async () => {
    // Only the words and filters caches (src/query/words.ts, filters.ts), which the CLI's commands compared against above keep.
    const now = treeHash(join(root, ".pkg"));
    expect(now[WORDS]).toBeDefined();
    expect(now[FILTERS]).toBeDefined();
    delete now[WORDS];
    delete now[FILTERS];
    expect(now).toEqual(stored);
    // The server keeps its own in memory: a query that needs the words, and a node that needs the
    // filters, on a store without the caches, write nothing.
    rmSync(join(root, ".pkg", WORDS));
    rmSync(join(root, ".pkg", FILTERS));
    const before = treeHash(join(root, ".pkg"));
    const fresh = await connect(root);
    try {
      const r: any = await fresh.client.callTool({ name: "query", arguments: { text: "zzyzxqu" } });
      expect(r.isError, textOf(r)).toBeFalsy();
      expect(r.structuredContent.total).toBe(0);
      const n: any = await fresh.client.callTool({ name: "node", arguments: { id: doc("notes/runbook.md") } });
      expect(n.isError, textOf(n)).toBeFalsy();
      expect(n.structuredContent.in_edges.length + n.structuredContent.out_edges.length).toBeGreaterThan(0);
    } finally { await fresh.close(); }
    expect(treeHash(join(root, ".pkg"))).toEqual(before);
  });
});

describe("a store that changes under the server", () => {
  test("a new ingest is seen by the next call, without a restart", async () => {
    expect((await ok("query", { text: "quokkaflux" })).total).toBe(0);
    const oldRun = (await ok("list", { count_only: true })).run_id;
    writeFileSync(join(root, "notes", "zoo.md"), "# Zoo\n\nThe quokkaflux capacitor powers the orders service.\n");
    const ing = cli(["ingest", "--root", root, "--json"]);
    expect(ing.code).toBe(0);
    const r = await ok("query", { text: "quokkaflux" });
    expect(r.run_id).toBe(ing.json.run_id);
    expect(r.run_id).not.toBe(oldRun);
    expect(r.hits.map((h: any) => `${h.path}:${h.line}`)).toContain("notes/zoo.md:3");
    expect(s.stderr()).toBe("");
  });
});

/**
 * Spawns `auditgraph mcp` without a client, writes `input` and returns what it printed and its exit
 * code. Several inputs are written one after the other, `pauseMs` apart (the server has read one
 * before the next arrives).
 */
async function raw(root: string, input: string | string[], pauseMs = 0) {
  const p = Bun.spawn([...AG, "mcp", "--root", root], { env: serverEnv(), stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const out = Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  for (const [i, part] of (typeof input === "string" ? [input] : input).entries()) {
    if (i > 0) await Bun.sleep(pauseMs);
    p.stdin.write(part);
    await p.stdin.flush();
  }
  await p.stdin.end();
  const [stdout, stderr, code] = await out;
  return { stdout, stderr, code };
}

describe("the process", () => {
  test("stdout carries only JSON-RPC messages, and the server ends with its input", async () => {
    const msgs = [
      { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } },
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "query", arguments: { text: "postgresql" } } },
      { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "query", arguments: { text: 5 } } },
    ];
    const r = await raw(root, msgs.map((m) => JSON.stringify(m)).join("\n") + "\n");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.jsonrpc, l.id])).toEqual([["2.0", 1], ["2.0", 2], ["2.0", 3]]);
    expect(lines[1].result.isError).toBeUndefined();
    expect(lines[2].result.isError).toBe(true);
  });

  test("protocol errors: a line that is not JSON is -32700 with id null, bad params -32602 of one line, and the server goes on", async () => {
    const init = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } };
    const lines = [
      JSON.stringify(init),
      JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
      "this is not json",
      JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "query", arguments: "str" } }),
      JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { arguments: {} } }),
      JSON.stringify({ jsonrpc: "2.0", id: 4, result: 5, error: 6, method: 7 }),
      JSON.stringify([{ jsonrpc: "2.0", id: 5, method: "ping" }]),
      "{\"jsonrpc\": \"2.0\", \"id\": 6, \"method\": ",
      "",
      JSON.stringify({ jsonrpc: "2.0", id: 7, method: "no/such/method" }),
      JSON.stringify({ jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "query", arguments: { text: "postgresql" } } }),
      // A key named __proto__ (the SDK's checks would make it the prototype: the tool ignored what was under it).
      '{"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "list", "arguments": {"__proto__": {"limit": 5}}}}',
      '{"jsonrpc": "2.0", "id": 10, "method": "tools/call", "params": {"name": "list", "arguments": {"\\u005f_proto__": {"limit": 5}}}}', // spelled with an escape
    ];
    const r = await raw(root, lines.join("\n") + "\n");
    expect(r.code).toBe(0);
    const out = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    const errs = out.filter((m) => m.error).map((m) => [m.id, m.error.code]);
    expect(errs).toEqual([[null, -32700], [2, -32602], [3, -32602], [4, -32600], [null, -32600], [null, -32700], [7, -32601], [9, -32602], [10, -32602]]);
    expect(out.find((m) => m.id === 9).error.message).toBe('Invalid params: a key named "__proto__" is not accepted');
    for (const m of out.filter((x) => x.error)) expect(m.error.message.includes("\n")).toBe(false);
    const bad = out.find((m) => m.id === 2).error.message;
    expect(bad).toBe("Invalid params for tools/call: 'arguments': Invalid input: expected record, received string");
    expect(out.find((m) => m.id === 3).error.message).toContain("'name'");
    expect(out.find((m) => m.id === 8).result.isError).toBeUndefined();
    expect(out.find((m) => m.id === 8).result.structuredContent.total).toBeGreaterThan(0);
  });

  test("a notification whose params do not fit (no answer is due) is one stderr line naming the field, and the server goes on", async () => {
    const init = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } };
    const r = await raw(root, [
      JSON.stringify(init),
      JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled" }),
      JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: { a: 1 } } }),
      JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" }),
    ].join("\n") + "\n");
    expect(r.code).toBe(0);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toStartWith("auditgraph mcp: ");
    expect(lines[0]).toContain("params: ");
    expect(lines[1]).toContain("params.requestId: ");
    expect(r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l).id)).toEqual([1, 2]);
  });

  test("messages cut anywhere (mid-character, between \\r and \\n, a chunk starting with its newline) are read whole", async () => {
    const init = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } });
    const q = (id: number, text: string) => JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "query", arguments: { text } } });
    const all = Buffer.from([q(2, "postgresql größe"), q(3, "postgresql"), q(4, "ünïcödé postgresql")].join("\r\n") + "\n");
    // Cut points: inside `ö` (2 bytes), right after a `\r`, right before a `\n`, and two messages' worth in one chunk.
    const umlaut = all.indexOf(Buffer.from("ö")) + 1;
    const cr = all.indexOf(0x0d) + 1;
    const nl2 = all.indexOf(0x0a, cr + 1);
    const cuts = [0, umlaut, cr, nl2, all.length - 7, all.length].sort((a, b) => a - b);
    const parts = cuts.slice(1).map((c, i) => all.subarray(cuts[i], c));
    expect(parts.some((p) => p[0] === 0x0a)).toBe(true);
    const p = Bun.spawn([...AG, "mcp", "--root", root], { env: serverEnv(), stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    const reader = p.stdout.getReader();
    let stdout = "";
    const decoder = new TextDecoder();
    // The server is reading once it has answered initialize: from then on each part arrives alone.
    p.stdin.write(init + "\n");
    await p.stdin.flush();
    while (!stdout.includes("\n")) { const r = await reader.read(); if (r.done) break; stdout += decoder.decode(r.value, { stream: true }); }
    for (const part of parts) { p.stdin.write(part); await p.stdin.flush(); await Bun.sleep(50); }
    await p.stdin.end();
    for (let r = await reader.read(); !r.done; r = await reader.read()) stdout += decoder.decode(r.value, { stream: true });
    expect(await p.exited).toBe(0);
    const msgs = stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(msgs.map((m) => [m.id, m.error?.code ?? "ok"])).toEqual([[1, "ok"], [2, "ok"], [3, "ok"], [4, "ok"]]);
    expect(msgs[1].result.structuredContent.query).toBe("postgresql größe");
    expect(msgs[3].result.structuredContent.query).toBe("ünïcödé postgresql");
  });

  test("input that ends without a newline: its last message is answered before the server stops", async () => {
    const init = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } });
    const call = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "query", arguments: { text: "postgresql" } } });
    const r = await raw(root, init + "\n" + call);
    expect(r.code).toBe(0);
    const out = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(out.map((m) => m.id)).toEqual([1, 2]);
    expect(out[1].result.structuredContent.total).toBeGreaterThan(0);
  });

  test("a client that closes its end of stdout: the server ends quietly, exit 0, no stack", async () => {
    const p = Bun.spawn([...AG, "mcp", "--root", root], { env: serverEnv(), stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    await p.stdout.cancel(); // the read end closed before anything is written
    await Bun.sleep(300);
    p.stdin.write(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }) + "\n");
    await p.stdin.flush();
    await Bun.sleep(500);
    await p.stdin.end();
    const code = await p.exited;
    const stderr = await new Response(p.stderr).text();
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  });

  test("a line over 10 MiB is -32700 and skipped to its newline, whether it crosses the limit before the chunk with its newline or in it", async () => {
    const init = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } });
    const after = JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "query", arguments: { text: "postgresql" } } });
    // A valid request, `over` bytes longer than the limit.
    const long = (over: number) => {
      const head = `{"jsonrpc":"2.0","id":2,"method":"ping","params":{"pad":"`;
      return head + "x".repeat(MAX_LINE_BYTES + over - head.length - 3) + `"}}`;
    };
    const answers = (stdout: string) => stdout.trimEnd().split("\n").map((l) => JSON.parse(l)).map((m) => [m.id, m.error?.code ?? "ok", m.error?.message]);
    const expected = [[1, "ok", undefined], [null, -32700, `Parse error: a message longer than ${MAX_LINE_BYTES} bytes`], [3, "ok", undefined]];
    // Split: the line arrives in many chunks, the limit passed before its newline.
    const split = long(1 << 20);
    expect(split.length).toBe(MAX_LINE_BYTES + (1 << 20));
    const a = await raw(root, [init, "\n", split, "\n", after, "\n"].join(""));
    expect(a.code).toBe(0);
    expect(answers(a.stdout)).toEqual(expected);
    // Whole: all but its last bytes are read first (under the limit); the chunk with its newline
    // brings the whole line past it. It was taken as a request (a ping answered).
    const whole = long(5);
    expect(whole.length).toBe(MAX_LINE_BYTES + 5);
    const b = await raw(root, [init + "\n" + whole.slice(0, -10), whole.slice(-10) + "\n" + after + "\n"], 1000);
    expect(b.code).toBe(0);
    expect(answers(b.stdout)).toEqual(expected);
  });

  test("an incompatible store: refuses to start with the CLI's message and exit 3, writing nothing on stdout", async () => {
    const w = workspace();
    expect(cli(["ingest", "--root", w]).code).toBe(0);
    const pd = join(w, ".pkg/profiles/default");
    const mp = join(pd, "runs", readFileSync(join(pd, "current"), "utf8").trim(), "manifest.json");
    writeFileSync(mp, readFileSync(mp, "utf8").replace(/"schema_version": ?"[^"]+"/, '"schema_version":"99.0.0"'));
    const q = cli(["query", "x", "--root", w]);
    expect(q.code).toBe(3);
    const r = await raw(w, "");
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(q.stderr);
    expect(r.stderr).toContain("Run 'auditgraph rebuild'");
  });

  test("a store that turns incompatible while serving: calls answer the rebuild message as a tool error", async () => {
    const w = workspace();
    expect(cli(["ingest", "--root", w]).code).toBe(0);
    const t = await connect(w);
    try {
      expect((await t.client.callTool({ name: "query", arguments: { text: "postgresql" } })).isError).toBeFalsy();
      writeFileSync(join(w, "notes", "new.md"), "# New\n\nanother run\n");
      expect(cli(["ingest", "--root", w]).code).toBe(0);
      const pd = join(w, ".pkg/profiles/default");
      const mp = join(pd, "runs", readFileSync(join(pd, "current"), "utf8").trim(), "manifest.json");
      writeFileSync(mp, readFileSync(mp, "utf8").replace(/"schema_version": ?"[^"]+"/, '"schema_version":"99.0.0"'));
      const r: any = await t.client.callTool({ name: "query", arguments: { text: "postgresql" } });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toContain("Run 'auditgraph rebuild'");
      expect(textOf(r).includes("\n")).toBe(false);
    } finally { await t.close(); }
  });

  test("a workspace without a run yet: the server starts and each call says to ingest", async () => {
    const w = workspace({ "notes/a.md": "# A\n\nalpha\n" });
    const t = await connect(w);
    try {
      const r: any = await t.client.callTool({ name: "list", arguments: {} });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toContain("no run in");
      expect(textOf(r)).toContain("auditgraph ingest");
      expect(cli(["ingest", "--root", w]).code).toBe(0);
      const l: any = await t.client.callTool({ name: "list", arguments: { count_only: true } });
      expect(l.isError).toBeFalsy();
      expect(l.structuredContent.total).toBeGreaterThan(0);
    } finally { await t.close(); }
  });
});

// The MCP SDK inside the compiled executable: the linux-x64 binary of the shared release build
// (tests/helpers/release-build.ts) serves the SDK's own client over stdio, lists its tools, answers a
// query and reports bad arguments as a tool error. The same binary's cypher/jsonl/subgraph exports
// and validate-store answer as the source does.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, workspace } from "../helpers/cli.ts";
import { run, sharedLinuxExe } from "../release/support.ts";
import { connect, textOf } from "./support.ts";

let exe: string;
let root: string;

beforeAll(async () => {
  exe = await sharedLinuxExe("ag-mcpbin-");
  root = workspace();
  expect(cli(["ingest", "--root", root]).code).toBe(0);
}, 600_000);
afterAll(cleanup);

test("the compiled linux-x64 executable serves MCP over stdio", async () => {
  const s = await connect(root, exe);
  try {
    const { tools } = await s.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(["query", "node", "neighbors", "why_connected", "list", "export_subgraph"]);
    const r: any = await s.client.callTool({ name: "query", arguments: { text: "postgresql", limit: 3 } });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toEqual(cli(["query", "postgresql", "--limit", "3", "--root", root, "--json"]).json);
    const bad: any = await s.client.callTool({ name: "neighbors", arguments: { id: "tech_postgresql", depth: 0 } });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toContain("invalid arguments for neighbors: 'depth': Too small");
    const sub: any = await s.client.callTool({ name: "export_subgraph", arguments: { id: "tech_postgresql", format: "cypher" } });
    expect(textOf(sub)).toContain("CREATE CONSTRAINT `auditgraph_node_id` IF NOT EXISTS");
    expect(s.stderr()).toBe("");
  } finally {
    await s.close();
  }
}, 60_000);

test("the compiled executable answers JSON-RPC's parse and invalid-params errors", async () => {
  const p = Bun.spawn([exe, "mcp", "--root", root], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: { ...process.env, AUDITGRAPH_NO_UPDATE_CHECK: "1" } });
  p.stdin.write("not json\n" + JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "query", arguments: "str" } }) + "\n");
  await p.stdin.end();
  const out = (await new Response(p.stdout).text()).trimEnd().split("\n").map((l) => JSON.parse(l));
  expect(await p.exited).toBe(0);
  expect(out.map((m) => [m.id, m.error?.code])).toEqual([[null, -32700], [2, -32602]]);
}, 60_000);

test("the compiled executable's exports and validate-store answer as the source does", () => {
  const env = { ...process.env, AUDITGRAPH_NO_UPDATE_CHECK: "1" };
  for (const args of [["export", "--format", "cypher"], ["export", "--format", "jsonl"], ["export", "--subgraph", "tech_postgresql", "--depth", "2", "--format", "cypher"]]) {
    const b = run([exe, ...args, "--root", root], { env });
    expect(b.code).toBe(0);
    expect(b.stdout).toBe(cli([...args, "--root", root]).stdout);
  }
  expect(run([exe, "validate-store", "--root", root], { env }).code).toBe(0);
  const w = workspace({ "notes/leak.md": "# Leak\n\nkey AKIAIOSFODNN7EXAMPLE here\n" });
  writeFileSync(join(w, "weak.yaml"), "security:\n  redaction:\n    detectors: [jwt]\n");
  expect(cli(["ingest", "--root", w, "--config", join(w, "weak.yaml")]).code).toBe(0);
  const r = run([exe, "validate-store", "--root", w, "--json"], { env });
  expect(r.code).toBe(5);
  expect(JSON.parse(r.stdout).findings).toEqual([expect.objectContaining({ path: "notes/leak.md", line: 3, kind: "vendor_token" })]);
  expect(r.stdout + r.stderr).not.toContain("AKIAIOSFODNN7EXAMPLE");
}, 60_000);

/**
 * `auditgraph mcp`: the Model Context Protocol over stdio, with the official SDK's low-level
 * Server (only its server and types modules are imported, with zod, through sdk.ts: a module of its
 * own in the executable, loaded here) over our own stdio transport (stdio.ts: JSON-RPC's parse,
 * invalid-request and invalid-params errors). Tools are in tools.ts. Stdout carries nothing but
 * protocol messages; diagnostics go to stderr.
 *
 * The store is opened through the same compatibility gate as every read command (an incompatible
 * store refuses to start: exit 3 with the CLI's message). Each tool call reads the run pointer (one
 * small file) and re-opens the index only when it names another run, so a new ingest is visible
 * without a restart. A call never crashes the server: bad arguments, unknown ids, a store that
 * turned incompatible or a damaged segment are tool errors (isError) of one line.
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { Workspace } from "../config/load.ts";
import { RunIndex } from "../query/run-index.ts";
import { loadEntry } from "../shared/entries.ts";
import { AgError, describeError } from "../shared/errors.ts";
import { readPointer } from "../store/manifest.ts";
import { openStore, type OpenStore } from "../store/open.ts";
import { LineTransport } from "./stdio.ts";
import { inputSchema, makeTools, parseArgs, type Ctx, type Tool } from "./tools.ts";

/**
 * An error the SDK reports outside a request (a notification whose params do not fit its schema)
 * as one line that says what is wrong: the SDK's message holds zod's issues as indented JSON over
 * many lines, whose first line alone was "Uncaught error in notification handler: [".
 */
function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const at = message.indexOf("[");
  if (at >= 0) {
    try {
      const issues = JSON.parse(message.slice(at)) as { path?: unknown[]; message?: string }[];
      if (Array.isArray(issues) && issues.length) {
        const said = issues.map((i) => `${Array.isArray(i.path) && i.path.length ? i.path.join(".") : "message"}: ${i.message ?? "invalid"}`).join("; ");
        return `${message.slice(0, at).trim().replace(/:$/, "")}: ${said}`.slice(0, 500);
      }
    } catch {}
  }
  return (describeError(err) || message).replace(/\s+/g, " ").slice(0, 500);
}

/** Calls served by one RunIndex before it is opened afresh: its caches (records, graph parts, blocks) only grow. */
export const REOPEN_AFTER_CALLS = 1000;

/** The current run's index, re-opened when the pointer moves to another run (and every REOPEN_AFTER_CALLS calls). */
export class LiveIndex {
  private cur?: { runId: string; store: OpenStore; ix: RunIndex; calls: number };
  constructor(readonly ws: Workspace) {}

  /** Throws AgError as a read command would (no run yet, incompatible store, broken manifest). */
  get(): Ctx {
    const pointer = readPointer(this.ws.profileDir);
    if (this.cur && this.cur.runId === pointer && ++this.cur.calls <= REOPEN_AFTER_CALLS) return this.cur;
    const store = openStore(this.ws);
    this.cur?.ix.close();
    this.cur = { runId: store.runId, store, ix: new RunIndex(store), calls: 1 };
    return this.cur;
  }

  close(): void { this.cur?.ix.close(); this.cur = undefined; }
}

/** One line for a tool error: the error's message and, for ours, its hint. */
const errorLine = (err: unknown) =>
  (err instanceof AgError ? `${err.message}${err.hint ? ` (${err.hint})` : ""}` : `internal error: ${describeError(err)}`).replace(/\s+/g, " ");

const fail = (text: string): CallToolResult => ({ isError: true, content: [{ type: "text", text }] });

/** Answers one tools/call. Never throws. */
export function callTool(tools: Tool[], live: LiveIndex, name: string, args: unknown): CallToolResult {
  const t = tools.find((x) => x.name === name);
  if (!t) return fail(`unknown tool '${name}': the tools are ${tools.map((x) => x.name).join(", ")}`);
  const parsed = parseArgs(t, args);
  if (!parsed.ok) return fail(parsed.message);
  try {
    const result = t.run(live.get(), parsed.value as never);
    if (t.name === "export_subgraph" && typeof result.text === "string") {
      const { text, ...summary } = result;
      return { content: [{ type: "text", text }], structuredContent: summary };
    }
    return { content: [{ type: "text", text: JSON.stringify(result) }], structuredContent: result };
  } catch (err) {
    return fail(errorLine(err));
  }
}

/**
 * Serves until standard input ends (or SIGINT/SIGTERM). Opens the store first: an incompatible or
 * broken store throws its AgError before anything is written to stdout; an empty one (no ingest
 * yet) is served, each call answering how to fill it.
 */
export async function serveMcp(ws: Workspace, info: { version: string }): Promise<void> {
  const live = new LiveIndex(ws);
  try { live.get(); } catch (err) {
    if (!(err instanceof AgError && err.code === "no_run")) throw err;
  }
  const sdk = await loadEntry<typeof import("./sdk.ts")>("mcp/sdk.ts");
  const { Server, CallToolRequestSchema, ListToolsRequestSchema, z } = sdk;
  const tools = makeTools(z);
  const server = new Server(
    { name: "auditgraph", title: "auditgraph knowledge graph", version: info.version },
    {
      capabilities: { tools: {} },
      instructions:
        "Read-only access to the auditgraph knowledge graph of one workspace (notes, ADRs, logs, code). Start with query to " +
        "find nodes; hits carry path and line. Use node, neighbors and why_connected on the ids it returns.",
    },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: tools.map((t) => ({ name: t.name, title: t.title, description: t.description, inputSchema: inputSchema(z, t), annotations: { readOnlyHint: true, openWorldHint: false } })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (req) => callTool(tools, live, req.params.name, req.params.arguments));
  const transport = new LineTransport({
    message: sdk.JSONRPCMessageSchema,
    requests: {
      "initialize": sdk.InitializeRequestSchema, "ping": sdk.PingRequestSchema,
      "tools/list": ListToolsRequestSchema, "tools/call": CallToolRequestSchema,
    },
  });
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  server.onclose = () => resolveDone();
  server.onerror = (err) => process.stderr.write(`auditgraph mcp: ${oneLine(err)}\n`);
  await server.connect(transport);
  // After connect: the transport's own end listener (a last message without its newline) runs first.
  const stop = () => { void server.close().finally(resolveDone); };
  // Input closed: the requests already read are answered first.
  process.stdin.once("end", () => { void transport.idle().then(stop); });
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await done;
  live.close();
}

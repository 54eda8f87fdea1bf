// Connecting the MCP SDK's own client to a real `auditgraph mcp` process over stdio.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { AG } from "../helpers/cli.ts";

export type Session = { client: Client; stderr: () => string; close: () => Promise<void> };

/** The environment the server gets: the caller's, without AUDITGRAPH_* (as tests/helpers/cli.ts does). */
export function serverEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("AUDITGRAPH_") && k !== "NO_COLOR") env[k] = v;
  return env;
}

/** A client connected to `auditgraph mcp --root ROOT`: the tests' CLI (helpers/compiled-cli.ts) or (`exe`) another executable. */
export async function connect(root: string, exe?: string): Promise<Session> {
  const transport = new StdioClientTransport({
    command: exe ?? AG[0]!, args: [...(exe ? [] : AG.slice(1)), "mcp", "--root", root], env: serverEnv(), stderr: "pipe",
  });
  let err = "";
  transport.stderr?.on("data", (d: Buffer) => { err += d.toString(); });
  const client = new Client({ name: "auditgraph-test", version: "1.0.0" });
  await client.connect(transport);
  return { client, stderr: () => err, close: () => client.close() };
}

/** The text of a tool result's single text content. */
export const textOf = (r: any): string => {
  if (!Array.isArray(r.content) || r.content.length !== 1 || r.content[0].type !== "text") throw new Error(`not one text content: ${JSON.stringify(r)}`);
  return r.content[0].text;
};

import { defineCommand } from "../define.ts";
import { withWorkspace, workspaceArgs } from "./_args.ts";

export default defineCommand({
  meta: { name: "mcp", description: "Serve the current run read-only to MCP clients (Model Context Protocol over stdio)" },
  args: { ...workspaceArgs },
  async run({ args }) {
    const ws = await withWorkspace(args);
    const { serveMcp } = await import("../../mcp/server.ts");
    const { VERSION } = await import("../../shared/build-info.ts");
    await serveMcp(ws, { version: VERSION });
  },
});

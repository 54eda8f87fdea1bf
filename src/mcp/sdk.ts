/**
 * The MCP SDK's server side and zod, as an entry point of its own (src/shared/entries.ts): loaded
 * when `auditgraph mcp` starts, so other commands never load them.
 */
export { Server } from "@modelcontextprotocol/sdk/server/index.js";
export {
  CallToolRequestSchema, InitializeRequestSchema, JSONRPCMessageSchema, ListToolsRequestSchema, PingRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
export * as z from "zod";

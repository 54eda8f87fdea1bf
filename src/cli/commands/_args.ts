// Flag groups shared by several commands: spread the ones a command needs into its `args`.
import type { ArgsDef } from "citty";

export const jsonArgs = {
  json: { type: "boolean", description: "Print exactly one JSON document on stdout" },
} as const satisfies ArgsDef;

export const workspaceArgs = {
  root: { type: "string", description: "Workspace root (default: $AUDITGRAPH_ROOT, else the current directory)", valueHint: "DIR" },
  config: { type: "string", description: "Config file (default: $AUDITGRAPH_CONFIG, else <root>/config/pkg.yaml, else built-in)", valueHint: "FILE" },
  profile: { type: "string", description: "Profile name (default: the config's active_profile)", valueHint: "NAME" },
} as const satisfies ArgsDef;

export const withWorkspace = async (args: { root?: string; config?: string; profile?: string }) => {
  const { loadWorkspace } = await import("../../config/load.ts");
  return loadWorkspace({ root: args.root, config: args.config, profile: args.profile });
};

import { defineCommand } from "../define.ts";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_CONFIG_TEXT, resolveRoot } from "../../config/load.ts";
import { atomicWriteFile } from "../../shared/fs.ts";
import { jsonArgs } from "./_args.ts";
import { printable as p, printJson, printLine } from "../output.ts";

export default defineCommand({
  meta: { name: "init", description: "Write config/pkg.yaml (the documented default) and prepare .pkg/; harmless when run twice" },
  args: {
    root: { type: "string", description: "Workspace root (default: $AUDITGRAPH_ROOT, else the current directory)", valueHint: "DIR" },
    ...jsonArgs,
  },
  async run({ args }) {
    const root = resolveRoot(args.root);
    const { checkStoreDirs, pkgDir } = await import("../../store/layout.ts");
    checkStoreDirs([pkgDir(root), join(pkgDir(root), "profiles")]); // a file in their place: exit 5 naming it
    const created: string[] = [];
    const cfg = join(root, "config", "pkg.yaml");
    if (!existsSync(cfg)) { atomicWriteFile(cfg, DEFAULT_CONFIG_TEXT); created.push("config/pkg.yaml"); }
    const pkg = join(pkgDir(root), "profiles");
    if (!existsSync(pkg)) { mkdirSync(pkg, { recursive: true }); created.push(".pkg/profiles"); }
    if (args.json) return printJson({ status: "ok", root, created });
    printLine(created.length ? `initialised ${p(root)}: created ${created.join(", ")}` : `${p(root)} is already initialised; nothing changed`);
  },
});

import { defineCommand } from "citty";
import { jsonArgs, withWorkspace, workspaceArgs } from "./_args.ts";
import { printJson, printLine } from "../output.ts";

export default defineCommand({
  meta: { name: "diff", description: "Compare two runs: files added, removed and changed, and artifacts rewritten" },
  args: {
    run_a: { type: "positional", description: "Older run id", required: true },
    run_b: { type: "positional", description: "Newer run id", required: true },
    ...workspaceArgs,
    ...jsonArgs,
  },
  async run({ args }) {
    const ws = await withWorkspace(args);
    const { compatGate, openRun } = await import("../../store/open.ts");
    compatGate(ws.profileDir);
    const [a, b] = [String(args.run_a), String(args.run_b)].map((id) => openRun(ws.profileDir, id));
    const key = (f: { sha256?: string; status: string; reason?: string }) => `${f.status}\0${f.sha256 ?? ""}\0${f.reason ?? ""}`;
    const fa = new Map(a!.files.map((f) => [f.path, f]));
    const fb = new Map(b!.files.map((f) => [f.path, f]));
    const added = [...fb.keys()].filter((p) => !fa.has(p));
    const removed = [...fa.keys()].filter((p) => !fb.has(p));
    const changed = [...fb.keys()].filter((p) => fa.has(p) && key(fa.get(p)!) !== key(fb.get(p)!));
    const arts = new Map(a!.artifacts.map((x) => [x.name, x.sha256]));
    const rewritten = b!.artifacts.filter((x) => arts.get(x.name) !== x.sha256).map((x) => x.name);
    const result = { run_a: a!.run_id, run_b: b!.run_id, config_changed: a!.config_hash !== b!.config_hash, added, removed, changed, artifacts_rewritten: rewritten };
    if (args.json) return printJson({ status: "ok", ...result });
    printLine(`${a!.run_id} → ${b!.run_id}: ${added.length} added, ${removed.length} removed, ${changed.length} changed; ${rewritten.length} artifact(s) rewritten${result.config_changed ? "; config changed" : ""}`);
    for (const p of added) printLine(`  + ${p}`);
    for (const p of removed) printLine(`  - ${p}`);
    for (const p of changed) printLine(`  ~ ${p}`);
  },
});

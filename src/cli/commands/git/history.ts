import { defineCommand } from "../../define.ts";
import { usageError } from "../../../shared/errors.ts";
import { jsonArgs, workspaceArgs } from "../_args.ts";
import { printable as p, printJson, printLine } from "../../output.ts";
import { asUserError, gitPathArgs, iso, noteTruncated, short, target, toWorkspace } from "./_repo.ts";

export default defineCommand({
  meta: { name: "history", description: "A file's commits newest first, following renames (same blob, or at least 50% of lines in common)" },
  args: { ...gitPathArgs, ...workspaceArgs, ...jsonArgs },
  async run({ args }) {
    const t = await target(args, String(args.path));
    // One file's history: a directory (or the repository itself) has no renames to follow.
    const at = await asUserError(async () => t.repo.entryAt((await t.repo.commit(t.head)).tree, t.inRepo));
    if (at?.type === "tree") throw usageError(`${t.inWorkspace || "."} is a directory: git history follows one file`, `for a directory's commits use 'auditgraph git log ${t.inWorkspace || "."}'`);
    const { fileHistory } = await import("../../../git/history.ts");
    const r = await asUserError(() => fileHistory(t.repo, t.head, t.inRepo, t.max));
    const ws = (p: string) => toWorkspace(t, p);
    if (args.json) {
      return printJson({
        status: "ok", path: t.inWorkspace, repository: t.repoPath || ".", head: t.head, paths: r.paths.map(ws), truncated: r.truncated, max_commits: t.max,
        commits: r.commits.map((c) => ({
          id: `commit_${c.oid}`, oid: c.oid, time: iso(c.time), author: c.author, subject: c.subject, path: ws(c.path), change: c.change,
          ...(c.from !== undefined ? { from: ws(c.from), similarity: c.similarity } : {}),
        })),
      });
    }
    const names = r.paths.map(ws);
    printLine(p(`${r.commits.length} commit(s) of ${names[0]}${names.length > 1 ? `, followed through ${names.slice(1).join(", ")}` : ""}`));
    for (const c of r.commits) {
      const what = c.change === "renamed" ? `renamed ${ws(c.from!)} -> ${ws(c.path)} (${Math.round((c.similarity ?? 1) * 100)}%)` : `${c.change} ${ws(c.path)}`;
      printLine(`  ${short(c.oid)}  ${iso(c.time)}  ${p(c.author.name)}  ${p(what)}  ${p(c.subject)}`);
    }
    noteTruncated(t, r.truncated, false);
  },
});

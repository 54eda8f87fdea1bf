import { defineCommand } from "../../define.ts";
import { jsonArgs, workspaceArgs } from "../_args.ts";
import { printable as p, printJson, printLine } from "../../output.ts";
import { asUserError, gitPathArgs, iso, noteTruncated, short, target } from "./_repo.ts";

export default defineCommand({
  meta: { name: "who", description: "Authors of a path: commit counts and last change (newest git.max_commits commits)" },
  args: { ...gitPathArgs, ...workspaceArgs, ...jsonArgs },
  async run({ args }) {
    const t = await target(args, String(args.path));
    const { whoChanged } = await import("../../../git/history.ts");
    const r = await asUserError(() => whoChanged(t.repo, t.head, t.inRepo, t.max));
    if (args.json) {
      return printJson({
        status: "ok", path: t.inWorkspace, repository: t.repoPath || ".", head: t.head, commits: r.commits, truncated: r.truncated, max_commits: t.max,
        authors: r.authors.map((a) => ({ name: a.name, email: a.email, commits: a.commits, last_change: { id: `commit_${a.last.oid}`, oid: a.last.oid, time: iso(a.last.time), subject: a.last.subject } })),
      });
    }
    printLine(`${r.authors.length} author(s) of ${p(t.inWorkspace || ".")}, ${r.commits} commit(s)`);
    for (const a of r.authors) printLine(`  ${String(a.commits).padStart(5)}  ${p(a.name)} <${p(a.email)}>  last ${iso(a.last.time)} ${short(a.last.oid)} ${p(a.last.subject)}`);
    noteTruncated(t, r.truncated, false);
  },
});

import { defineCommand } from "../../define.ts";
import { intFlag, jsonArgs, workspaceArgs } from "../_args.ts";
import { printable as p, printJson, printLine } from "../../output.ts";
import { asUserError, gitPathArgs, iso, noteTruncated, short, target } from "./_repo.ts";

export default defineCommand({
  meta: { name: "log", description: "Commits that changed a path, newest first" },
  args: {
    ...gitPathArgs,
    limit: { type: "string", description: "At most N commits (default: all within git.max_commits)", valueHint: "N" },
    ...workspaceArgs,
    ...jsonArgs,
  },
  async run({ args }) {
    const limit = args.limit === undefined ? undefined : intFlag(args.limit, "limit", 1);
    const t = await target(args, String(args.path));
    const { pathLog } = await import("../../../git/history.ts");
    // One more than --limit: whether the limit left commits out.
    const r = await asUserError(() => pathLog(t.repo, t.head, t.inRepo, { max: t.max, ...(limit ? { limit: limit + 1 } : {}) }));
    const limited = limit !== undefined && r.commits.length > limit;
    if (limited) r.commits.length = limit;
    if (args.json) {
      return printJson({
        status: "ok", path: t.inWorkspace, repository: t.repoPath || ".", head: t.head, truncated: r.truncated, limited, max_commits: t.max,
        commits: r.commits.map((c) => ({ id: `commit_${c.oid}`, oid: c.oid, time: iso(c.time), author: c.author, subject: c.subject })),
      });
    }
    printLine(limited
      ? `the newest ${r.commits.length} commit(s) that changed ${p(t.inWorkspace || ".")} (--limit ${limit}; older ones did too)`
      : `${r.commits.length} commit(s) changed ${p(t.inWorkspace || ".")}`);
    for (const c of r.commits) printLine(`  ${short(c.oid)}  ${iso(c.time)}  ${p(c.author.name)} <${p(c.author.email)}>  ${p(c.subject)}`);
    noteTruncated(t, r.truncated, false);
  },
});

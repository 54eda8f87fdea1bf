import { defineCommand } from "../../define.ts";
import { usageError } from "../../../shared/errors.ts";
import { givenValue, jsonArgs, workspaceArgs } from "../_args.ts";
import { printable as p, printJson, printLine } from "../../output.ts";
import { asUserError, iso, noteTruncated, short, target, toWorkspace } from "./_repo.ts";

export default defineCommand({
  meta: { name: "introduced", description: "The oldest commit that added a line containing TEXT (searched forward in time within git.max_commits)" },
  args: {
    text: { type: "positional", description: "Text the added line contains (case-sensitive)", required: true },
    path: { type: "string", description: "Only look at changes under this file or directory (also picks the repository)", valueHint: "P" },
    ...workspaceArgs,
    ...jsonArgs,
  },
  async run({ args }) {
    const text = String(args.text);
    if (text === "" || text.includes("\n")) throw usageError("TEXT must be non-empty and on one line");
    const t = await target(args, givenValue(args.path, "path", "src/"));
    const { introduced } = await import("../../../git/history.ts");
    const r = await asUserError(() => introduced(t.repo, t.head, text, { max: t.max, ...(t.inRepo ? { under: t.inRepo } : {}) }));
    const f = r.found;
    if (args.json) {
      return printJson({
        status: "ok", text, repository: t.repoPath || ".", ...(args.path ? { path: t.inWorkspace } : {}), head: t.head, examined: r.examined, truncated: r.truncated, max_commits: t.max,
        found: f ? { id: `commit_${f.oid}`, oid: f.oid, time: iso(f.time), author: f.author, subject: f.subject, path: toWorkspace(t, f.path), line: f.line, text: f.text } : null,
      });
    }
    if (!f) printLine(`no commit among the ${r.examined} read adds a line containing '${p(text)}'`);
    else {
      printLine(`${short(f.oid)}  ${iso(f.time)}  ${p(f.author.name)} <${p(f.author.email)}>  ${p(f.subject)}`);
      printLine(`  ${p(toWorkspace(t, f.path))}:${f.line}: ${p(f.text.trim())}`);
    }
    noteTruncated(t, r.truncated, false);
  },
});

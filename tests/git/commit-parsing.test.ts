// Commits as git writes them and as it still reads them: a message and names in a declared
// encoding (the `encoding` header), author lines without a date or an e-mail (git log reads them;
// one such commit used to leave the repository's whole history out, on an engine TypeError), and a
// commit that truly cannot be read (no tree), which is one warning naming it.
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseCommit } from "../../src/git/objects.ts";
import { cleanup, cli, workspace } from "../helpers/cli.ts";
import { GIT, git, gitConfig, rawCommit } from "./fixture.ts";

afterAll(cleanup);

const TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
const latin1 = (s: string) => Buffer.from(s, "latin1");
const bytes = (...parts: (string | Uint8Array)[]) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : p)));

test("parseCommit: the encoding header decodes names and message; unknown labels are UTF-8; person lines are lenient", () => {
  const iso = parseCommit(latin1(`tree ${TREE}\nauthor Jos\xe9 <j@x> 1600000002 +0000\ncommitter Jos\xe9 <j@x> 1600000003 +0000\nencoding ISO-8859-1\n\ncaf\xe9 au lait\n`))!;
  expect(iso).toMatchObject({ author: { name: "José", email: "j@x", timestamp: 1600000002 }, committer: { timestamp: 1600000003 }, message: "café au lait\n" });
  const sjis = parseCommit(bytes(`tree ${TREE}\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\nencoding Shift_JIS\n\n`, new Uint8Array([0x93, 0xfa, 0x96, 0x7b]), "\n"))!;
  expect(sjis.message).toBe("日本\n");
  const unknown = parseCommit(bytes(`tree ${TREE}\nauthor Zoë <z@x> 1 +0000\ncommitter Zoë <z@x> 1 +0000\nencoding x-no-such-charset\n\nnaïve\n`))!;
  expect([unknown.author.name, unknown.message]).toEqual(["Zoë", "naïve\n"]);
  const plain = parseCommit(bytes(`tree ${TREE}\nauthor Zoë <z@x> 1 +0000\ncommitter Zoë <z@x> 1 +0000\n\nnaïve\n`))!;
  expect([plain.author.name, plain.message]).toEqual(["Zoë", "naïve\n"]);

  const noDate = parseCommit(bytes(`tree ${TREE}\nauthor Name <a@b>\ncommitter Name <a@b> 1600000000 +0000\n\nno date\n`))!;
  expect(noDate.author).toEqual({ name: "Name", email: "a@b", timestamp: 0 });
  expect(noDate.committer.timestamp).toBe(1600000000);
  const noEmail = parseCommit(bytes(`tree ${TREE}\nauthor NoEmail 1600000001 +0000\ncommitter NoEmail 1600000001 +0000\n\nno email\n`))!;
  expect(noEmail.author).toEqual({ name: "NoEmail", email: "", timestamp: 1600000001 });
  const open = parseCommit(bytes(`tree ${TREE}\nauthor Half <half@x\ncommitter Half <half@x\n\nunterminated\n`))!;
  expect(open.author).toEqual({ name: "Half", email: "half@x", timestamp: 0 });
  const nobody = parseCommit(bytes(`tree ${TREE}\n\nno people\n`))!;
  expect(nobody.author).toEqual({ name: "", email: "", timestamp: 0 });
  expect(parseCommit(bytes(`author A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\nno tree\n`))).toBeUndefined();
  expect(parseCommit(bytes(`tree ${TREE}\nparent nonsense\nauthor A <a@x> 1 +0000\n\nbad parent\n`))).toBeUndefined();
});

/** A repository whose HEAD is: a normal commit, then the given raw commits (each a child of the previous, changing notes/a.md). */
function repoWith(commits: ((tree: string, parent: string) => Uint8Array)[]): { root: string; oids: string[] } {
  const root = workspace({ "notes/a.md": "# A\n\nalpha\n" });
  writeFileSync(join(root, "cfg.yaml"), gitConfig());
  git(root, ["init", "-q", "."]);
  git(root, ["add", "notes"]);
  git(root, ["commit", "-q", "-m", "first"]);
  const oids = [git(root, ["rev-parse", "HEAD"])];
  commits.forEach((c, i) => {
    // Each commit changes notes/a.md, so `git log notes` lists it.
    writeFileSync(join(root, "notes/a.md"), `# A\n\nalpha ${i}\n`);
    git(root, ["add", "notes"]);
    oids.push(rawCommit(root, c(git(root, ["write-tree"]), oids[oids.length - 1]!)));
  });
  // Written by hand: update-ref refuses a commit it cannot parse.
  writeFileSync(join(root, ".git", git(root, ["symbolic-ref", "HEAD"])), `${oids[oids.length - 1]}\n`);
  return { root, oids };
}

test.skipIf(!GIT)("ingest and git log read a re-encoded commit and malformed author lines as git log does", () => {
  const { root, oids } = repoWith([
    (t, p) => bytes(`tree ${t}\nparent ${p}\nauthor Name <a@b>\ncommitter Name <a@b> 1600000000 +0000\n\nno date\n`),
    (t, p) => bytes(`tree ${t}\nparent ${p}\nauthor NoEmail 1600000001 +0000\ncommitter NoEmail 1600000001 +0000\n\nno email\n`),
    (t, p) => latin1(`tree ${t}\nparent ${p}\nauthor Jos\xe9 <j@x> 1600000002 +0000\ncommitter Jos\xe9 <j@x> 1600000002 +0000\nencoding ISO-8859-1\n\ncaf\xe9 au lait\n`),
  ]);
  const ing = cli(["ingest", "--root", root, "--config", join(root, "cfg.yaml"), "--json"]);
  expect(ing.code).toBe(0);
  expect(ing.stderr).toBe("");
  expect(ing.json.counts.commits).toBe(4);
  const at = ["--root", root, "--config", join(root, "cfg.yaml"), "--json"];
  const commits = cli(["list", "--type", "commit", ...at]).json.nodes;
  const byOid = Object.fromEntries(commits.map((n: any) => [n.attrs.oid, [n.name, n.attrs.author, n.attrs.time]]));
  expect(byOid[oids[1]!]).toEqual(["no date", "Name", "1970-01-01T00:00:00Z"]);
  expect(byOid[oids[2]!]).toEqual(["no email", "NoEmail", "2020-09-13T12:26:41Z"]);
  expect(byOid[oids[3]!]).toEqual(["café au lait", "José", "2020-09-13T12:26:42Z"]);
  const log = cli(["git", "log", "notes/a.md", ...at]);
  expect(log.code).toBe(0);
  expect(log.json.commits.map((c: any) => [c.subject, c.author.name, c.author.email])).toEqual([
    ["café au lait", "José", "j@x"], ["no email", "NoEmail", ""], ["no date", "Name", "a@b"], ["first", "Alice", "alice@example.com"],
  ]);
});

test.skipIf(!GIT)("a commit without a tree is one warning naming it in ingest, and a one-line error in git log", () => {
  const { root, oids } = repoWith([(_t, p) => bytes(`parent ${p}\nauthor A <a@x> 1600000000 +0000\ncommitter A <a@x> 1600000000 +0000\n\nno tree\n`)]);
  const ing = cli(["ingest", "--root", root, "--config", join(root, "cfg.yaml"), "--json"]);
  expect(ing.code).toBe(0);
  expect(ing.json.run_warnings).toHaveLength(1);
  expect(ing.json.run_warnings[0]).toContain(`commit ${oids[1]} cannot be read`);
  expect(ing.json.run_warnings[0]).not.toContain("null is not an object");
  const log = cli(["git", "log", ".", "--root", root]);
  expect(log.code).toBe(2);
  expect(log.stderr.trim().split("\n")).toHaveLength(1);
  expect(log.stderr).toContain(`commit ${oids[1]} cannot be read`);
});

test.skipIf(!GIT)("a commit time past what a date can show (year 3,170,843,774, past what a number holds exactly) is shown as the nearest one: export, list and git log read the store; git who and git history the repository", () => {
  const { root, oids } = repoWith([
    (t, p) => bytes(`tree ${t}\nparent ${p}\nauthor Far <far@x> 99999999999999999 +0000\ncommitter Far <far@x> 1600000000 +0000\n\nfar future\n`),
    (t, p) => bytes(`tree ${t}\nparent ${p}\nauthor Past <past@x> -99999999999999 +0000\ncommitter Past <past@x> 1600000001 +0000\n\nfar past\n`),
  ]);
  const at = ["--root", root, "--config", join(root, "cfg.yaml"), "--json"];
  expect(cli(["ingest", ...at]).code).toBe(0);
  const commits = cli(["list", "--type", "commit", ...at]);
  expect(commits.code).toBe(0);
  const byOid = Object.fromEntries(commits.json.nodes.map((n: any) => [n.attrs.oid, n.attrs.time]));
  expect([byOid[oids[1]!], byOid[oids[2]!]]).toEqual(["+275760-09-13T00:00:00Z", "1970-01-01T00:00:00Z"]);
  expect(cli(["list", ...at]).code).toBe(0);
  const exported = cli(["export", ...at.filter((a) => a !== "--json"), "--format", "json"]);
  expect(exported.code).toBe(0);
  const log = cli(["git", "log", "notes/a.md", ...at]);
  expect(log.code).toBe(0);
  expect(log.json.commits.map((c: any) => [c.subject, c.time])).toEqual([["far past", "1970-01-01T00:00:00Z"], ["far future", "+275760-09-13T00:00:00Z"], ["first", expect.any(String)]]);
  // git who and git history read the repository itself: the same nearest dates.
  const who = cli(["git", "who", "notes/a.md", ...at]);
  expect(who.code).toBe(0);
  expect(JSON.stringify(who.json)).toContain("+275760-09-13T00:00:00Z");
  const history = cli(["git", "history", "notes/a.md", ...at]);
  expect(history.code).toBe(0);
  expect(history.json.commits.map((c: any) => [c.subject, c.time])).toEqual([["far past", "1970-01-01T00:00:00Z"], ["far future", "+275760-09-13T00:00:00Z"], ["first", expect.any(String)]]);
}, 60_000);

/**
 * Real git repositories for the git tests, made by the git executable with fixed names, e-mails and
 * dates, so commit ids are the same on every run.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export const GIT = Bun.which("git");

/** Runs git in `cwd` with a fixed identity and date (ISO, UTC); throws with its stderr on failure. */
export function git(cwd: string, args: string[], opts: { date?: string; name?: string; email?: string; input?: Uint8Array } = {}): string {
  if (!GIT) throw new Error("these tests build repositories with the git executable, which is not installed");
  const date = opts.date ?? "2024-01-01T00:00:00Z";
  const p = Bun.spawnSync([GIT, "-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always", "-c", "gc.auto=0", ...args], {
    cwd,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cwd, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_AUTHOR_NAME: opts.name ?? "Alice", GIT_AUTHOR_EMAIL: opts.email ?? "alice@example.com", GIT_AUTHOR_DATE: date,
      GIT_COMMITTER_NAME: opts.name ?? "Alice", GIT_COMMITTER_EMAIL: opts.email ?? "alice@example.com", GIT_COMMITTER_DATE: date,
    },
    stdout: "pipe", stderr: "pipe", ...(opts.input ? { stdin: opts.input } : {}),
  });
  if (p.exitCode !== 0) throw new Error(`git ${args.join(" ")} in ${cwd}: ${p.stderr.toString()}`);
  return p.stdout.toString().trim();
}

export function write(root: string, files: Record<string, string>): void {
  for (const [p, c] of Object.entries(files)) { mkdirSync(dirname(join(root, p)), { recursive: true }); writeFileSync(join(root, p), c); }
}

const BOB = { name: "Bob", email: "bob@example.com" };
const CAROL = { name: "Carol", email: "Carol@Example.com" };

/**
 * The history (oldest first):
 *   c1 Alice  add notes/a.md and notes/c.md
 *   c2 Bob    notes/a.md gains "NEEDLE one"
 *   c3 Alice  notes/a.md renamed to notes/b.md, one line changed (a similar rename, not an exact one)
 *   c4 Carol  notes/c.md gains "NEEDLE two"
 *   c5 Bob    notes/b.md gains a line
 *   (git gc: everything so far is packed)
 *   c6 Alice  notes/d.md added (loose objects)
 * Returns the commit ids by name.
 */
export function makeHistory(root: string): Record<"c1" | "c2" | "c3" | "c4" | "c5" | "c6", string> {
  const head = () => git(root, ["rev-parse", "HEAD"]);
  git(root, ["init", "-q", "."]);
  write(root, { "notes/a.md": "# A\n\nalpha\nbeta\ngamma\ndelta\n", "notes/c.md": "# C\n\nsee also\n" });
  git(root, ["add", "-A"]);
  git(root, ["commit", "-q", "-m", "Add a and c"], { date: "2024-01-01T10:00:00Z" });
  const c1 = head();
  write(root, { "notes/a.md": "# A\n\nalpha\nbeta\ngamma\ndelta\nNEEDLE one\n" });
  git(root, ["commit", "-q", "-am", "Bob adds the needle"], { date: "2024-01-02T10:00:00Z", ...BOB });
  const c2 = head();
  git(root, ["mv", "notes/a.md", "notes/b.md"]);
  write(root, { "notes/b.md": "# A\n\nalpha two\nbeta\ngamma\ndelta\nNEEDLE one\n" });
  git(root, ["commit", "-q", "-am", "Rename a to b"], { date: "2024-01-03T10:00:00Z" });
  const c3 = head();
  write(root, { "notes/c.md": "# C\n\nsee also\nNEEDLE two\n" });
  git(root, ["commit", "-q", "-am", "Carol: a second needle"], { date: "2024-01-04T10:00:00Z", ...CAROL });
  const c4 = head();
  write(root, { "notes/b.md": "# A\n\nalpha two\nbeta\ngamma\ndelta\nNEEDLE one\nepsilon\n" });
  git(root, ["commit", "-q", "-am", "Bob extends b"], { date: "2024-01-05T10:00:00Z", ...BOB });
  const c5 = head();
  git(root, ["gc", "-q"]);
  write(root, { "notes/d.md": "# D\n" });
  git(root, ["add", "-A"]);
  git(root, ["commit", "-q", "-m", "Add d"], { date: "2024-01-06T10:00:00Z" });
  const c6 = head();
  return { c1, c2, c3, c4, c5, c6 };
}

/**
 * Writes a commit object from its raw bytes as they are (`git hash-object --literally`: no checks, so
 * malformed or re-encoded headers can be made) and returns its id.
 */
export function rawCommit(root: string, bytes: Uint8Array): string {
  return git(root, ["hash-object", "-t", "commit", "--literally", "-w", "--stdin"], { input: bytes });
}

/** A config enabling git provenance (and whatever else is given, as YAML lines). */
export const gitConfig = (extra = "") => `git:\n  enabled: true\n${extra}`;

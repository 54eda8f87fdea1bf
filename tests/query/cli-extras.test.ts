// Promises of the README that the other query tests do not cover: file warnings from ingest
// (stderr, --json, manifest), --explain, the prefix fallback for a word no file holds.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, workspace } from "../helpers/cli.ts";

let root: string;
let ing: ReturnType<typeof cli>;
beforeAll(() => {
  root = workspace({
    "notes/broken.md": "---\ntitle: [unclosed\ntags: a\n---\n# Broken front matter\n\nThe kubernetes rollout notes.\n",
    "notes/fine.md": "---\ntitle: Fine\ntags: [ops]\n---\n# Fine\n\nPostgreSQL backups run nightly; the event loop stays free.\n",
  });
  ing = cli(["ingest", "--root", root, "--json"]);
});
afterAll(cleanup);

describe("ingest warnings", () => {
  test("invalid front matter: exit 0, one stderr line path:line, in --json and in the manifest", () => {
    expect(ing.code).toBe(0);
    expect(ing.json.warnings).toHaveLength(1);
    const w = ing.json.warnings[0];
    expect(w).toMatchObject({ path: "notes/broken.md" });
    expect(w.line).toBeGreaterThanOrEqual(2);
    expect(w.message).toContain("invalid front matter");
    expect(ing.stderr).toContain(`notes/broken.md:${w.line}: invalid front matter`);
    const m = JSON.parse(readFileSync(join(root, ".pkg/profiles/default/runs", ing.json.run_id, "manifest.json"), "utf8"));
    expect(m.files.find((f: any) => f.path === "notes/broken.md").warnings).toEqual([`${w.line}: ${w.message}`]);
    expect(m.files.find((f: any) => f.path === "notes/fine.md").warnings).toBeUndefined();
    // The file itself is still ingested and searchable.
    expect(cli(["query", "rollout", "--root", root, "--json"]).json.hits[0].path).toBe("notes/broken.md");
  });
});

describe("query", () => {
  test("--explain gives each clause's idf, tf by field and contribution", () => {
    const j = cli(["query", "event loop", "--explain", "--root", root, "--json"]).json;
    const e = j.hits[0].explain;
    expect(e.of).toBe(2);
    expect(e.clauses.map((c: any) => c.clause).sort()).toEqual(["event", "loop"]);
    for (const c of e.clauses) expect([typeof c.idf, typeof c.score, typeof c.length]).toEqual(["number", "number", "number"]);
    const human = cli(["query", "event loop", "--explain", "--root", root]).stdout;
    expect(human).toContain("event: idf");
  });
  test("on a TTY the matched terms are highlighted in the snippet; piped, there is no colour", () => {
    if (!Bun.which("script")) throw new Error("script (util-linux/bsdutils) is needed to give the CLI a TTY");
    const tty = Bun.spawnSync(["script", "-qec", `${process.execPath} ${join(import.meta.dir, "..", "..", "src", "cli.ts")} query backups --root ${root}`, "/dev/null"], { env: Object.fromEntries(Object.entries(process.env).filter(([k, v]) => k !== "NO_COLOR" && v !== undefined)) as Record<string, string> });
    const out = tty.stdout.toString();
    expect(out).toContain("\x1b[1;33mbackups\x1b[0m");
    expect(cli(["query", "backups", "--root", root]).stdout).not.toContain("\x1b[");
  });
  test("a word that no file holds is searched as a prefix (postgres finds PostgreSQL); a misspelling finds nothing, exit 0", () => {
    const j = cli(["query", "postgres", "--root", root, "--json"]).json;
    expect(j.hits[0]).toMatchObject({ path: "notes/fine.md" });
    expect(j.hits[0].matches.some((m: any) => m.term === "postgresql")).toBe(true);
    const miss = cli(["query", "kuberentes", "--root", root, "--json"]);
    expect(miss.code).toBe(0);
    expect(miss.json.hits).toEqual([]);
  });
});

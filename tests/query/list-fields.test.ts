// `list` knows its fields: an unknown one in --where, --sort or --group-by is one line naming it and
// the valid ones, exit 2 (frontmatter.KEY takes any key).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cleanup, cli, expectOneLineError, workspace } from "../helpers/cli.ts";

afterAll(cleanup);

describe("fields", () => {
  let root: string;
  beforeAll(() => {
    root = workspace();
    expect(cli(["ingest", "--root", root]).code).toBe(0);
  });

  test("an unknown field: one line naming it and the valid fields, exit 2, for each flag", () => {
    for (const [args, flag, field] of [
      [["--where", "bogus=1"], "--where", "bogus"], [["--where", "name~x", "--where", "bogus~1", "--count-only"], "--where", "bogus"],
      [["--sort", "bogus"], "--sort", "bogus"], [["--group-by", "bogus"], "--group-by", "bogus"],
      [["--group-by", "bogus", "--count-only"], "--group-by", "bogus"], [["--sort", "attrs.bogus"], "--sort", "attrs.bogus"],
      [["--sort", "frontmatter."], "--sort", "frontmatter."], [["--where", "Name=x"], "--where", "Name"],
    ] as [string[], string, string][]) {
      const r = cli(["list", ...args, "--root", root]);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: "" });
      const line = expectOneLineError(r);
      expect(line).toStartWith(`error: ${flag}: unknown field '${field}'; fields are id, type, name, path, line, tag`);
      for (const valid of ["level", "end_line", "exported", "attrs.NAME", "frontmatter.KEY"]) expect(line).toContain(valid);
    }
    const j = cli(["list", "--sort", "bogus", "--root", root, "--json"]);
    expect([j.code, j.json.status, j.json.code]).toEqual([2, "error", "usage"]);
  });

  test("every documented field is accepted, frontmatter.KEY with any key", () => {
    const fields = ["id", "type", "name", "path", "line", "tag", "tags", "kind", "level", "status", "tokens", "end_line", "exported",
      "container", "pages", "code_spans", "frontmatter", "oid", "time", "author", "author_id", "commits", "attrs.level",
      "frontmatter.status", "frontmatter.no-such-key", "frontmatter.a.b"];
    const runs = [...fields.map((f) => ["--sort", f]), ["--group-by", "frontmatter.x"], ["--group-by", "attrs.kind"], ["--where", "tags~x", "--where", "frontmatter.y=1"]];
    for (const args of runs) {
      const r = cli(["list", ...args, "--limit", "1", "--root", root]);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
    }
  });
});

// Terminal escapes in file names and contents never reach the terminal through the text output:
// data strings are printed through `printable` (src/shared/printable.ts), which shows control
// characters escaped. JSON output was escaped already and is left as it is.
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { printable } from "../../src/cli/output.ts";
import { quoted } from "../../src/shared/printable.ts";
import { cleanup, cli, workspace } from "../helpers/cli.ts";

afterAll(cleanup);

/** What a terminal would act on: C0 controls but tab and newline, DEL, C1 controls, bidi overrides. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

describe("printable", () => {
  test("control characters but tab are shown escaped; anything else is left as it is", () => {
    expect(printable("a\x1b]0;pwned\x07\x1b[31mRED\tb")).toBe("a\\x1b]0;pwned\\x07\\x1b[31mRED\tb");
    expect(printable("line\nnext\r\x00\x7f\x9b")).toBe("line\\x0anext\\x0d\\x00\\x7f\\x9b");
    expect(printable("line\nnext", { newlines: true })).toBe("line\nnext");
    expect(printable("abc\u202eevil\u2066")).toBe("abc\\u{202e}evil\\u{2066}");
    const plain = "notes/é ü 東京 \\ back\\slash \"quoted\" 🙂";
    expect(printable(plain)).toBe(plain);
    expect(quoted("x".repeat(100), 10)).toBe(`"xxxxxxxxxx…" (100 characters)`);
  });
});

describe("text output of hostile file names and contents", () => {
  const ESC = "\x1b";
  const name = `notes/e${ESC}[41mX.md`;
  function hostile() {
    const root = workspace();
    writeFileSync(join(root, name), `---\ntitle: [unclosed${ESC}]0;t\x07\n---\n# e${ESC}[2J\n\nterminal ${ESC}]0;pwned\x07${ESC}[31mRED\n\n[link](other${ESC}[5m.md)\n`);
    writeFileSync(join(root, `notes/bin${ESC}[31m.md`), Buffer.from([0, 1, 2, 27, 91]));
    return root;
  }
  const clean = (r: { stdout: string; stderr: string }) => {
    expect(r.stdout).not.toMatch(CONTROL);
    expect(r.stderr).not.toMatch(CONTROL);
  };

  test("ingest, node, neighbors, why-connected, runs show, diff and verify print them escaped", () => {
    const root = hostile();
    const ing = cli(["ingest", "--root", root]);
    expect(ing.code).toBe(0);
    clean(ing);
    expect(ing.stderr).toContain("notes/e\\x1b[41mX.md:2:"); // the front-matter warning names the file
    const exp = cli(["export", "--root", root, "--format", "json"]).json;
    const doc = exp.nodes.find((n: any) => n.type === "document" && n.path === name);
    const chunk = exp.nodes.find((n: any) => n.type === "chunk" && n.path === name);
    const other = exp.nodes.find((n: any) => n.type === "document" && n.path !== name);
    expect(doc && chunk && other).toBeTruthy();

    const node = cli(["node", chunk.id, "--root", root]);
    expect(node.code).toBe(0);
    clean(node);
    expect(node.stdout).toContain("source: notes/e\\x1b[41mX.md:");
    expect(node.stdout).toContain("terminal \\x1b]0;pwned\\x07\\x1b[31mRED\n"); // the chunk's text keeps its lines
    for (const args of [["node", doc.id], ["neighbors", doc.id, "--depth", "2"], ["why-connected", doc.id, chunk.id], ["why-connected", doc.id, other.id]]) {
      const r = cli([...args, "--root", root]);
      expect(r.code).toBe(0);
      clean(r);
    }
    expect(cli(["neighbors", doc.id, "--root", root]).stdout).toContain("(notes/e\\x1b[41mX.md:1)");

    const first = readFileSync(join(root, ".pkg/profiles/default/current"), "utf8").trim();
    const show = cli(["runs", "show", first, "--root", root]);
    clean(show);
    expect(show.stdout).toContain("skipped notes/bin\\x1b[31m.md: binary");

    writeFileSync(join(root, `notes/new${ESC}[1m.md`), "# New\n");
    const second = cli(["ingest", "--root", root, "--json"]).json.run_id;
    const diff = cli(["diff", first, second, "--root", root]);
    clean(diff);
    expect(diff.stdout).toContain("+ notes/new\\x1b[1m.md");

    writeFileSync(join(root, ".pkg/profiles/default", `stray${ESC}]0;x\x07`), "");
    const v = cli(["verify", "--root", root]);
    expect(v.code).toBe(5);
    clean(v);
    expect(v.stderr).toContain("stray\\x1b]0;x\\x07: not part of the store layout");

    // query (a hit's path, name and snippet, with --explain) and list.
    for (const args of [["query", "terminal", "--explain"], ["query", "pwned"], ["list", "--type", "document"], ["list", "--group-by", "path"]]) {
      const r = cli([...args, "--root", root]);
      expect(r.code).toBe(0);
      clean(r);
    }
    const q = cli(["query", "terminal", "--root", root]).stdout;
    expect(q).toContain("notes/e\\x1b[41mX.md:");
    expect(q).toContain("terminal \\x1b]0;pwned\\x07\\x1b[31mRED");
    expect(cli(["list", "--type", "document", "--root", root]).stdout).toContain("(notes/e\\x1b[41mX.md:1)");

    // Errors quoting what the user typed are printable too.
    const missing = cli(["node", `doc_${ESC}[31m`, "--root", root]);
    expect(missing.code).toBe(2);
    clean(missing);
  }, 60_000);

  test("JSON output keeps the strings as they are (JSON escapes them)", () => {
    const root = hostile();
    const r = cli(["ingest", "--root", root, "--json"]);
    expect(r.stdout).toContain("bin\\u001b[31m.md");
    expect(r.json.skipped).toContainEqual({ path: `notes/bin${ESC}[31m.md`, reason: "binary" });
  }, 60_000);
});

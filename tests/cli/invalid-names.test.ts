// A file or directory whose name is not valid UTF-8 cannot be stored under its name (paths are
// strings) nor opened by a decoded one: it is recorded as skipped `invalid_name` under a printable
// path (invalid bytes as \xNN), the same in every run and every location, instead of vanishing from
// the run without a trace. A name holding a real U+FFFD (valid UTF-8) is ingested as any other.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, workspace } from "../helpers/cli.ts";

afterAll(cleanup);

/** root/<dir>/<name bytes>: a path Node takes as a Buffer, so its bytes reach the file system as they are. */
const bytePath = (root: string, dir: string, ...name: number[][]) => Buffer.concat([Buffer.from(join(root, dir) + "/"), ...name.map((n, i) => Buffer.from([...(i ? [0x2f] : []), ...n]))]);

function withInvalidNames(): string {
  const root = workspace({ "notes/ok.md": "# Ok\n\nplain\n", "notes/real\ufffd.md": "# Replacement\n\nkumquat\n" });
  writeFileSync(bytePath(root, "notes", [...Buffer.from("caf"), 0xe9, ...Buffer.from(".md")]), "# Latin-1 name\n\ndamson\n");
  mkdirSync(bytePath(root, "notes", [0x64, 0xff]));
  writeFileSync(bytePath(root, "notes", [0x64, 0xff], [...Buffer.from("in.md")]), "# Inside\n");
  return root;
}

test("a name that is not UTF-8 is skipped as invalid_name under an escaped path, deterministically", () => {
  const root = withInvalidNames();
  const r = cli(["ingest", "--root", root, "--json"]);
  expect(r.code).toBe(0);
  expect(r.json.counts).toMatchObject({ files: 4, ok: 2, skipped: 2 });
  expect(r.json.skipped).toEqual([{ path: "notes/caf\\xe9.md", reason: "invalid_name" }, { path: "notes/d\\xff", reason: "invalid_name" }]);
  const m = JSON.parse(readFileSync(join(root, ".pkg/profiles/default/runs", r.json.run_id, "manifest.json"), "utf8"));
  expect(m.files).toContainEqual({ path: "notes/caf\\xe9.md", bytes: 0, status: "skipped", reason: "invalid_name" });
  // The name with a real U+FFFD is a document like any other.
  expect(cli(["query", "kumquat", "--root", root, "--json"]).json.hits[0].path).toBe("notes/real\ufffd.md");
  expect(cli(["runs", "show", r.json.run_id, "--root", root]).stdout).toContain("skipped notes/caf\\xe9.md: invalid_name");
  // Unchanged: the same run; elsewhere: the same run id.
  expect(cli(["ingest", "--root", root, "--json"]).json).toMatchObject({ run_id: r.json.run_id, unchanged: true });
  const other = withInvalidNames();
  expect(cli(["ingest", "--root", other, "--json"]).json.run_id).toBe(r.json.run_id);
});

test("escapedName: valid UTF-8 as it is, each byte of an invalid sequence as \\xNN; nameBytes undoes it", async () => {
  const { escapedName, nameBytes } = await import("../../src/shared/printable.ts");
  const b = (...xs: number[]) => new Uint8Array(xs);
  expect(escapedName(Buffer.from("naïve ✓ 𝄞.md"))).toBe("naïve ✓ 𝄞.md");
  expect(escapedName(b(0x61, 0xe9, 0x62))).toBe("a\\xe9b");
  expect(escapedName(b(0xc0, 0xaf))).toBe("\\xc0\\xaf"); // overlong
  expect(escapedName(b(0xed, 0xa0, 0x80))).toBe("\\xed\\xa0\\x80"); // a surrogate
  expect(escapedName(b(0x78, 0xe2, 0x9c))).toBe("x\\xe2\\x9c"); // cut short
  expect(escapedName(b(0xf4, 0x90, 0x80, 0x80))).toBe("\\xf4\\x90\\x80\\x80"); // past U+10FFFF
  for (const bytes of [b(0x61, 0xe9, 0x62), b(0xc0, 0xaf), b(0xed, 0xa0, 0x80), b(0x78, 0xe2, 0x9c), Buffer.from("naïve ✓ 𝄞.md"), Buffer.from("a\\x41b")]) {
    expect(Buffer.from(nameBytes(escapedName(bytes)))).toEqual(Buffer.from(bytes));
  }
});

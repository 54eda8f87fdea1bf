// An incremental ingest counts technologies, references and modules (nodes shared by the shards
// that mention them), links that resolve and code spans that name a symbol from what changed, not
// by walking every shard: after each kind of change the counts must still be the exported graph's
// own totals, and equal a fresh ingest of the same files.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cpSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, tempDir, workspace } from "../helpers/cli.ts";

let root: string;
beforeAll(() => {
  const files: Record<string, string> = {};
  const techs = ["Python", "Docker", "Kafka", "Redis", "PostgreSQL", "Kubernetes"];
  for (let i = 0; i < 48; i++) {
    files[`notes/n${String(i).padStart(2, "0")}.md`] =
      `# Note ${i}\n\nWe run ${techs[i % techs.length]} here. See https://example.com/shared/${i % 5} and https://example.com/only/${i}.\n`;
  }
  // Links between notes (one to a file that does not exist yet) and code spans naming symbols.
  for (let i = 0; i < 48; i += 3) files[`notes/n${String(i).padStart(2, "0")}.md`] += `\nSee [next](n${String(i + 1).padStart(2, "0")}.md), [later](later.md) and \`main\`, \`other\`, \`nothing\`.\n`;
  files["notes/tool.py"] = "import os\nimport json\n\ndef main():\n    return os.getcwd()\n";
  files["notes/other.py"] = "import json\n\ndef other():\n    return json.dumps({})\n";
  root = workspace(files);
});
afterAll(cleanup);

/** Ingest, then check the counts against the export and against a fresh ingest of a copy of the files. */
function check(step: string) {
  const ing = cli(["ingest", "--root", root, "--json"]);
  expect(ing.code, step).toBe(0);
  const c = ing.json.counts;
  const g = cli(["export", "--root", root]).json;
  const ofType = (t: string) => g.nodes.filter((n: any) => n.type === t).length;
  const edgesOf = (t: string) => g.edges.filter((e: any) => e.type === t).length;
  const toSymbol = g.edges.filter((e: any) => e.type === "mentions" && e.target.startsWith("sym_")).length;
  expect([step, c.nodes, c.edges, c.technologies, c.references, c.modules ?? 0, c.links_to, c.symbol_mentions])
    .toEqual([step, g.nodes.length, g.edges.length, ofType("technology"), ofType("reference"), ofType("module"), edgesOf("links_to"), toSymbol]);
  const copy = tempDir("ag-incr-");
  cpSync(join(root, "notes"), join(copy, "notes"), { recursive: true });
  const fresh = cli(["ingest", "--root", copy, "--json"]).json.counts;
  expect([step, fresh]).toEqual([step, c]);
  rmSync(copy, { recursive: true, force: true });
}

/** Each step: what it does to the workspace, then check() of the counts. */
const STEPS: [string, () => void][] = [
  // A new technology and a new reference in one file.
  ["edit adds a technology and a reference, drops others", () => writeFileSync(join(root, "notes/n03.md"), "# Note 3\n\nNow on Terraform, see https://example.com/new/thing.\n")],
  // The only mention of a reference goes away with its file; a shared one stays (other files hold it).
  ["file removed", () => unlinkSync(join(root, "notes/n07.md"))],
  // A module no other file imports, and one that another does.
  ["imports changed", () => writeFileSync(join(root, "notes/other.py"), "import sys\n\ndef other():\n    return sys.argv\n")],
  // An edit that changes no shared node (the common case: nothing to look up).
  ["edit without shared changes", () => writeFileSync(join(root, "notes/n10.md"), "# Note 10\n\nWe run Kafka here. See https://example.com/shared/0 and https://example.com/only/10. More text.\n")],
  // The target of links from other shards appears, then one that was linked to goes.
  ["link target added", () => writeFileSync(join(root, "notes/later.md"), "# Later\n\nWritten after the others.\n")],
  ["link target removed", () => unlinkSync(join(root, "notes/n04.md"))],
  // A code span that names a symbol appears in an edit; then the symbol it names is renamed away.
  ["code spans edited", () => writeFileSync(join(root, "notes/n11.md"), "# Note 11\n\nCall `other` and `main` from here.\n")],
  ["symbol renamed", () => writeFileSync(join(root, "notes/tool.py"), "import os\n\ndef start():\n    return os.getcwd()\n")],
  // A second definition of a name that wins (exported before not: a public one in another file).
  ["symbol defined again", () => writeFileSync(join(root, "notes/third.py"), "def main():\n    return 3\n\nclass Other:\n    def other(self):\n        return 1\n")],
];

test("shared node counts after incremental runs equal the graph's and a fresh ingest's", () => {
  check("fresh");
  for (const [step, change] of STEPS) { change(); check(step); }
});

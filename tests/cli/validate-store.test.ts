// validate-store: the stored texts re-scanned with the current redaction detectors. A store written
// with weaker detectors (a config that left some out), and a store whose stored text had a secret
// planted in it afterwards, are found (exit 5, run, path, line and kind of secret, never the secret
// itself, with the rebuild / runs prune guidance); a clean store is exit 0.
import { afterAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeSegment, Segment } from "../../src/store/segment.ts";
import { allStoredText, cleanup, cli, expectOneLineError, workspace } from "../helpers/cli.ts";
import { git } from "../git/fixture.ts";
import { makeDocx, makePdf } from "../pipeline-docs/fixtures.ts";

// Each test spawns several CLI processes: a minute, as tests/helpers/preload.ts gives when this file runs alone.
setDefaultTimeout(60_000);

afterAll(cleanup);

const AWS = "AKIAIOSFODNN7EXAMPLE";
const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
const SECRET_NOTE = `# Incident\n\nThe leaked key was ${AWS} in the old deploy script.\n\nA session: ${JWT}\n`;
const noSecret = (r: { stdout: string; stderr: string }) => {
  for (const s of [AWS, JWT, JWT.slice(0, 20)]) { expect(r.stdout).not.toContain(s); expect(r.stderr).not.toContain(s); }
};

describe("a run written with fewer detectors", () => {
  test("is found in the current run, then only by --all-runs after an ingest with the full set, and not at all after runs prune", () => {
    const root = workspace({ "notes/incident.md": SECRET_NOTE, "notes/plain.md": "# Plain\n\nNothing to see.\n" });
    writeFileSync(join(root, "weak.yaml"), "security:\n  redaction:\n    detectors: [pem_private_key, bearer_token, credential_kv]\n");
    const weak = cli(["ingest", "--root", root, "--config", join(root, "weak.yaml"), "--json"]);
    expect(weak.code).toBe(0);
    const oldRun = weak.json.run_id;

    const r = cli(["validate-store", "--root", root]);
    expect(r.code).toBe(5);
    expect(r.stdout.trim().split("\n")).toEqual([`${oldRun}  notes/incident.md:3  vendor_token`, `${oldRun}  notes/incident.md:5  jwt`]);
    expect(expectOneLineError(r)).toContain("2 stored line(s) or field(s) in 1 run(s) hold something the current detectors would redact");
    expect(r.stderr).toContain("hint: run 'auditgraph rebuild'");
    expect(r.stderr).toContain("'auditgraph runs prune --keep 1'");
    noSecret(r);
    const j = cli(["validate-store", "--root", root, "--json"]);
    expect(j.code).toBe(5);
    expect(j.json).toMatchObject({ status: "error", code: "secrets_found", exit_code: 5, runs: [oldRun], texts: 2 });
    expect(j.json.findings).toEqual([
      { run_id: oldRun, path: "notes/incident.md", line: 3, kind: "vendor_token" },
      { run_id: oldRun, path: "notes/incident.md", line: 5, kind: "jwt" },
    ]);
    noSecret(j);

    // An ingest with the full detectors writes a clean run: the current run is clean, the old one is not.
    const full = cli(["ingest", "--root", root, "--json"]);
    expect(full.code).toBe(0);
    expect(full.json.run_id).not.toBe(oldRun);
    const clean = cli(["validate-store", "--root", root, "--json"]);
    expect(clean.code).toBe(0);
    expect(clean.json).toMatchObject({ status: "ok", runs: [full.json.run_id], findings: [] });
    expect(cli(["validate-store", "--root", root]).stdout).toContain("no stored text holds anything the current detectors would redact");
    const all = cli(["validate-store", "--root", root, "--all-runs", "--json"]);
    expect(all.code).toBe(5);
    expect(all.json.runs).toEqual([oldRun, full.json.run_id]);
    expect(all.json.findings.map((f: any) => f.run_id)).toEqual([oldRun, oldRun]);
    expect(all.json.hint).toContain("the current run is clean: 'auditgraph runs prune --keep 1'");
    noSecret(all);

    expect(cli(["runs", "prune", "--keep", "1", "--root", root]).code).toBe(0);
    const after = cli(["validate-store", "--root", root, "--all-runs", "--json"]);
    expect(after.code).toBe(0);
    expect(after.json.runs).toEqual([full.json.run_id]);
  });
});

describe("a secret planted in a stored text", () => {
  test("is found at its path and line; the store as ingested was clean", () => {
    const root = workspace();
    expect(cli(["ingest", "--root", root]).code).toBe(0);
    expect(cli(["validate-store", "--root", root]).code).toBe(0);
    // Rewrite the text segment holding notes/runbook.md with a key added to its third line, as a
    // run written by an older detector set would have stored it, and point the manifest at it.
    const pd = join(root, ".pkg/profiles/default");
    const run = readFileSync(join(pd, "current"), "utf8").trim();
    const mp = join(pd, "runs", run, "manifest.json");
    const m = JSON.parse(readFileSync(mp, "utf8"));
    let planted = false;
    for (const a of m.artifacts.filter((x: any) => x.name.startsWith("text/"))) {
      const seg = new Segment(join(pd, "objects", a.sha256.slice(0, 2), a.sha256));
      const { tables: _, ...head } = seg.header;
      const entries: [string, Uint8Array][] = [...seg.rangeBytes("text")].map(([k, v]) => [k, new Uint8Array(v)]);
      seg.close();
      const at = entries.findIndex(([k]) => k.startsWith("notes/runbook.md\0"));
      if (at < 0) continue;
      const lines = new TextDecoder().decode(entries[at]![1]).split("\n");
      lines[2] = `${lines[2]} export AWS_KEY_ID=${AWS}`;
      entries[at]![1] = new TextEncoder().encode(lines.join("\n"));
      const obj = encodeSegment(head, {}, { text: entries });
      mkdirSync(join(pd, "objects", obj.sha256.slice(0, 2)), { recursive: true });
      writeFileSync(join(pd, "objects", obj.sha256.slice(0, 2), obj.sha256), obj.data);
      Object.assign(a, { sha256: obj.sha256, bytes: obj.bytes });
      planted = true;
    }
    expect(planted).toBe(true);
    writeFileSync(mp, JSON.stringify(m, null, 2) + "\n");
    // The planted text is what the store now serves.
    const chunk = cli(["list", "--type", "chunk", "--where", "path=notes/runbook.md", "--root", root, "--json"]).json.nodes[0].id;
    expect(cli(["node", chunk, "--root", root, "--json"]).json.text).toContain("AWS_KEY_ID=");
    const r = cli(["validate-store", "--root", root, "--json"]);
    expect(r.code).toBe(5);
    expect(r.json.findings).toEqual([{ run_id: run, path: "notes/runbook.md", line: 3, kind: "vendor_token" }]);
    expect(r.json.hint).toContain("run 'auditgraph rebuild'");
    noSecret(r);
    // rebuild writes a run from the sources, which never held the key: clean again.
    expect(cli(["rebuild", "--root", root]).code).toBe(0);
    expect(cli(["validate-store", "--root", root]).code).toBe(0);
    expect(cli(["validate-store", "--root", root, "--all-runs"]).code).toBe(5);
  });
});

describe("secrets outside document texts", () => {
  test("a commit's own author name (two people, one e-mail) is re-scanned too", () => {
    const root = workspace({ "notes/plain.md": "# Plain\n\nNothing to see.\n" });
    git(root, ["init", "-q", "."]);
    git(root, ["add", "-A"]);
    git(root, ["commit", "-q", "-m", "first"], { name: `Deploy ${JWT}`, email: "bot@example.com", date: "2024-01-01T00:00:00Z" });
    const oid = git(root, ["rev-parse", "HEAD"]);
    writeFileSync(join(root, "notes/plain.md"), "# Plain\n\nStill nothing.\n");
    git(root, ["commit", "-q", "-am", "second"], { name: "Release bot", email: "bot@example.com", date: "2024-01-02T00:00:00Z" });
    writeFileSync(join(root, "weak.yaml"), "security:\n  redaction:\n    detectors: [pem_private_key]\ngit:\n  enabled: true\n");
    const weak = cli(["ingest", "--root", root, "--config", join(root, "weak.yaml"), "--json"]);
    expect(weak.code).toBe(0);
    const j = cli(["validate-store", "--root", root, "--json"]);
    expect(j.code).toBe(5);
    expect(j.json.findings).toEqual([{ run_id: weak.json.run_id, node: `commit_${oid}`, field: "author", kind: "jwt" }]);
    noSecret(j);
  });

  test("a PDF or Word title, a commit subject and an author name are re-scanned and located by field, never printed", () => {
    const root = workspace({
      "docs/report.pdf": makePdf([["Quarterly numbers, nothing secret."]], { title: `Keys ${AWS}` }),
      "docs/handbook.docx": makeDocx([["", "Plain words in the body."]], { title: `Session ${JWT}` }),
      "notes/plain.md": "# Plain\n\nNothing to see.\n",
    });
    git(root, ["init", "-q", "."]);
    git(root, ["add", "-A"]);
    git(root, ["commit", "-q", "-m", `Rotate ${AWS} out`], { name: `Deploy ${JWT}`, email: "bot@example.com" });
    const oid = git(root, ["rev-parse", "HEAD"]);
    const detectors = "security:\n  redaction:\n    detectors: [pem_private_key, bearer_token, credential_kv]\n";
    writeFileSync(join(root, "weak.yaml"), `${detectors}git:\n  enabled: true\n`);
    writeFileSync(join(root, "full.yaml"), "git:\n  enabled: true\n");
    const weak = cli(["ingest", "--root", root, "--config", join(root, "weak.yaml"), "--json"]);
    expect(weak.code).toBe(0);
    expect(weak.json.counts.commits).toBe(1);
    const run = weak.json.run_id;
    const author = cli(["list", "--type", "author", "--root", root, "--json"]).json.nodes[0].id;

    const j = cli(["validate-store", "--root", root, "--json"]);
    expect(j.code).toBe(5);
    expect(j.json.findings).toEqual([
      { run_id: run, path: "docs/handbook.docx", field: "title", kind: "jwt" },
      { run_id: run, path: "docs/report.pdf", field: "title", kind: "vendor_token" },
      { run_id: run, node: author, field: "name", kind: "jwt" },
      { run_id: run, node: `commit_${oid}`, field: "subject", kind: "vendor_token" },
    ]);
    noSecret(j);
    const r = cli(["validate-store", "--root", root]);
    expect(r.code).toBe(5);
    expect(r.stdout.trim().split("\n")).toEqual([
      `${run}  docs/handbook.docx (title)  jwt`, `${run}  docs/report.pdf (title)  vendor_token`,
      `${run}  ${author} (name)  jwt`, `${run}  commit_${oid} (subject)  vendor_token`,
    ]);
    expect(expectOneLineError(r)).toContain("4 stored line(s) or field(s) in 1 run(s)");
    noSecret(r);

    // A run written with every detector redacts them all: clean.
    const full = cli(["ingest", "--root", root, "--config", join(root, "full.yaml"), "--json"]);
    expect(full.code).toBe(0);
    const clean = cli(["validate-store", "--root", root, "--config", join(root, "full.yaml"), "--json"]);
    expect(clean.code).toBe(0);
    expect(clean.json).toMatchObject({ status: "ok", findings: [] });
    expect(clean.json.strings).toBeGreaterThan(0);
  });

  test("a string a document's text also holds is reported once, at its line; one it does not hold at its field", () => {
    const root = workspace({ "notes/incident.md": `# Key ${AWS}\n\nBody.\n`, "notes/plain.md": "# Plain\n" });
    writeFileSync(join(root, "weak.yaml"), "security:\n  redaction:\n    detectors: [pem_private_key]\n");
    const weak = cli(["ingest", "--root", root, "--config", join(root, "weak.yaml"), "--json"]);
    expect(weak.code).toBe(0);
    // The title and the section name are the heading's text: found at line 1 of the text, not again as fields.
    const j = cli(["validate-store", "--root", root, "--json"]);
    expect(j.json.findings).toEqual([{ run_id: weak.json.run_id, path: "notes/incident.md", line: 1, kind: "vendor_token" }]);
  });
});

describe("front matter spelled with YAML escapes", () => {
  test("is redacted as parsed, so the store holds no secret and validate-store finds none", () => {
    const root = workspace({ "notes/escaped.md": `---\ntitle: "key \\x41${AWS.slice(1)}"\nowner:\n  note: "\\u0041${AWS.slice(1)}"\n---\n# Body\n\nplain\n` });
    const ing = cli(["ingest", "--root", root, "--json"]);
    expect(ing.code).toBe(0);
    expect(allStoredText(join(root, ".pkg"))).not.toContain(AWS);
    const doc = cli(["list", "--type", "document", "--root", root, "--json"]).json.nodes[0];
    expect(doc.name).toBe("key [REDACTED:vendor_token]");
    expect(doc.attrs.frontmatter.owner.note).toBe("[REDACTED:vendor_token]");
    expect(cli(["validate-store", "--root", root]).code).toBe(0);
  });
});

describe("front matter keys", () => {
  test("a key spelled with a YAML escape (redaction off) is found, and reported by its place, never printed", () => {
    const root = workspace({ "notes/keyed.md": `---\n"\\x41${AWS.slice(1)}": plain value\nowner: nobody\n---\nhello\n`, "config/pkg.yaml": "security:\n  redaction:\n    enabled: false\n" });
    const ing = cli(["ingest", "--root", root, "--json"]);
    expect(ing.code).toBe(0);
    const j = cli(["validate-store", "--root", root, "--json"]);
    expect(j.code).toBe(5);
    expect(j.json.findings).toEqual([{ run_id: ing.json.run_id, path: "notes/keyed.md", field: "frontmatter (key #1)", kind: "vendor_token" }]);
    noSecret(j);
    noSecret(cli(["validate-store", "--root", root]));
    // With redaction off a rebuild would store it again: the hint starts with the config.
    expect(j.json.hint).toStartWith("redaction is disabled in the config (security.redaction.enabled: false), so a rebuild would store them again");
  });
});

describe("a secret redacted inside front matter", () => {
  test("leaves the front matter valid: a redacted value stays a string, text after it stays, a tag stays a tag", () => {
    // A key that is a list (YAML allows it) also passes without the YAML library's process warning on stderr.
    const root = workspace({ "notes/fm.md": `---\ntitle: ${AWS}\nowner: ${AWS} and more\ntags: [sec, ${AWS}]\n---\n# Body\n\nplain\n`, "notes/listkey.md": "---\n[a, b]: x\n---\nhello\n" });
    const ing = cli(["ingest", "--root", root, "--json"]);
    expect({ code: ing.code, stderr: ing.stderr }).toEqual({ code: 0, stderr: "" });
    const doc = cli(["list", "--type", "document", "--where", "path=notes/fm.md", "--root", root, "--json"]).json.nodes[0];
    expect(doc.name).toBe("[REDACTED:vendor_token]");
    expect(doc.attrs.frontmatter).toEqual({ title: "[REDACTED:vendor_token]", owner: "[REDACTED:vendor_token] and more", tags: ["sec", "[REDACTED:vendor_token]"] });
    expect(cli(["query", "tag:sec", "--root", root, "--json"]).json.total).toBe(1);
    // Two keys redacted by one detector are one marker, not a duplicate key that loses the rest.
    const two = workspace({ "notes/keys.md": `---\n${AWS}: a\n${AWS.slice(0, -1)}Q: b\ntitle: kept\n---\n# Body\n` });
    const twoIng = cli(["ingest", "--root", two, "--json"]);
    expect({ code: twoIng.code, stderr: twoIng.stderr }).toEqual({ code: 0, stderr: "" });
    expect(cli(["list", "--type", "document", "--root", two, "--json"]).json.nodes[0].attrs.frontmatter).toEqual({ "[REDACTED:vendor_token]": "b", title: "kept" });
    expect(allStoredText(join(root, ".pkg"))).not.toContain(AWS);
  });
});

describe("strings the markdown parser spells differently from the text", () => {
  test("headings, the title and link paths are redacted as parsed: the store holds no secret and validate-store finds none", () => {
    // The text's detectors see `&#65;KIA…` and `%41KIA…`; the parser gives `AKIA…` (entities in
    // headings) and extraction a decoded link path.
    const note = [
      `# key &#65;${AWS.slice(1)}`, "",
      `## Setext &#x41;${AWS.slice(1)} too`, "",
      `Code \`&#65;${AWS.slice(1)}\` here, [k](%41${AWS.slice(1)}.md).`, "",
    ].join("\n");
    const root = workspace({ "notes/entity.md": note });
    const ing = cli(["ingest", "--root", root, "--json"]);
    expect(ing.code).toBe(0);
    const stored = allStoredText(join(root, ".pkg"));
    expect(stored).not.toContain(AWS);
    const doc = cli(["list", "--type", "document", "--root", root, "--json"]).json.nodes[0];
    expect(doc.name).toBe("key [REDACTED:vendor_token]");
    // A code span keeps an entity as written: Bun's parser does not decode it there.
    expect(doc.attrs.code_spans).toEqual([`&#65;${AWS.slice(1)}`]);
    const sections = cli(["list", "--type", "section", "--root", root, "--json"]).json.nodes.map((n: any) => [n.name, n.line]);
    expect(sections).toEqual([["key [REDACTED:vendor_token]", 1], ["Setext [REDACTED:vendor_token] too", 3]]);
    expect(cli(["validate-store", "--root", root]).code).toBe(0);
  });
});

describe("refusals", () => {
  test("no run yet is exit 2; an incompatible current run is exit 3 with the rebuild message", () => {
    const root = workspace({ "notes/a.md": "# A\n" });
    expect(expectOneLineError(cli(["validate-store", "--root", root]))).toContain("no run in");
    expect(cli(["validate-store", "--root", root, "--all-runs"]).code).toBe(2);
    expect(cli(["ingest", "--root", root]).code).toBe(0);
    const pd = join(root, ".pkg/profiles/default");
    const mp = join(pd, "runs", readFileSync(join(pd, "current"), "utf8").trim(), "manifest.json");
    writeFileSync(mp, readFileSync(mp, "utf8").replace(/"schema_version": ?"[^"]+"/, '"schema_version":"99.0.0"'));
    const r = cli(["validate-store", "--root", root]);
    expect(r.code).toBe(3);
    expect(expectOneLineError(r)).toContain("Run 'auditgraph rebuild'");
    // --all-runs describes what it can: the unreadable run is skipped with a warning.
    const all = cli(["validate-store", "--root", root, "--all-runs", "--json"]);
    expect(all.code).toBe(0);
    expect(all.json.skipped_runs.length).toBe(1);
    expect(all.stderr).toContain("not scanned");
  });
});

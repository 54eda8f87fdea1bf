// PDF and Word documents end to end from source: text per page (path:page:line), Word headings as
// sections, each unreadable document skipped with its reason, a 200 MB document never read, redaction,
// determinism across locations. (The compiled executable: compiled.test.ts.)
import { afterAll, expect, test } from "bun:test";
import { closeSync, openSync, ftruncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { allStoredText, cleanup, cli, treeHash, workspace } from "../helpers/cli.ts";
import { documentFiles, makePdf, makeZip } from "./fixtures.ts";

afterAll(cleanup);

function docWorkspace(): string {
  const root = workspace({ ...documentFiles(), "notes/index.md": "# Index\n\nSee the handbook.\n" });
  // 200 MB (sparse): over max_document_bytes, so the scan skips it by its size without reading it.
  const fd = openSync(join(root, "docs/huge.pdf"), "w");
  ftruncateSync(fd, 200 * 1024 * 1024);
  closeSync(fd);
  return root;
}

test("PDF and Word: text, pages, headings, and a reason for every document that gives no text", () => {
  const root = docWorkspace();
  const r = cli(["ingest", "--root", root, "--json"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(Object.fromEntries(r.json.skipped.map((s: any) => [s.path, s.reason]))).toEqual({
    "docs/broken.docx": "corrupt", "docs/huge.pdf": "too_large", "docs/locked.pdf": "encrypted",
    "docs/scan.pdf": "no_text_layer", "docs/truncated.pdf": "corrupt",
  });
  expect(r.json.counts).toMatchObject({ files: 8, ok: 3, skipped: 5 });

  // A PDF hit carries its page and the line within it; the text output is path:page:line.
  const q = cli(["query", "zebrafish", "--root", root, "--json"]).json;
  expect(q.hits[0]).toMatchObject({ path: "docs/report.pdf", type: "chunk", page: 2, page_line: 2, snippet: "Zebrafish inventory is on page two." });
  expect(q.hits[0].line).toBeGreaterThan(q.hits[0].page_line);
  expect(cli(["query", "zebrafish", "--root", root]).stdout).toContain("docs/report.pdf:2:2  [chunk] Audit Report 2026");
  const first = cli(["query", "ledger", "--root", root, "--json"]).json.hits[0];
  expect(first).toMatchObject({ page: 1, page_line: 2, line: 2 });

  // Word headings are sections (level from the heading style), the title is the first Heading 1.
  const doc = cli(["query", "type:document", "--root", root, "--json", "--limit", "10"]).json.hits;
  expect(doc.map((h: any) => [h.path, h.name]).sort()).toEqual([
    ["docs/handbook.docx", "Employee Handbook"], ["docs/report.pdf", "Audit Report 2026"], ["notes/index.md", "Index"],
  ]);
  const hb = doc.find((h: any) => h.path === "docs/handbook.docx");
  const node = cli(["node", hb.id, "--root", root, "--json"]).json;
  expect(node.node.attrs.kind).toBe("docx");
  const secs = cli(["list", "--type", "section", "--root", root, "--json", "--where", "path=docs/handbook.docx", "--sort", "line"]).json.nodes;
  expect(secs.map((n: any) => [n.name, n.attrs.level])).toEqual([["Employee Handbook", 1], ["Vacation policy", 2], ["Expenses", 2]]);
  const sec = cli(["query", "vacation", "--type", "section", "--root", root, "--json"]).json.hits[0];
  expect(sec).toMatchObject({ type: "section", name: "Vacation policy", path: "docs/handbook.docx" });
  expect(sec.page).toBeUndefined();
  const pdfNode = cli(["node", doc.find((h: any) => h.path === "docs/report.pdf").id, "--root", root, "--json"]).json;
  expect(pdfNode.node.attrs).toMatchObject({ kind: "pdf", pages: 2 });

  // Extracted text is redacted like any other.
  const stored = allStoredText(join(root, ".pkg"));
  expect(stored).toContain("twenty-five days of leave");
  expect(stored).not.toContain("hunter2hunter2");
  expect(cli(["verify", "--root", root]).code).toBe(0);
}, 60_000);

test("the same documents in another directory give byte-identical stores; an unchanged re-run writes nothing", () => {
  const a = docWorkspace();
  const b = docWorkspace();
  expect(cli(["ingest", "--root", a]).code).toBe(0);
  expect(cli(["ingest", "--root", b]).code).toBe(0);
  const objects = (root: string) => Object.fromEntries(Object.entries(treeHash(join(root, ".pkg"))).filter(([p]) => !p.includes("runs.log") && !p.includes("cache/stat.")));
  expect(objects(a)).toEqual(objects(b));
  const again = cli(["ingest", "--root", a, "--json"]).json;
  expect(again.unchanged).toBe(true);
  // A document replaced by a damaged one: skipped now, the run goes on.
  writeFileSync(join(a, "docs/report.pdf"), new TextEncoder().encode("%PDF-1.4\ngarbage"));
  const r = cli(["ingest", "--root", a, "--json"]);
  expect(r.code).toBe(0);
  expect(r.json.skipped.find((s: any) => s.path === "docs/report.pdf").reason).toBe("corrupt");
  expect(cli(["query", "zebrafish", "--root", a, "--json"]).json.total).toBe(0);
}, 60_000);

test("a PDF of more than 2,000 pages: the first 2,000 are indexed, and the document says so in a warning", () => {
  // A flat page tree (every page a kid of the root): pdf.js's time per page grows with the page's
  // number there, so the pages past the cap are never asked for.
  const pages = Array.from({ length: 2001 }, (_, i) => [i === 1999 ? "Lastindexed marker page." : i === 2000 ? "Neverindexed marker page." : `Page ${i + 1}.`]);
  const root = workspace({ "docs/long.pdf": makePdf(pages) });
  const r = cli(["ingest", "--root", root, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toContain("docs/long.pdf:1: only the first 2000 of the PDF's 2001 pages are indexed");
  expect(cli(["query", "lastindexed", "--root", root, "--json"]).json.hits[0]).toMatchObject({ path: "docs/long.pdf", page: 2000 });
  expect(cli(["query", "neverindexed", "--root", root, "--json"]).json.hits).toEqual([]);
}, 60_000);

test("a .docx whose main part is not word/document.xml: found through _rels/.rels, its styles through the main part's rels", () => {
  const W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"';
  const R = 'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"';
  const rel = (type: string, target: string) => `<Relationship Id="r1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/${type}" Target="${target}"/>`;
  const docx = makeZip({
    "[Content_Types].xml": `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>`,
    // Targets are XML attribute values holding URIs: entities, then percent-escapes, are decoded.
    "_rels/.rels": `<?xml version="1.0"?><Relationships ${R}>${rel("officeDocument", "word/document2.xml")}</Relationships>`,
    "word/_rels/document2.xml.rels": `<?xml version="1.0"?><Relationships ${R}>${rel("styles", "my%20styles&amp;more.xml")}</Relationships>`,
    "word/my styles&more.xml": `<?xml version="1.0"?><w:styles ${W}><w:style w:type="paragraph" w:styleId="Kop1"><w:name w:val="heading 1"/></w:style></w:styles>`,
    "word/document2.xml": `<?xml version="1.0"?><w:document ${W}><w:body><w:p><w:pPr><w:pStyle w:val="Kop1"/></w:pPr><w:r><w:t>Quarterly plan</w:t></w:r></w:p><w:p><w:r><w:t>Walrus budget approved.</w:t></w:r></w:p></w:body></w:document>`,
  });
  const root = workspace({ "docs/alt.docx": docx });
  const r = cli(["ingest", "--root", root, "--json"]);
  expect([r.code, r.json.skipped]).toEqual([0, []]);
  expect(cli(["query", "walrus", "--root", root, "--json"]).json.hits[0]).toMatchObject({ path: "docs/alt.docx", name: "Quarterly plan" });
  const secs = cli(["list", "--type", "section", "--root", root, "--json"]).json.nodes;
  expect(secs.map((n: any) => [n.name, n.attrs.level])).toEqual([["Quarterly plan", 1]]);
}, 60_000);

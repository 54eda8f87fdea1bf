// Word documents as Word writes them: text boxes (paragraphs inside a paragraph, written twice:
// DrawingML and a VML fallback), parts in another encoding than UTF-8, a password-protected
// document (an encrypted OLE package, not a ZIP), and a small file holding more text than a text
// file may: each read for what it is, or skipped with the reason that says so.
import { afterAll, expect, test } from "bun:test";
import { docxText } from "../../src/pipeline/documents/docx.ts";
import { documentText } from "../../src/pipeline/documents/index.ts";
import { cleanup, cli, workspace } from "../helpers/cli.ts";
import { makeZip } from "./fixtures.ts";
import { deflateRawSync } from "node:zlib";

afterAll(cleanup);

const W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"';
const docx = (body: string, head = '<?xml version="1.0" encoding="UTF-8"?>') =>
  makeZip({ "word/document.xml": `${head}<w:document ${W}><w:body>${body}</w:body></w:document>` });
const p = (text: string) => `<w:p><w:r><w:t>${text}</w:t></w:r></w:p>`;
const box = (inner: string) => `<w:txbxContent>${inner}</w:txbxContent>`;

test("a text box's paragraphs are blocks of their own, after the paragraph that holds them; its fallback copy is left out", () => {
  const holder = `<w:p><w:r><w:t>Before</w:t></w:r><w:r><w:pict><v:textbox>${box(p("Inside"))}</v:textbox></w:pict></w:r><w:r><w:t> after servalword</w:t></w:r></w:p>`;
  expect(docxText(docx(holder + p("Next"))).text).toBe("Before after servalword\n\nInside\n\nNext\n");
  // Word's usual form: DrawingML in mc:Choice, the same box as VML in mc:Fallback.
  const alt = `<w:p><w:r><w:t>Lead</w:t></w:r><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing>${box(p("Boxed once"))}</w:drawing></mc:Choice><mc:Fallback><w:pict>${box(p("Boxed once"))}</w:pict></mc:Fallback></mc:AlternateContent></w:r><w:r><w:t> tail</w:t></w:r></w:p>`;
  expect(docxText(docx(alt)).text).toBe("Lead tail\n\nBoxed once\n");
  // A box in a box, and a box left open (a damaged part): read as far as it goes.
  const nested = `<w:p><w:r><w:t>Outer</w:t>${box(`<w:p><w:r><w:t>Mid</w:t>${box(p("Deep"))}</w:r></w:p>`)}</w:r></w:p>`;
  expect(docxText(docx(nested)).text).toBe("Outer\n\nMid\n\nDeep\n");
  expect(docxText(docx(`<w:p><w:r><w:t>Open</w:t>${box(p("Unclosed")).replace("</w:txbxContent>", "")}</w:r></w:p>`)).text).toContain("Open");
});

/** A part's exact bytes (not UTF-8 text). */
const bytesPart = (b: Uint8Array) => ({ deflated: new Uint8Array(deflateRawSync(b)), size: b.length });
const docOf = (xml: string) => `<w:document ${W}><w:body>${p(xml)}</w:body></w:document>`;

test("a part in the encoding it declares: Latin-1, UTF-16 with or without a mark; an encoding that cannot be read is corrupt", async () => {
  const latin = Buffer.from(`<?xml version="1.0" encoding="ISO-8859-1"?>${docOf("café naïve")}`, "latin1");
  expect(docxText(makeZip({ "word/document.xml": bytesPart(latin) })).text).toBe("café naïve\n");
  const utf16 = Buffer.from(`\ufeff<?xml version="1.0" encoding="UTF-16"?>${docOf("Grüße 東京")}`, "utf16le");
  expect(docxText(makeZip({ "word/document.xml": bytesPart(utf16) })).text).toBe("Grüße 東京\n");
  const unmarked = Buffer.from(`<?xml version="1.0" encoding="UTF-16"?>${docOf("no mark")}`, "utf16le");
  expect(docxText(makeZip({ "word/document.xml": bytesPart(unmarked) })).text).toBe("no mark\n");
  const odd = Buffer.from(`<?xml version="1.0" encoding="x-no-such"?>${docOf("x")}`, "latin1");
  expect(await documentText("d.docx", makeZip({ "word/document.xml": bytesPart(odd) }))).toEqual({ skip: "corrupt", detail: expect.stringContaining('"x-no-such"') });
});

/** An OLE compound file's first bytes and a directory entry naming a stream (enough for the check). */
const ole = (stream: string) => Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(504), Buffer.from(stream, "utf16le"), Buffer.alloc(64)]);

test("a password-protected Word document is encrypted; another OLE file is not a .docx (corrupt)", async () => {
  expect(await documentText("p.docx", ole("EncryptedPackage"))).toMatchObject({ skip: "encrypted" });
  expect(await documentText("old.docx", ole("WordDocument"))).toMatchObject({ skip: "corrupt", detail: expect.stringContaining("OLE compound file") });
  const root = workspace({ "docs/protected.docx": ole("EncryptedPackage"), "notes/a.md": "# A\n" });
  const r = cli(["ingest", "--root", root, "--json"]);
  expect(r.code).toBe(0);
  expect(r.json.skipped).toEqual([{ path: "docs/protected.docx", reason: "encrypted", detail: "a password-protected Word document (an encrypted package)" }]);
  expect(r.stderr).toBe(""); // a skipped document is in skipped[], not among the warnings
  const show = cli(["runs", "show", r.json.run_id, "--root", root]);
  expect(show.stdout).toContain("skipped docs/protected.docx: encrypted (a password-protected Word document (an encrypted package))");
});

test("a document whose text is over max_file_size_bytes is too_large, as a text file would be", () => {
  const words = Array.from({ length: 2000 }, (_, i) => `w${i}`).join(" ") + " ";
  const big = makeZip({ "word/document.xml": `<w:document ${W}><w:body>${p(words.repeat(40))}</w:body></w:document>` });
  expect(big.length).toBeLessThan(20_000);
  const root = workspace({
    "docs/big.docx": big, "docs/small.docx": docx(p("Small and fine")),
    "config/pkg.yaml": "profiles:\n  default:\n    ingestion:\n      max_file_size_bytes: 100000\n",
  });
  const r = cli(["ingest", "--root", root, "--json"]);
  expect(r.code).toBe(0);
  expect(r.json.skipped).toEqual([{ path: "docs/big.docx", reason: "too_large", detail: expect.stringMatching(/^its text is \d+ bytes, over max_file_size_bytes \(100000\)$/) }]);
  expect(r.json.counts.ok).toBe(1);
});

// Documents that inflate hugely ("bombs"): a 1 MB .docx whose word/document.xml inflates to 1 GiB
// behind declared sizes of 1000 bytes, and a 1 MB PDF whose content stream inflates to 1 GiB. Each is
// skipped with its reason, and the ingest's peak memory stays far below what inflating them would
// take (they used to peak at 2.1 GB: the inflate had no bound on its output).
import { afterAll, expect, test } from "bun:test";
import { deflateSync } from "node:zlib";
import { AG, cleanup, workspace } from "../helpers/cli.ts";
import { deflateBomb, makeDocx, makePdf, makeZip, runWithPeak } from "./fixtures.ts";
import { scanPdfStreams } from "../../src/pipeline/documents/pdf-streams.ts";

afterAll(cleanup);

const GIB = 1024;
/** Well above what an ingest of a few small files takes, well below a GiB inflated. */
const PEAK_LIMIT = 400 * 1024 * 1024;

/** `ingest --json` from source, with the child's peak RSS. */
async function ingest(root: string): Promise<{ json: any; code: number; maxRSS: number }> {
  const r = await runWithPeak([...AG, "ingest", "--root", root, "--json"]);
  return { json: JSON.parse(r.stdout), code: r.code, maxRSS: r.peak };
}
const reasons = (json: any) => Object.fromEntries(json.skipped.map((s: any) => [s.path, s.reason]));

test("a .docx whose declared sizes lie is corrupt, one that says it is too large is too_large; neither is inflated past its bound", async () => {
  const xml = (mib: number) => ({ deflated: deflateBomb(mib), size: 1000 });
  const lying = makeZip({ "[Content_Types].xml": "<Types/>", "word/document.xml": xml(GIB) });
  const honest = makeZip({ "[Content_Types].xml": "<Types/>", "word/document.xml": { deflated: deflateBomb(GIB), size: GIB * 1024 * 1024 } });
  expect(lying.length).toBeLessThan(1.5e6);
  const root = workspace({
    "docs/lying.docx": lying, "docs/honest.docx": honest,
    "docs/fine.docx": makeDocx([["Heading1", "Still read"], ["", "Kiwi orchard notes."]]),
  });
  const r = await ingest(root);
  expect(r.code).toBe(0);
  expect(r.maxRSS).toBeGreaterThan(0);
  expect(r.maxRSS).toBeLessThan(PEAK_LIMIT);
  expect(reasons(r.json)).toEqual({ "docs/lying.docx": "corrupt", "docs/honest.docx": "too_large" });
  expect(r.json.counts.ok).toBe(1);
}, 60_000);

test("a PDF whose content stream inflates past the bound is too_large before pdf.js reads it; a compressed PDF is still read", async () => {
  const root = workspace({
    "docs/bomb.pdf": makePdf([["bomb text"]], { bombMiB: GIB }),
    "docs/packed.pdf": makePdf([["Compressed streams", "Papaya ledger on page one."], ["Second page"]], { deflate: true }),
  });
  const r = await ingest(root);
  expect(r.code).toBe(0);
  expect(r.maxRSS).toBeGreaterThan(0);
  expect(r.maxRSS).toBeLessThan(PEAK_LIMIT);
  expect(reasons(r.json)).toEqual({ "docs/bomb.pdf": "too_large" });
  expect(r.json.counts.ok).toBe(1);
}, 60_000);

/** A bomb's stream dictionary and keyword written the ways pdf.js reads as FlateDecode content, which a pattern over the dictionary missed. */
const DISGUISES: Record<string, (n: number) => string> = {
  "claims to be an image": (n) => `<< /Length ${n} /Subtype /Image /Filter /FlateDecode >>\nstream\n`,
  "escaped filter name": (n) => `<< /Length ${n} /Filter /Flate#44ecode >>\nstream\n`,
  "abbreviated key": (n) => `<< /Length ${n} /F /FlateDecode >>\nstream\n`,
  "comment before the keyword": (n) => `<< /Length ${n} /Filter /FlateDecode >> %c\nstream\n`,
  "blank after the keyword": (n) => `<< /Length ${n} /Filter /FlateDecode >>\nstream \n`,
  "a fake endstream and a length pdf.js reads as another key": (n) => `<< /Length 3 /Len#67th ${n} /Filter /FlateDecode >>\nstream\n`,
};

test("a PDF bomb is measured whatever its dictionary says: disguised filters, keys, comments, blanks, lengths", async () => {
  for (const [what, head] of Object.entries(DISGUISES)) {
    const pdf = makePdf([["x"]], { bombMiB: 4, bombHead: head });
    expect({ what, scan: scanPdfStreams(pdf, { stream: 1 << 20, total: 1 << 30 }) }).toMatchObject({ what, scan: { ok: false } });
  }
  // A filter held by another object: the scan reads the data, not the dictionary.
  const data = zlibOf(new Uint8Array(4 << 20));
  const indirect = Buffer.from(`7 0 obj\n/FlateDecode\nendobj\n1 0 obj\n<< /Filter 7 0 R /Length ${data.length} >>\nstream\n${data}\nendstream\nendobj\n`, "latin1");
  expect(scanPdfStreams(indirect, { stream: 1 << 20, total: 1 << 30 })).toMatchObject({ ok: false });
  // End to end, with the real limits: each disguise of a GiB of spaces is too_large, in little memory.
  const files: Record<string, Uint8Array> = { "docs/fine.pdf": makePdf([["Papaya ledger"]], { deflate: true }) };
  for (const [i, head] of Object.values(DISGUISES).entries()) files[`docs/bomb${i}.pdf`] = makePdf([["bomb text"]], { bombMiB: GIB, bombHead: head });
  const r = await ingest(workspace(files));
  expect(r.code).toBe(0);
  expect(r.maxRSS).toBeLessThan(PEAK_LIMIT);
  expect(reasons(r.json)).toEqual(Object.fromEntries(Object.keys(DISGUISES).map((_, i) => [`docs/bomb${i}.pdf`, "too_large"])));
  expect(r.json.counts.ok).toBe(1);
}, 120_000);

test("the PDF stream scan: sizes add up over streams and chained filters, images are held to the per-stream bound only", () => {
  const ok = scanPdfStreams(makePdf([["one"], ["two"]], { deflate: true }));
  expect(ok).toMatchObject({ ok: true, streams: 2 });
  expect((ok as { bytes: number }).bytes).toBeGreaterThan(0);
  // A small bomb against small limits: per stream, then in total.
  const bomb = makePdf([["x"]], { bombMiB: 4 });
  expect(scanPdfStreams(bomb, { stream: 1 << 20, total: 1 << 30 })).toMatchObject({ ok: false, detail: expect.stringContaining("inflates to more than 1048576 bytes") });
  expect(scanPdfStreams(bomb, { stream: 1 << 30, total: 2 << 20 })).toMatchObject({ ok: false, detail: expect.stringContaining("streams inflate to more than 2097152 bytes") });
  expect(scanPdfStreams(bomb, { stream: 8 << 20, total: 8 << 20 })).toMatchObject({ ok: true, streams: 1 });
  // Images are not counted in the total (a PDF of many large images stays readable), but one past
  // the per-stream bound is refused (page contents may claim to be an image).
  const obj = (n: number, dict: string, data: string) => `${n} 0 obj\n<< ${dict} /Length ${data.length} >>\nstream\n${data}\nendstream\nendobj\n`;
  const img = zlibOf(new Uint8Array(3 << 20));
  const images = Buffer.from([1, 2, 3].map((n) => obj(n, "/Subtype /Image /Filter /FlateDecode", img)).join(""), "latin1");
  expect(scanPdfStreams(images, { stream: 4 << 20, total: 4 << 20 })).toEqual({ ok: true, bytes: 0, streams: 3 });
  expect(scanPdfStreams(images, { stream: 2 << 20, total: 1 << 30 })).toMatchObject({ ok: false });
  // A chain of two Flate filters: the second inflates the first's output.
  const twice = Buffer.from(obj(1, "/Filter [/FlateDecode /FlateDecode]", zlibOf(Buffer.from(zlibOf(new Uint8Array(4 << 20)), "latin1"))), "latin1");
  expect(scanPdfStreams(twice, { stream: 1 << 20, total: 1 << 30 })).toMatchObject({ ok: false });
  // A stream that is not zlib data is left to pdf.js.
  expect(scanPdfStreams(Buffer.from(obj(1, "", "BT (plain) Tj ET"), "latin1"))).toEqual({ ok: true, bytes: 0, streams: 0 });
});

/** zlib-wrapped deflate of bytes, as a latin1 string (a PDF stream's data). */
function zlibOf(b: Uint8Array): string {
  return deflateSync(b).toString("latin1");
}

test("the PDF stream scan is linear in the file: many `stream` keywords with no dictionary header do not search back to the start each", () => {
  // 200,000 keywords (2.2 MB): each search back to byte 0 made this take minutes.
  const many = new TextEncoder().encode("%PDF-1.4\n" + "<<>>stream\n".repeat(200_000));
  expect(scanPdfStreams(many)).toEqual({ ok: true, bytes: 0, streams: 0 });
  // Still found: a dictionary with white space before its keyword, and its header far back.
  const spaced = makePdf([["spaced"]], { deflate: true });
  expect(scanPdfStreams(spaced)).toMatchObject({ ok: true, streams: 1 });
}, 60_000);

// Documents that inflate hugely ("bombs"): a 1 MB .docx whose word/document.xml inflates to 1 GiB
// behind declared sizes of 1000 bytes, and a 1 MB PDF whose content stream inflates to 1 GiB. Each is
// skipped with its reason, and the ingest's peak memory stays far below what inflating them would
// take (they used to peak at 2.1 GB: the inflate had no bound on its output).
import { afterAll, expect, test } from "bun:test";
import { deflateSync } from "node:zlib";
import { cleanup, CLI, workspace } from "../helpers/cli.ts";
import { deflateBomb, makeDocx, makePdf, makeZip, runWithPeak } from "./fixtures.ts";
import { MAX_DEFLATE_EXPANSION, scanPdfStreams } from "../../src/pipeline/documents/pdf-streams.ts";

afterAll(cleanup);

const GIB = 1024;
/** Well above what an ingest of a few small files takes, well below a GiB inflated. */
const PEAK_LIMIT = 400 * 1024 * 1024;

/** `ingest --json` from source, with the child's peak RSS. */
async function ingest(root: string): Promise<{ json: any; code: number; maxRSS: number }> {
  const r = await runWithPeak([process.execPath, CLI, "ingest", "--root", root, "--json"]);
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

test("the PDF stream scan: sizes add up over streams and chained filters, images are left out, lengths are read as pdf.js reads them", () => {
  const ok = scanPdfStreams(makePdf([["one"], ["two"]], { deflate: true }));
  expect(ok).toMatchObject({ ok: true, streams: 2 });
  // A small bomb against small limits: per stream, then in total.
  const bomb = makePdf([["x"]], { bombMiB: 4 });
  expect(scanPdfStreams(bomb, { stream: 1 << 20, total: 1 << 30 })).toMatchObject({ ok: false, detail: expect.stringContaining("inflates to more than 1048576 bytes") });
  expect(scanPdfStreams(bomb, { stream: 1 << 30, total: 2 << 20 })).toMatchObject({ ok: false, detail: expect.stringContaining("streams inflate to more than 2097152 bytes") });
  expect(scanPdfStreams(bomb, { stream: 8 << 20, total: 8 << 20 })).toMatchObject({ ok: true, streams: 1 });
  // An image stream is not inflated for text: not counted; a chain of two Flate filters is followed.
  const obj = (dict: string, data: string) => `1 0 obj\n<< ${dict} /Length ${data.length} >>\nstream\n${data}\nendstream\nendobj\n`;
  const image = Buffer.from(obj("/Subtype /Image /Filter /FlateDecode", zlibOf(new Uint8Array(4 << 20))), "latin1");
  expect(scanPdfStreams(image, { stream: 1 << 20, total: 1 << 20 })).toMatchObject({ ok: true, streams: 0 });
  // Its bytes × 1032 are under the stream limit, but the second filter inflates the first's output.
  const twiceData = zlibOf(Buffer.from(zlibOf(new Uint8Array(4 << 20)), "latin1"));
  expect(twiceData.length * MAX_DEFLATE_EXPANSION).toBeLessThan(1 << 20);
  const twice = Buffer.from(obj("/Filter [/FlateDecode /FlateDecode]", twiceData), "latin1");
  expect(scanPdfStreams(twice, { stream: 1 << 20, total: 1 << 30 })).toMatchObject({ ok: false });
  // An indirect /Length, and a direct one that does not end at endstream (pdf.js then looks for endstream).
  const data = zlibOf(new Uint8Array(2 << 20));
  const indirect = Buffer.from(`2 0 obj\n${data.length}\nendobj\n1 0 obj\n<< /Filter /FlateDecode /Length 2 0 R >>\nstream\n${data}\nendstream\nendobj\n`, "latin1");
  expect(scanPdfStreams(indirect, { stream: 1 << 20, total: 1 << 30 })).toMatchObject({ ok: false });
  const short = Buffer.from(`1 0 obj\n<< /Filter /FlateDecode /Length 5 >>\nstream\n${data}\nendstream\nendobj\n`, "latin1");
  expect(scanPdfStreams(short, { stream: 1 << 20, total: 1 << 30 })).toMatchObject({ ok: false });
});

test("the PDF stream scan inflates only what could pass a limit: an ordinary compressed PDF is left to pdf.js", () => {
  // Its streams × 1032 (the most DEFLATE expands) are far under both limits: nothing inflated twice.
  const packed = makePdf([["one"], ["two"]], { deflate: true });
  expect(scanPdfStreams(packed)).toEqual({ ok: true, bytes: 0, streams: 2, inflated: 0 });
  // Limits it could pass: each stream is inflated and measured.
  const measured = scanPdfStreams(packed, { stream: 64, total: 1 << 30 });
  expect(measured).toMatchObject({ ok: true, streams: 2, inflated: 2 });
  expect((measured as { bytes: number }).bytes).toBeGreaterThan(0);
  // Two streams whose worst cases together pass the total: the first is measured, after which the
  // second's worst case fits and it is not inflated.
  const content = "BT /F1 12 Tf 72 712 Td (kiwi) Tj ET";
  const data = zlibOf(Buffer.from(content));
  const two = Buffer.from([1, 2].map((n) => `${n} 0 obj\n<< /Filter /FlateDecode /Length ${data.length} >>\nstream\n${data}\nendstream\nendobj\n`).join(""), "latin1");
  const total = data.length * MAX_DEFLATE_EXPANSION + content.length;
  expect(scanPdfStreams(two, { stream: 1 << 30, total })).toEqual({ ok: true, bytes: content.length, streams: 2, inflated: 1 });
  expect(scanPdfStreams(two, { stream: 1 << 30, total: 2 * data.length * MAX_DEFLATE_EXPANSION })).toEqual({ ok: true, bytes: 0, streams: 2, inflated: 0 });
});

/** zlib-wrapped deflate of bytes, as a latin1 string (a PDF stream's data). */
function zlibOf(b: Uint8Array): string {
  return deflateSync(b).toString("latin1");
}

test("the PDF stream scan is linear in the file: many `stream` keywords with no dictionary header do not search back to the start each", () => {
  // 200,000 keywords (2.2 MB): each search back to byte 0 made this take minutes.
  const many = new TextEncoder().encode("%PDF-1.4\n" + "<<>>stream\n".repeat(200_000));
  expect(scanPdfStreams(many)).toEqual({ ok: true, bytes: 0, streams: 0, inflated: 0 });
  // Still found: a dictionary with white space before its keyword, and its header far back.
  const spaced = makePdf([["spaced"]], { deflate: true });
  expect(scanPdfStreams(spaced)).toMatchObject({ ok: true, streams: 1 });
}, 60_000);

/**
 * PDF: the text layer of each page through unpdf (Mozilla pdf.js built for serverless runtimes: no
 * worker thread, no native code, so it runs inside the compiled executable and its shard workers).
 * Loaded on first use only, so a workspace without PDFs never pays for it. Pages are joined by a
 * line holding only a form feed; `pages` are the 1-based lines where each page starts in the
 * stored text (computed again after redaction, see shard.ts). A document that needs a password is
 * `encrypted`; one that pdf.js cannot parse is `corrupt`; one without any text is `no_text_layer`
 * (a scan: there is no OCR). One whose compressed streams inflate past MAX_PDF_INFLATED_BYTES is
 * `too_large`, found before pdf.js reads it (pdf-streams.ts: pdf.js has no bound of its own).
 * Only the first MAX_PDF_PAGES pages are read (`total` says how many there were).
 */
import { loadEntry } from "../../shared/entries.ts";
import { scanPdfStreams } from "./pdf-streams.ts";

export type PdfResult = { pages: string[]; title?: string; total?: number } | { skip: "encrypted" | "corrupt" | "no_text_layer" | "too_large"; detail: string };

/**
 * Pages read of one PDF. pdf.js finds page i by walking the page tree from its root, and a flat
 * tree (every page a kid of one node, as many generators write) makes that a walk over the i pages
 * before it: the time grows with the square of the pages (1,000 pages 1.3 s, 4,000 14.5 s, 20,000
 * more than 6 minutes). 2,000 pages take about 4 s whatever the tree; the rest are not indexed, and
 * the document says so in a warning.
 */
export const MAX_PDF_PAGES = 2000;

type Unpdf = typeof import("../unpdf.ts");
let lib: Promise<Unpdf> | undefined;

export async function pdfText(buf: Uint8Array): Promise<PdfResult> {
  const streams = scanPdfStreams(buf);
  if (!streams.ok) return { skip: "too_large", detail: streams.detail };
  const { getDocumentProxy } = await (lib ??= loadEntry<Unpdf>("pipeline/unpdf.ts"));
  let pdf: Awaited<ReturnType<Unpdf["getDocumentProxy"]>>;
  try {
    // A copy: pdf.js takes ownership of the bytes it is given.
    pdf = await getDocumentProxy(new Uint8Array(buf), { verbosity: 0, useSystemFonts: false, stopAtErrors: false });
  } catch (e) {
    const name = (e as Error)?.name ?? "";
    if (name === "PasswordException") return { skip: "encrypted", detail: "the PDF needs a password" };
    return { skip: "corrupt", detail: (e as Error)?.message ?? String(e) };
  }
  try {
    const pages: string[] = [];
    const read = Math.min(pdf.numPages, MAX_PDF_PAGES);
    for (let i = 1; i <= read; i++) {
      const page = await pdf.getPage(i);
      const content = await page.getTextContent();
      let text = "";
      for (const item of content.items) {
        if (!("str" in item)) continue;
        text += item.str;
        if (item.hasEOL) text += "\n";
      }
      pages.push(text.replace(/\f/g, " ").replace(/[ \t]+\n/g, "\n").trimEnd());
      page.cleanup();
    }
    if (!pages.some((p) => /[\p{L}\p{N}]/u.test(p))) return { skip: "no_text_layer", detail: `${pdf.numPages} page(s) without text (a scan? there is no OCR)` };
    let title: string | undefined;
    try {
      const meta = await pdf.getMetadata();
      const t = (meta.info as Record<string, unknown> | undefined)?.Title;
      if (typeof t === "string" && t.trim()) title = t.trim();
    } catch { /* no metadata */ }
    return { pages, ...(title ? { title } : {}), ...(read < pdf.numPages ? { total: pdf.numPages } : {}) };
  } catch (e) {
    return { skip: "corrupt", detail: (e as Error)?.message ?? String(e) };
  } finally {
    await pdf.loadingTask.destroy().catch(() => {});
  }
}

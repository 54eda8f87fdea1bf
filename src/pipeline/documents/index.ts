/**
 * Binary documents (PDF, Word): their text is extracted before normalization and redaction, then
 * they follow the path of every other file. A document that yields no text is skipped with the
 * reason (encrypted, no_text_layer, corrupt), never failing the run.
 */
import { posix } from "node:path";
import type { SkipReason } from "../scan.ts";
import { docxText } from "./docx.ts";
import { ZipError } from "./zip.ts";

export const DOCUMENT_EXTENSIONS = new Set([".pdf", ".docx"]);
export const isDocumentPath = (path: string) => DOCUMENT_EXTENSIONS.has(posix.extname(path).toLowerCase());
/** The default of `ingestion.max_document_bytes`. */
export const DEFAULT_MAX_DOCUMENT_BYTES = 52428800;
/** The line separating two PDF pages in the stored text. */
export const PAGE_BREAK = "\n\f\n";

/** `warning`: recorded with the document (line 1), e.g. a PDF whose pages past MAX_PDF_PAGES were not read. */
export type DocumentText = { text: string; title?: string; warning?: string } | { skip: SkipReason; detail: string };

export async function documentText(path: string, buf: Uint8Array): Promise<DocumentText> {
  const ext = posix.extname(path).toLowerCase();
  if (ext === ".pdf") {
    const { pdfText, MAX_PDF_PAGES } = await import("./pdf.ts");
    const r = await pdfText(buf);
    if ("skip" in r) return r;
    const warning = r.total ? `only the first ${MAX_PDF_PAGES} of the PDF's ${r.total} pages are indexed` : undefined;
    return { text: r.pages.join(PAGE_BREAK), ...(r.title ? { title: r.title } : {}), ...(warning ? { warning } : {}) };
  }
  // An OLE compound file, not a ZIP package: Word saves a password-protected document so (the
  // package encrypted inside it), and a Word 97-2003 .doc is one.
  if (buf.length >= 8 && OLE_MAGIC.every((x, i) => buf[i] === x)) {
    return hasUtf16(buf, "EncryptedPackage")
      ? { skip: "encrypted", detail: "a password-protected Word document (an encrypted package)" }
      : { skip: "corrupt", detail: "an OLE compound file (a Word 97-2003 document?), not a .docx package" };
  }
  try {
    const r = docxText(buf);
    if (!/[\p{L}\p{N}]/u.test(r.text)) return { skip: "empty", detail: "the document has no text" };
    return r;
  } catch (e) {
    if (e instanceof ZipError) return { skip: e.reason, detail: e.message };
    return { skip: "corrupt", detail: (e as Error)?.message ?? String(e) };
  }
}

const OLE_MAGIC = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];

/** Whether the bytes hold `name` in UTF-16 LE (a stream's name in an OLE compound file's directory). */
function hasUtf16(buf: Uint8Array, name: string): boolean {
  const needle = Buffer.from(name, "utf16le");
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).includes(needle);
}

/** 1-based lines where each page starts, from the page breaks of a stored PDF text. */
export function pageStarts(text: string): number[] {
  const out = [1];
  let line = 1;
  let from = 0;
  for (let i = text.indexOf(PAGE_BREAK); i >= 0; i = text.indexOf(PAGE_BREAK, i + PAGE_BREAK.length)) {
    for (let j = text.indexOf("\n", from); j >= 0 && j < i + PAGE_BREAK.length; j = text.indexOf("\n", j + 1)) line++;
    from = i + PAGE_BREAK.length;
    out.push(line);
  }
  return out;
}

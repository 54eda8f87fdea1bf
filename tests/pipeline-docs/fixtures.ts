/**
 * PDF and Word files made by hand for the tests: a PDF with a text layer (one content stream per
 * page, Helvetica, exact xref offsets), one with only a painted rectangle (a "scan"), one with an
 * /Encrypt dictionary, and a .docx as a real ZIP (deflated entries, CRC-32) with heading styles.
 */
import { constants, deflateRawSync, deflateSync } from "node:zlib";
import { peakRss } from "../helpers/proc.ts";

/**
 * A raw deflate stream of `mib` MiB of one byte, about 1 KB per MiB: one compressed MiB, flushed
 * (byte-aligned, no final bit), repeated, then an empty final block. A "bomb" without the memory
 * or time it takes to compress that much.
 */
export function deflateBomb(mib: number, fill = 0x20): Uint8Array {
  const chunk = deflateRawSync(new Uint8Array(1 << 20).fill(fill), { level: 9, finishFlush: constants.Z_FULL_FLUSH });
  return Buffer.concat([...Array.from({ length: mib }, () => chunk), new Uint8Array([0x03, 0x00])]);
}

/**
 * `opts.deflate`: content streams FlateDecode-compressed; `opts.bombMiB`: the first page's content
 * stream ends with that many MiB of spaces (a raw deflate bomb behind a zlib header, checksum zero:
 * pdf.js does not check it), behind `opts.bombHead` (its dictionary and keyword) when given.
 */
export function makePdf(pages: string[][], opts: { encrypt?: boolean; imageOnly?: boolean; title?: string; deflate?: boolean; bombMiB?: number; bombHead?: (length: number) => string } = {}): Uint8Array {
  const objs: string[] = [];
  const esc = (s: string) => s.replace(/[\\()]/g, (c) => "\\" + c);
  objs[1] = "<< /Type /Catalog /Pages 2 0 R >>";
  objs[2] = `<< /Type /Pages /Kids [${pages.map((_, i) => `${4 + i * 2} 0 R`).join(" ")}] /Count ${pages.length} >>`;
  objs[3] = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";
  pages.forEach((lines, i) => {
    const content = opts.imageOnly
      ? "q 100 0 0 100 50 600 cm 0.5 g 0 0 1 1 re f Q"
      : `BT /F1 12 Tf 14 TL 72 720 Td ${lines.map((l) => `(${esc(l)}) Tj T*`).join(" ")} ET`;
    objs[4 + i * 2] = `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${5 + i * 2} 0 R >>`;
    if (opts.bombMiB && i === 0) {
      // The text, then the bomb's blocks in the same deflate stream (the text's block is flushed, not final).
      const head = deflateRawSync(Buffer.from(content + "\n", "latin1"), { finishFlush: constants.Z_FULL_FLUSH });
      const data = Buffer.concat([Buffer.from([0x78, 0x9c]), head, deflateBomb(opts.bombMiB), Buffer.alloc(4)]).toString("latin1");
      objs[5 + i * 2] = `${opts.bombHead?.(data.length) ?? `<< /Length ${data.length} /Filter /FlateDecode >>\nstream\n`}${data}\nendstream`;
    } else if (opts.deflate) {
      const data = deflateSync(Buffer.from(content, "latin1")).toString("latin1");
      objs[5 + i * 2] = `<< /Length ${data.length} /Filter /FlateDecode >>\nstream\n${data}\nendstream`;
    } else objs[5 + i * 2] = `<< /Length ${content.length} >>\nstream\n${content}\nendstream`;
  });
  let extra = "";
  if (opts.title) { objs.push(`<< /Title (${esc(opts.title)}) >>`); extra += ` /Info ${objs.length - 1} 0 R`; }
  if (opts.encrypt) {
    objs.push(`<< /Filter /Standard /V 1 /R 2 /O <${"0".repeat(64)}> /U <${"0".repeat(64)}> /P -4 >>`);
    extra += ` /Encrypt ${objs.length - 1} 0 R /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>]`;
  }
  let out = "%PDF-1.4\n";
  const offs: number[] = [];
  for (let i = 1; i < objs.length; i++) { offs[i] = out.length; out += `${i} 0 obj\n${objs[i]}\nendobj\n`; }
  const xref = out.length;
  out += `xref\n0 ${objs.length}\n0000000000 65535 f \n${offs.slice(1).map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`;
  out += `trailer\n<< /Size ${objs.length} /Root 1 0 R${extra} >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, "latin1");
}

/**
 * A ZIP archive of the given entries (deflated, with CRC-32 and a central directory). An entry given
 * as `{ deflated, size }` is stored as those compressed bytes with that declared size (CRC zero).
 */
export function makeZip(files: Record<string, string | { deflated: Uint8Array; size: number }>): Uint8Array {
  const enc = new TextEncoder();
  const locals: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(files)) {
    const raw = typeof content === "string" ? enc.encode(content) : undefined;
    const data = raw ? new Uint8Array(deflateRawSync(raw)) : (content as { deflated: Uint8Array }).deflated;
    const size = raw ? raw.length : (content as { size: number }).size;
    const n = enc.encode(name);
    const crc = raw ? Bun.hash.crc32(raw) >>> 0 : 0;
    const lh = new Uint8Array(30 + n.length);
    const l = new DataView(lh.buffer);
    l.setUint32(0, 0x04034b50, true); l.setUint16(4, 20, true); l.setUint16(8, 8, true);
    l.setUint32(14, crc, true); l.setUint32(18, data.length, true); l.setUint32(22, size, true); l.setUint16(26, n.length, true);
    lh.set(n, 30);
    const ch = new Uint8Array(46 + n.length);
    const c = new DataView(ch.buffer);
    c.setUint32(0, 0x02014b50, true); c.setUint16(4, 20, true); c.setUint16(6, 20, true); c.setUint16(10, 8, true);
    c.setUint32(16, crc, true); c.setUint32(20, data.length, true); c.setUint32(24, size, true); c.setUint16(28, n.length, true);
    c.setUint32(42, offset, true);
    ch.set(n, 46);
    locals.push(lh, data);
    central.push(ch);
    offset += lh.length + data.length;
  }
  const cdSize = central.reduce((s, x) => s + x.length, 0);
  const end = new Uint8Array(22);
  const e = new DataView(end.buffer);
  e.setUint32(0, 0x06054b50, true); e.setUint16(8, central.length, true); e.setUint16(10, central.length, true);
  e.setUint32(12, cdSize, true); e.setUint32(16, offset, true);
  return Buffer.concat([...locals, ...central, end]);
}

const W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"';
const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A .docx: paragraphs as [style id or "", text]; styles.xml names Heading1/Heading2 as "heading 1"/"heading 2". */
export function makeDocx(paras: [string, string][], opts: { title?: string } = {}): Uint8Array {
  const body = paras.map(([style, text]) =>
    `<w:p>${style ? `<w:pPr><w:pStyle w:val="${style}"/></w:pPr>` : ""}<w:r><w:t xml:space="preserve">${xml(text)}</w:t></w:r></w:p>`).join("");
  return makeZip({
    "[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`,
    "word/document.xml": `<?xml version="1.0" encoding="UTF-8"?><w:document ${W}><w:body>${body}<w:sectPr/></w:body></w:document>`,
    "word/styles.xml": `<?xml version="1.0" encoding="UTF-8"?><w:styles ${W}><w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/></w:style><w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/></w:style><w:style w:type="paragraph" w:styleId="Normal"><w:name w:val="Normal"/></w:style></w:styles>`,
    ...(opts.title ? { "docProps/core.xml": `<?xml version="1.0"?><cp:coreProperties xmlns:cp="x" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>${xml(opts.title)}</dc:title></cp:coreProperties>` } : {}),
  });
}

/** The documents every test workspace holds: paths → bytes. */
export function documentFiles(): Record<string, Uint8Array> {
  const ok = makePdf([["Quarterly audit report", "The ledger reconciliation passed."], ["Appendix", "Zebrafish inventory is on page two."]], { title: "Audit Report 2026" });
  return {
    "docs/report.pdf": ok,
    "docs/scan.pdf": makePdf([[]], { imageOnly: true }),
    "docs/locked.pdf": makePdf([["Top secret payroll"]], { encrypt: true }),
    "docs/truncated.pdf": ok.slice(0, 180),
    "docs/handbook.docx": makeDocx([
      ["Heading1", "Employee Handbook"], ["", "Welcome to the company."], ["Heading2", "Vacation policy"],
      ["", "Each employee has twenty-five days of leave; the password: hunter2hunter2 is not shared."], ["Heading2", "Expenses"], ["", "Receipts go to the finance desk."],
    ]),
    "docs/broken.docx": new TextEncoder().encode("PK\u0003\u0004 not really a zip"),
  };
}

/**
 * Runs a command and measures its peak resident memory from /proc/PID/status (VmHWM, polled every
 * 20 ms: the high-water mark only grows, so any read after the peak sees it). Not the exit's
 * rusage: its ru_maxrss also counts the memory the child had before exec, a copy of the spawning
 * test process, however large that is.
 */
export async function runWithPeak(cmd: string[], env?: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string; peak: number }> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", ...(env ? { env } : {}) });
  let peak = 0;
  const poll = setInterval(() => {
    try { peak = Math.max(peak, peakRss(p.pid)); } catch {} // gone: its last read stands
  }, 20);
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearInterval(poll);
  return { code, stdout, stderr, peak };
}

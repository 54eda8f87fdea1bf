/**
 * pdf.js (through unpdf), as an entry point of its own (src/shared/entries.ts): loaded by
 * documents/pdf.ts the first time a PDF is read, so other commands never load its 2 MB of code.
 */
export { getDocumentProxy } from "unpdf";

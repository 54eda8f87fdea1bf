/**
 * web-tree-sitter, an entry point of its own in the auditgraph executable (src/shared/entries.ts):
 * only an ingest that meets a code file loads it. Third-party code only.
 */
export { Language, Parser } from "web-tree-sitter";

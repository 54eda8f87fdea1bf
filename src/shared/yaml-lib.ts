/**
 * The `yaml` library, an entry point of its own in the auditgraph executable (src/shared/entries.ts):
 * in the main bundle its bytecode was loaded at every start (with semver and web-tree-sitter, about 1.5 ms
 * of every command), and only
 * a config or front matter that Bun's parser or simple-yaml cannot take needs it. Third-party code only.
 */
export { LineCounter, parse, parseDocument } from "yaml";

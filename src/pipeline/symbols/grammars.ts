/**
 * The tree-sitter runtime and grammars, embedded as files: from source these are paths in
 * node_modules; in a compiled executable, paths inside it (/$bunfs/…), in the main thread and in
 * shard workers alike. Imported only by symbols/index.ts, which is itself loaded on the first code
 * file of a run.
 */
import core from "web-tree-sitter/tree-sitter.wasm" with { type: "file" };
import typescript from "tree-sitter-typescript/tree-sitter-typescript.wasm" with { type: "file" };
import tsx from "tree-sitter-typescript/tree-sitter-tsx.wasm" with { type: "file" };
import javascript from "tree-sitter-javascript/tree-sitter-javascript.wasm" with { type: "file" };
import python from "tree-sitter-python/tree-sitter-python.wasm" with { type: "file" };
import go from "tree-sitter-go/tree-sitter-go.wasm" with { type: "file" };
import rust from "tree-sitter-rust/tree-sitter-rust.wasm" with { type: "file" };

export const RUNTIME_WASM = core;
export const GRAMMAR_WASM = { typescript, tsx, javascript, python, go, rust } as const;
export type Grammar = keyof typeof GRAMMAR_WASM;

/** A small multi-language workspace for the symbol tests: code in five grammars and notes naming symbols. */
export function symbolFiles(): Record<string, string> {
  return {
    "src/query.ts": [
      'import { readFileSync } from "node:fs";',
      'import { helper } from "./util.ts";',
      "export function parseQuery(q: string) { return helper(q); }",
      "export class RunIndex {",
      "  node(id: string) { return id; }",
      "}",
      "export interface Hit { id: string }",
      "type Local = number;",
      "",
    ].join("\n"),
    "src/util.ts": "export const helper = (s: string) => s.trim();\nfunction parseQuery() {}\nexport { parseQuery as parse };\n",
    "src/early.ts": "function parseQuery() {}\n",
    "src/view.tsx": "import React from 'react';\nexport default function View() { return <div>hi</div>; }\n",
    "src/legacy.js": "const fs = require('fs');\nexport function oldThing() {}\nclass Widget { render() {} }\n",
    "src/tool.py": "import os, sys as system\nfrom collections import OrderedDict\n\ndef parse_args():\n    pass\n\ndef _private():\n    pass\n\nclass Loader:\n    def load(self):\n        pass\n",
    "src/main.go": 'package main\n\nimport (\n\t"fmt"\n\tx "os"\n)\n\nfunc Serve() { fmt.Println(x.Args) }\nfunc helper() {}\n\ntype Store struct{}\n\nfunc (s *Store) Open() {}\n',
    "src/lib.rs": "use std::io;\nuse std::collections::{HashMap, HashSet};\n\npub struct Ledger;\n\nimpl Ledger {\n    pub fn open() -> Self { Ledger }\n    fn check(&self) {}\n}\n\npub trait Audit { fn audit(&self); }\nfn main() {}\n",
    "src/broken.ts": "export function ok() {}\nexport function broken( {\n",
    "src/App.java": "public class App { void run() {} }\n",
    "notes/design.md": "# Design\n\nThe parser is `parseQuery()` and the index is `RunIndex.node`.\nLoading: `Loader`, serving: `Serve`, storing: `Ledger::open`.\nUnknown: `nothingHere`, and not a symbol: `ls -la`.\n",
  };
}

/**
 * Symbols of code files through tree-sitter (web-tree-sitter and the grammars' own .wasm, embedded in
 * the executable: grammars.ts): functions, classes, methods, interfaces, types, enums, structs,
 * traits and top-level variables, each with its line, whether it is exported and, for a member, its
 * container; and the modules a file imports. The runtime is loaded on the first code file of a run
 * and each grammar on the first file of its language, so a workspace without code pays nothing.
 * Pure for a given text: the walk is in document order, nothing depends on time or place.
 */
import type { Node as TsNode, Parser as TsParser } from "web-tree-sitter";
import { posix } from "node:path";
import { loadEntry } from "../../shared/entries.ts";
import { GRAMMAR_WASM, RUNTIME_WASM, type Grammar } from "./grammars.ts";

/** [name, kind, line, exported (1) or not (0), container (a method's class, impl or receiver type)] */
export type SymbolDef = [string, string, number, number, string?];
/** [module as written (a relative JS/TS import: the workspace path it points at), line] */
export type ImportRef = [string, number];
/** `warning`: [line, message] when symbols were left out (past MAX_SYMBOLS, or a file too long to parse). */
export type FileSymbols = { symbols: SymbolDef[]; imports: ImportRef[]; warning?: [number, string] };

const BY_EXT: Record<string, Grammar> = {
  ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx",
  ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
  ".py": "python", ".go": "go", ".rs": "rust",
};
export const grammarOf = (path: string): Grammar | undefined => BY_EXT[posix.extname(path).toLowerCase()];

/** At most this many symbols and imports per file (generated code must not flood the graph). */
export const MAX_SYMBOLS = 2000;
/** A longer file (bundled or generated code, in UTF-16 units) is not parsed: no symbols. */
export const MAX_PARSE_CHARS = 1 << 20;

type TS = typeof import("./tree-sitter.ts");
let runtime: Promise<TS> | undefined;
const parsers = new Map<Grammar, Promise<TsParser>>();

async function parserFor(g: Grammar): Promise<TsParser> {
  let p = parsers.get(g);
  if (!p) {
    p = (async () => {
      const ts = await (runtime ??= (async () => {
        const m = await loadEntry<TS>("pipeline/symbols/tree-sitter.ts"); // an entry point of its own (shared/entries.ts)
        await m.Parser.init({ locateFile: () => RUNTIME_WASM });
        return m;
      })());
      const lang = await ts.Language.load(await Bun.file(GRAMMAR_WASM[g]).bytes());
      const parser = new ts.Parser();
      parser.setLanguage(lang);
      return parser;
    })();
    parsers.set(g, p);
  }
  return p;
}

/** The symbols and imports of one code file, or undefined for a language without a grammar here. */
export async function extractSymbols(path: string, text: string): Promise<FileSymbols | undefined> {
  const g = grammarOf(path);
  if (!g) return undefined;
  if (text.length > MAX_PARSE_CHARS) return { symbols: [], imports: [], warning: [1, `code over ${MAX_PARSE_CHARS} characters (bundled or generated?) is not parsed: no symbols or imports`] };
  const parser = await parserFor(g);
  const walk = g === "python" ? walkPython : g === "go" ? walkGo : g === "rust" ? walkRust : walkJs;
  const out: FileSymbols = { symbols: [], imports: [] };
  // A syntax error can make tree-sitter swallow the declarations after it into one node (an
  // unclosed `(` or `{` in TypeScript takes the rest of the file). Such a node's symbols up to the
  // first declaration line inside it are kept, and the file is parsed again from that line, the
  // lines before it blanked so rows stay the file's own: at most MAX_RESYNCS times per file.
  let lines: string[] | undefined;
  let source = text;
  let capped = 0; // the line of the first symbol left out past MAX_SYMBOLS
  let gaveUp = 0; // the line from which a syntax error hides declarations after the last parse
  for (let from = 0, pass = 0; ; pass++) {
    const tree = parser.parse(source);
    if (!tree) break;
    try {
      const part: FileSymbols & { capped?: number } = { symbols: [], imports: [] };
      walk(tree.rootNode, part, path);
      const hidden = tree.rootNode.hasError ? resyncRow(tree.rootNode, (lines ??= text.split("\n")), DECL_LINE[g], from) : undefined;
      const cut = pass < MAX_RESYNCS ? hidden : undefined;
      if (hidden !== undefined && cut === undefined) gaveUp = hidden + 1;
      const end = cut ?? Infinity;
      for (const s of part.symbols) {
        if (s[2] <= from || s[2] > end) continue;
        if (out.symbols.length < MAX_SYMBOLS) out.symbols.push(s);
        else if (!capped) capped = s[2];
      }
      if (part.capped && part.capped > from && part.capped <= end && (!capped || part.capped < capped)) capped = part.capped;
      for (const m of part.imports) if (m[1] > from && m[1] <= end) out.imports.push(m);
      if (cut === undefined) break;
      from = cut;
      source = "\n".repeat(cut) + lines!.slice(cut).join("\n");
    } finally {
      tree.delete();
    }
  }
  const imports = dedupe(out.imports);
  if (imports.length > MAX_SYMBOLS && (!capped || imports[MAX_SYMBOLS]![1] < capped)) capped = imports[MAX_SYMBOLS]![1];
  out.imports = imports.slice(0, MAX_SYMBOLS);
  // Generated code must not flood the graph, but a symbol left out is said, as claims past theirs are (extract.ts).
  if (capped && (!gaveUp || capped < gaveUp)) out.warning = [capped, `only the first ${MAX_SYMBOLS} symbols and ${MAX_SYMBOLS} imports of a file are indexed; the one here and those after it are not`];
  else if (gaveUp) out.warning = [gaveUp, `syntax errors hide declarations from here on (${MAX_RESYNCS + 1} parses, the most a file gets): their symbols are not indexed`];
  return out;
}

/** Parses after the first when a syntax error swallowed declarations (see extractSymbols). */
export const MAX_RESYNCS = 8;
/** A line that starts a top-level declaration, at column 0, per grammar. */
const JS_DECL = /^(?:export|import|function|class|interface|type|enum|const|let|var|abstract|async|declare|namespace|module)\b/;
const DECL_LINE: Record<Grammar, RegExp> = {
  typescript: JS_DECL, tsx: JS_DECL, javascript: JS_DECL,
  python: /^(?:(?:async[ \t]+)?def|class|import|from)\b|^@/,
  go: /^(?:func|type|var|const|import)\b/,
  rust: /^(?:pub|fn|struct|enum|trait|impl|mod|use|const|static|type|unsafe|async|extern|macro_rules!)\b|^#\[/,
};

/**
 * The 0-based row to parse again from (after `from`, where this parse began): the first declaration
 * line after the start of the first top-level node with a syntax error that spans one (a node that
 * ends before the next declaration line swallowed nothing), or undefined. An ERROR node's own first
 * row counts when it starts a line: the walk does not go into ERROR nodes, so a declaration that
 * recovery made one (`export function f() {}` after an unclosed `foo(`) was lost, and with several
 * such errors every declaration up to the last was (eight of them: seven functions and the one after).
 */
function resyncRow(root: TsNode, lines: string[], decl: RegExp, from: number): number | undefined {
  for (const n of root.namedChildren) {
    if (!n || !(n.type === "ERROR" || n.hasError)) continue;
    const last = Math.min(n.endPosition.row, lines.length - 1);
    const first = n.type === "ERROR" && n.startPosition.column === 0 ? n.startPosition.row : n.startPosition.row + 1;
    for (let r = Math.max(first, from + 1); r <= last; r++) if (decl.test(lines[r]!) && !inLiteral(root, r)) return r;
  }
  return undefined;
}

/** Whether column 0 of a row is inside a string, template or comment that began on an earlier row (a line of a docstring or template literal that reads like a declaration). */
const LITERAL = /string|template|comment|heredoc/;
function inLiteral(root: TsNode, row: number): boolean {
  for (let n: TsNode | null = root.descendantForPosition({ row, column: 0 }); n && n.id !== root.id; n = n.parent) {
    if (LITERAL.test(n.type) && n.startPosition.row < row) return true;
  }
  return false;
}

const lineOf = (n: TsNode) => n.startPosition.row + 1;
const nameOf = (n: TsNode, field = "name") => n.childForFieldName(field)?.text;
const add = (out: FileSymbols & { capped?: number }, name: string | undefined, kind: string, at: TsNode, exported: boolean, container?: string) => {
  if (!name || (out.symbols.length >= MAX_SYMBOLS && out.capped !== undefined)) return;
  // The line of its name: a decorated class or function starts at its first decorator (`@dataclass`),
  // which a hit would show, where the name is what a reader looks for.
  const line = lineOf(at.childForFieldName("name") ?? at);
  if (out.symbols.length >= MAX_SYMBOLS) { out.capped = line; return; }
  out.symbols.push(container ? [name, kind, line, exported ? 1 : 0, container] : [name, kind, line, exported ? 1 : 0]);
};
function dedupe(xs: ImportRef[]): ImportRef[] {
  const seen = new Set<string>();
  return xs.filter(([m]) => (seen.has(m) ? false : (seen.add(m), true)));
}
const unquote = (s: string) => s.replace(/^["'`]|["'`]$/g, "");

// ---- TypeScript / JavaScript ----
const JS_KINDS: Record<string, string> = {
  function_declaration: "function", generator_function_declaration: "function", class_declaration: "class",
  abstract_class_declaration: "class", interface_declaration: "interface", type_alias_declaration: "type", enum_declaration: "enum",
};

/**
 * The names a destructuring pattern binds (`{ a, b: c, ...d }`, `[e, [f]]`): a, c, d, e, f, in
 * source order. A loop over an explicit stack, not recursion: a pattern nested 30,000 deep (60 KB)
 * overflowed the call stack and failed the whole ingest.
 */
function boundNames(p: TsNode): TsNode[] {
  const out: TsNode[] = [];
  const todo: TsNode[] = [p];
  while (todo.length) {
    const n = todo.pop()!;
    if (n.type === "identifier" || n.type === "shorthand_property_identifier_pattern") out.push(n);
    else if (n.type === "pair_pattern") { const v = n.childForFieldName("value"); if (v) todo.push(v); }
    else if (n.type === "assignment_pattern" || n.type === "object_assignment_pattern") { const l = n.childForFieldName("left"); if (l) todo.push(l); }
    else if (n.type === "object_pattern" || n.type === "array_pattern" || n.type === "rest_pattern") {
      const kids = n.namedChildren;
      for (let i = kids.length - 1; i >= 0; i--) if (kids[i]) todo.push(kids[i]!);
    }
  }
  return out;
}

/** A class member no code outside the class can call: `#name`, or marked `private`. */
const isPrivateMember = (m: TsNode) =>
  m.childForFieldName("name")?.type === "private_property_identifier" || m.namedChildren.some((c) => c?.type === "accessibility_modifier" && c.text === "private");

function walkJs(root: TsNode, out: FileSymbols, path: string): void {
  const exportedNames = new Set<string>();
  const pending: [number, string][] = []; // symbols declared unexported, exported later by `export { … }`
  const privateMembers = new Set<number>(); // methods that stay unexported whatever their class is
  const importOf = (src: TsNode | null, at: TsNode) => {
    if (!src) return;
    let m = unquote(src.text);
    // A relative import names a file of the workspace: stored as that path, so one module is one node.
    if (m.startsWith("./") || m.startsWith("../")) m = posix.normalize(posix.join(posix.dirname(path), m));
    out.imports.push([m, lineOf(at)]);
  };
  const decl = (n: TsNode, exported: boolean) => {
    const kind = JS_KINDS[n.type];
    if (kind) {
      const name = nameOf(n);
      if (!exported && name) pending.push([out.symbols.length, name]);
      add(out, name, kind, n, exported);
      if (kind === "class") {
        const body = n.childForFieldName("body");
        for (const m of body?.namedChildren ?? []) {
          if (!m || (m.type !== "method_definition" && m.type !== "abstract_method_signature" && m.type !== "method_signature")) continue;
          const hidden = isPrivateMember(m);
          if (hidden) privateMembers.add(out.symbols.length);
          else if (!exported && name) pending.push([out.symbols.length, name]); // exported with its class
          add(out, nameOf(m), "method", m, exported && !hidden, name);
        }
      }
      return;
    }
    if (n.type === "lexical_declaration" || n.type === "variable_declaration") {
      for (const d of n.namedChildren) {
        if (!d || d.type !== "variable_declarator") continue;
        const id = d.childForFieldName("name");
        if (!id) continue;
        if (id.type !== "identifier") {
          // `const { a, b } = …`, `const [x, y] = …`: each name bound is a variable, at its own line.
          for (const b of boundNames(id)) {
            if (!exported) pending.push([out.symbols.length, b.text]);
            add(out, b.text, "variable", b, exported);
          }
          continue;
        }
        const v = d.childForFieldName("value")?.type;
        const kind = v === "arrow_function" || v === "function_expression" || v === "function" || v === "generator_function" ? "function" : v === "class" ? "class" : "variable";
        if (!exported) pending.push([out.symbols.length, id.text]);
        add(out, id.text, kind, d, exported);
      }
    }
  };
  for (const n of root.namedChildren) {
    if (!n) continue;
    if (n.type === "import_statement") { importOf(n.childForFieldName("source"), n); continue; }
    if (n.type === "export_statement") {
      const src = n.childForFieldName("source");
      if (src) importOf(src, n);
      const d = n.childForFieldName("declaration");
      if (d) { decl(d, true); continue; }
      const value = n.childForFieldName("value"); // export default <expression>
      if (value && (value.type === "class" || value.type === "function_expression" || value.type === "arrow_function")) {
        add(out, nameOf(value) ?? "default", value.type === "class" ? "class" : "function", n, true);
        continue;
      }
      for (const c of n.namedChildren) {
        if (c?.type !== "export_clause" || src) continue;
        for (const s of c.namedChildren) { const nm = s?.childForFieldName("name")?.text; if (nm) exportedNames.add(nm); }
      }
      if (value?.type === "identifier") exportedNames.add(value.text);
      continue;
    }
    decl(n, false);
  }
  for (const [i, name] of pending) {
    const s = out.symbols[i];
    // A symbol exported by name later; a method of such a class (its container), unless private.
    if (s && (s[0] === name || s[4] === name) && exportedNames.has(name) && !privateMembers.has(i)) s[3] = 1;
  }
}

// ---- Python ----
/**
 * A relative import (`.models`, `.`, `..pkg.sub`) as the workspace path it names, like a relative
 * JS import: the importing file's package (its directory), one level up per dot after the first,
 * then the dotted name as path segments (`pkg/sub/views.py`: `.models` → `pkg/sub/models`, `.` →
 * `pkg/sub`, `..util` → `pkg/util`). Whether that is a module file or a package is not known here.
 */
function pythonRelativeModule(path: string, spec: string): string {
  const dots = /^\.*/.exec(spec)![0].length;
  const rest = spec.slice(dots).split(".").filter(Boolean);
  return posix.normalize(posix.join(posix.dirname(path), ...Array(Math.max(0, dots - 1)).fill(".."), ...rest));
}

/** The names a module-level assignment binds: `A = 1`, `X: int = 2`, `a = b = 3`, `c, d = 1, 2` (not `Y: int` alone). */
function pythonAssigned(n: TsNode): TsNode[] {
  const out: TsNode[] = [];
  for (let a: TsNode | null = n; a?.type === "assignment" && a.childForFieldName("right"); a = a.childForFieldName("right")) {
    const left = a.childForFieldName("left");
    if (left?.type === "identifier") out.push(left);
    else if (left && (left.type === "pattern_list" || left.type === "tuple_pattern")) for (const c of left.namedChildren) if (c?.type === "identifier") out.push(c);
  }
  return out;
}

function walkPython(root: TsNode, out: FileSymbols, path: string): void {
  // Public: a name without a leading underscore (a method: of a public class).
  const visit = (n: TsNode, container?: string, containerPublic = true) => {
    const def = n.type === "decorated_definition" ? n.childForFieldName("definition") : n;
    if (!def) return;
    if (def.type === "function_definition") {
      const name = nameOf(def);
      add(out, name, container ? "method" : "function", def, containerPublic && !name?.startsWith("_"), container);
    } else if (def.type === "class_definition") {
      const name = nameOf(def);
      const pub = containerPublic && !name?.startsWith("_");
      add(out, name, "class", def, pub, container);
      // Its methods and classes, at any depth: a nested class's methods have it as their container (`Inner.run`).
      if (name) for (const m of def.childForFieldName("body")?.namedChildren ?? []) if (m) visit(m, name, pub);
    }
  };
  for (const n of root.namedChildren) {
    if (!n) continue;
    if (n.type === "import_statement") {
      for (const c of n.namedChildren) {
        const m = c?.type === "aliased_import" ? c.childForFieldName("name") : c;
        if (m?.type === "dotted_name") out.imports.push([m.text, lineOf(n)]);
      }
    } else if (n.type === "import_from_statement") {
      const m = n.childForFieldName("module_name");
      // A relative import names a module of this package: stored as its workspace path, so two
      // packages' `.models` are two nodes (as a relative JS import is).
      if (m) out.imports.push([m.type === "relative_import" ? pythonRelativeModule(path, m.text) : m.text, lineOf(n)]);
    } else if (n.type === "expression_statement") {
      // A module-level variable or constant (public: no leading underscore).
      for (const a of n.namedChildren) if (a?.type === "assignment") for (const id of pythonAssigned(a)) add(out, id.text, "variable", n, !id.text.startsWith("_"));
    } else visit(n);
  }
}

// ---- Go ----
const GO_TYPE: Record<string, string> = { struct_type: "struct", interface_type: "interface" };
const goExported = (name: string | undefined) => !!name && /^\p{Lu}/u.test(name);
function walkGo(root: TsNode, out: FileSymbols): void {
  for (const n of root.namedChildren) {
    if (!n) continue;
    if (n.type === "import_declaration") {
      const specs = n.descendantsOfType("import_spec");
      for (const s of specs) { const p = s?.childForFieldName("path"); if (p) out.imports.push([unquote(p.text), lineOf(s!)]); }
    } else if (n.type === "function_declaration") {
      const name = nameOf(n);
      add(out, name, "function", n, goExported(name));
    } else if (n.type === "method_declaration") {
      const name = nameOf(n);
      const recv = n.childForFieldName("receiver")?.descendantsOfType("type_identifier")[0]?.text;
      add(out, name, "method", n, goExported(name), recv);
    } else if (n.type === "var_declaration" || n.type === "const_declaration") {
      // Package-level variables and constants, grouped or not (`var a, B int`, `const ( … )`).
      const specs = n.namedChildren.flatMap((c) => (c?.type === "var_spec_list" ? c.namedChildren : [c]));
      for (const sp of specs) {
        if (sp?.type !== "var_spec" && sp?.type !== "const_spec") continue;
        for (const id of sp.childrenForFieldName("name")) if (id?.type === "identifier" && id.text !== "_") add(out, id.text, "variable", sp, goExported(id.text));
      }
    } else if (n.type === "type_declaration") {
      for (const s of n.namedChildren) {
        if (s?.type !== "type_spec" && s?.type !== "type_alias") continue;
        const name = nameOf(s);
        add(out, name, GO_TYPE[s.childForFieldName("type")?.type ?? ""] ?? "type", s, goExported(name));
      }
    }
  }
}

// ---- Rust ----
const RS_KINDS: Record<string, string> = {
  function_item: "function", struct_item: "struct", enum_item: "enum", trait_item: "trait", type_item: "type",
  union_item: "struct", const_item: "variable", static_item: "variable", macro_definition: "macro", mod_item: "module",
};
/**
 * `text` without its `<…>` groups, nested ones included (each `>` closes the nearest open `<`; an
 * unclosed `<` stays): one pass. Removing the innermost groups pass after pass took time quadratic
 * in the nesting (an `impl` on a type nested 64,000 deep: 21 s).
 */
function withoutAngles(text: string): string {
  const open: number[] = [];
  // The groups to cut, in order; a group that closes drops the ones it holds (amortized: one pass).
  const cut: [number, number][] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 60) open.push(i);
    else if (c === 62 && open.length) {
      const from = open.pop()!;
      while (cut.length && cut[cut.length - 1]![0] > from) cut.pop();
      cut.push([from, i + 1]);
    }
  }
  let out = "";
  let at = 0;
  for (const [from, to] of cut) { out += text.slice(at, from); at = to; }
  return out + text.slice(at);
}

/**
 * The name of an impl's type, as a code span names it (`Ledger::open`): without generic arguments,
 * path, reference, pointer or `dyn` (`crate::x::Ledger<T>`, `&'a Ledger<'a>` → `Ledger`).
 */
function rustTypeName(t: TsNode | null): string | undefined {
  for (let n = t; n; ) {
    if (n.type === "type_identifier" || n.type === "primitive_type") return n.text;
    if (n.type === "generic_type" || n.type === "reference_type" || n.type === "pointer_type") n = n.childForFieldName("type");
    else if (n.type === "scoped_type_identifier") n = n.childForFieldName("name");
    else if (n.type === "dynamic_type" || n.type === "abstract_type") n = n.childForFieldName("trait");
    else break;
  }
  // Another shape (a tuple, an array): its text without generic arguments and path.
  let text = t?.text;
  if (!text) return undefined;
  text = withoutAngles(text);
  return text.replace(/^(?:&\s*(?:'\w+\s+)?(?:mut\s+)?|\*(?:const|mut)\s+|dyn\s+|impl\s+)+/, "").split("::").pop()!.trim() || undefined;
}
const isPub = (n: TsNode) => n.namedChildren.some((c) => c?.type === "visibility_modifier");
function walkRust(root: TsNode, out: FileSymbols): void {
  const items = (parent: TsNode, depth: number) => {
    for (const n of parent.namedChildren) {
      if (!n) continue;
      if (n.type === "use_declaration") {
        const arg = n.childForFieldName("argument");
        if (!arg) continue;
        const path = arg.type === "scoped_use_list" || arg.type === "use_as_clause" ? arg.childForFieldName("path")?.text ?? arg.text : arg.text;
        out.imports.push([path, lineOf(n)]);
        continue;
      }
      if (n.type === "impl_item" || n.type === "trait_item") {
        const container = n.type === "impl_item" ? rustTypeName(n.childForFieldName("type")) : nameOf(n);
        if (n.type === "trait_item") add(out, container, "trait", n, isPub(n));
        for (const m of n.childForFieldName("body")?.namedChildren ?? []) {
          if (m && (m.type === "function_item" || m.type === "function_signature_item")) add(out, nameOf(m), "method", m, isPub(m) || n.type === "trait_item" && isPub(n), container);
        }
        continue;
      }
      const kind = RS_KINDS[n.type];
      if (!kind) continue;
      add(out, nameOf(n), kind, n, isPub(n));
      if (n.type === "mod_item" && depth < 4) { const body = n.childForFieldName("body"); if (body) items(body, depth + 1); }
    }
  };
  items(root, 0);
}

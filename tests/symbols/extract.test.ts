// Symbols and imports per language, in process (the tree-sitter grammars from node_modules).
import { expect, test } from "bun:test";
import { extractSymbols } from "../../src/pipeline/symbols/index.ts";
import { spanSymbol } from "../../src/pipeline/extract.ts";
import { symbolFiles } from "./fixtures.ts";

const files = symbolFiles();
const of = (p: string) => extractSymbols(p, files[p]!);

test("TypeScript: functions, classes with methods, interfaces, types; exported or not; imports with relative ones as workspace paths", async () => {
  expect(await of("src/query.ts")).toEqual({
    symbols: [
      ["parseQuery", "function", 3, 1], ["RunIndex", "class", 4, 1], ["node", "method", 5, 1, "RunIndex"],
      ["Hit", "interface", 7, 1], ["Local", "type", 8, 0],
    ],
    imports: [["node:fs", 1], ["src/util.ts", 2]],
  });
  // `export { parseQuery as parse }` exports the local name.
  expect((await of("src/util.ts"))!.symbols).toEqual([["helper", "function", 1, 1], ["parseQuery", "function", 2, 1]]);
  expect(await of("src/view.tsx")).toEqual({ symbols: [["View", "function", 2, 1]], imports: [["react", 1]] });
  expect((await of("src/legacy.js"))!.symbols).toEqual([["fs", "variable", 1, 0], ["oldThing", "function", 2, 1], ["Widget", "class", 3, 0], ["render", "method", 3, 0, "Widget"]]);
});

test("Python, Go and Rust", async () => {
  expect(await of("src/tool.py")).toEqual({
    symbols: [["parse_args", "function", 4, 1], ["_private", "function", 7, 0], ["Loader", "class", 10, 1], ["load", "method", 11, 1, "Loader"]],
    imports: [["os", 1], ["sys", 1], ["collections", 2]],
  });
  expect(await of("src/main.go")).toEqual({
    symbols: [["Serve", "function", 8, 1], ["helper", "function", 9, 0], ["Store", "struct", 11, 1], ["Open", "method", 13, 1, "Store"]],
    imports: [["fmt", 4], ["os", 5]],
  });
  expect(await of("src/lib.rs")).toEqual({
    symbols: [
      ["Ledger", "struct", 4, 1], ["open", "method", 7, 1, "Ledger"], ["check", "method", 8, 0, "Ledger"],
      ["Audit", "trait", 11, 1], ["audit", "method", 11, 1, "Audit"], ["main", "function", 12, 0],
    ],
    imports: [["std::io", 1], ["std::collections", 2]],
  });
});

test("a file with a syntax error still gives what parses; a language without a grammar gives nothing", async () => {
  expect((await of("src/broken.ts"))!.symbols[0]).toEqual(["ok", "function", 1, 1]);
  expect(await of("src/App.java")).toBeUndefined();
});

test("code spans that name a symbol", () => {
  expect(["parseQuery()", "RunIndex.node", "Ledger::open", "Foo#bar", "f(x, y)", "ls -la", "x", "a b", "--flag"].map(spanSymbol))
    .toEqual(["parseQuery", "RunIndex.node", "Ledger.open", "Foo.bar", undefined, undefined, undefined, undefined, undefined]);
});

test("a file over the parse limit gives no symbols (generated code), and the limit of symbols per file holds", async () => {
  const { MAX_PARSE_CHARS, MAX_SYMBOLS } = await import("../../src/pipeline/symbols/index.ts");
  expect(await extractSymbols("big.js", "function f() {}\n" + " ".repeat(MAX_PARSE_CHARS))).toEqual({ symbols: [], imports: [], warning: [1, `code over ${MAX_PARSE_CHARS} characters (bundled or generated?) is not parsed: no symbols or imports`] });
  const many = Array.from({ length: MAX_SYMBOLS + 10 }, (_, i) => `export function f${i}() {}`).join("\n");
  const got = (await extractSymbols("many.ts", many))!;
  expect(got.symbols.length).toBe(MAX_SYMBOLS);
  expect(got.warning).toEqual([MAX_SYMBOLS + 1, `only the first ${MAX_SYMBOLS} symbols and ${MAX_SYMBOLS} imports of a file are indexed; the one here and those after it are not`]);
  // Imports past the limit too, at the first one left out; at the limit exactly, nothing is said.
  const imports = Array.from({ length: MAX_SYMBOLS + 1 }, (_, i) => `import "m${i}";`).join("\n");
  expect((await extractSymbols("imports.ts", imports))!.warning?.[0]).toBe(MAX_SYMBOLS + 1);
  expect((await extractSymbols("exact.ts", many.split("\n").slice(0, MAX_SYMBOLS).join("\n")))!.warning).toBeUndefined();
});

test("Rust: a method's container is its impl type's name, without generic arguments, path or reference", async () => {
  const rs = [
    "pub struct Ledger<T>(T);",
    "impl<T> Ledger<T> { pub fn open() -> Self { todo!() } }",
    "impl<T: Clone> Audit for crate::books::Book<T> { fn audit(&self) {} }",
    "impl<'a> Display for &'a Page<'a> { fn fmt(&self) {} }",
    "impl std::fmt::Debug for Wrapper<Vec<Option<u8>>> { fn fmt(&self) {} }",
    "impl<T> dyn Shape<T> { fn area(&self) {} }",
    "",
  ].join("\n");
  expect((await extractSymbols("src/ledger.rs", rs))!.symbols).toEqual([
    ["Ledger", "struct", 1, 1], ["open", "method", 2, 1, "Ledger"], ["audit", "method", 3, 0, "Book"],
    ["fmt", "method", 4, 0, "Page"], ["fmt", "method", 5, 0, "Wrapper"], ["area", "method", 6, 0, "Shape"],
  ]);
});

test("Python: a relative import is the workspace path it names from the importing file's package", async () => {
  const py = "from .models import Order\nfrom . import views\nfrom ..shared.util import slug\nfrom ... import top\nimport os.path\nfrom collections import abc\n";
  expect((await extractSymbols("shop/orders/api.py", py))!.imports).toEqual([
    ["shop/orders/models", 1], ["shop/orders", 2], ["shop/shared/util", 3], [".", 4], ["os.path", 5], ["collections", 6],
  ]);
  expect((await extractSymbols("api.py", "from .models import X\n"))!.imports).toEqual([["models", 1]]);
});

test("Python and Go: module-level variables and constants are symbols; local ones are not", async () => {
  const py = "LIMIT = 10\nRATE: float = 0.5\nPENDING: int\na = b = 1\nx, y = 1, 2\n_cache = {}\nif DEBUG:\n    EXTRA = 1\ndef f():\n    local = 1\nclass K:\n    attr = 1\n";
  expect((await extractSymbols("conf.py", py))!.symbols).toEqual([
    ["LIMIT", "variable", 1, 1], ["RATE", "variable", 2, 1], ["a", "variable", 4, 1], ["b", "variable", 4, 1],
    ["x", "variable", 5, 1], ["y", "variable", 5, 1], ["_cache", "variable", 6, 0], ["f", "function", 9, 1], ["K", "class", 11, 1],
  ]);
  const go = "package conf\n\nvar Global = 1\nvar local, Shared int\nconst Pi = 3.14\nconst (\n\tA = iota\n\tb\n)\nvar (\n\tX int\n\ty = 2\n)\nvar _ = 1\nfunc f() { var inner = 1; _ = inner }\nconst C1, c2 = 1, 2\nconst (\n\tD, E = 3, 4\n)\n";
  // `const C1, c2 = …`: the names only (the grammar also lists the commas between them).
  expect((await extractSymbols("conf.go", go))!.symbols).toEqual([
    ["Global", "variable", 3, 1], ["local", "variable", 4, 0], ["Shared", "variable", 4, 1], ["Pi", "variable", 5, 1],
    ["A", "variable", 7, 1], ["b", "variable", 8, 0], ["X", "variable", 11, 1], ["y", "variable", 12, 0], ["f", "function", 15, 0],
    ["C1", "variable", 16, 1], ["c2", "variable", 16, 0], ["D", "variable", 18, 1], ["E", "variable", 18, 1],
  ]);
});

test("Python: a nested class's methods are symbols, with that class as their container", async () => {
  const py = "class Outer:\n    def run(self): pass\n    class Inner:\n        def inner_method(self): pass\n        class _Deep:\n            def go(self): pass\n";
  expect((await extractSymbols("nest.py", py))!.symbols).toEqual([
    ["Outer", "class", 1, 1], ["run", "method", 2, 1, "Outer"], ["Inner", "class", 3, 1, "Outer"],
    ["inner_method", "method", 4, 1, "Inner"], ["_Deep", "class", 5, 0, "Inner"], ["go", "method", 6, 0, "_Deep"],
  ]);
});

test("TypeScript: destructured top-level names are variables, each at its line; private methods (#x, private) are not exported; a class exported by name exports its methods", async () => {
  const ts = [
    "export const { alpha, beta: gamma, ...rest } = config;",
    "const [first, [second]] = pairs;",
    "export class Store {",
    "  open() {}",
    "  #hidden() {}",
    "  private priv() {}",
    "  protected prot() {}",
    "}",
    "class Later { run() {} #secret() {} }",
    "export { Later };",
    "export const {",
    "  delta,",
    "  epsilon: zeta,",
    "} = other;",
    "",
  ].join("\n");
  expect((await extractSymbols("src/store.ts", ts))!.symbols).toEqual([
    ["alpha", "variable", 1, 1], ["gamma", "variable", 1, 1], ["rest", "variable", 1, 1],
    ["first", "variable", 2, 0], ["second", "variable", 2, 0],
    ["Store", "class", 3, 1], ["open", "method", 4, 1, "Store"], ["#hidden", "method", 5, 0, "Store"], ["priv", "method", 6, 0, "Store"], ["prot", "method", 7, 1, "Store"],
    ["Later", "class", 9, 1], ["run", "method", 9, 1, "Later"], ["#secret", "method", 9, 0, "Later"],
    ["delta", "variable", 12, 1], ["zeta", "variable", 13, 1], // each name bound at its own line
  ]);
});

test("a syntax error that swallows the rest of the file: the declarations after it are still found, at their own lines, with their imports", async () => {
  // An unclosed `(`: tree-sitter's TypeScript grammar makes one ERROR node of the rest of the file.
  const paren = [
    "export function first(): number { return 1; }",
    "",
    "export function broken( {",
    "  return 2;",
    "}",
    "import { x } from \"./dep\";",
    "export class Later {",
    "  run(): void {}",
    "}",
    "",
    "export function last(): string { return \"x\"; }",
  ].join("\n");
  expect(await extractSymbols("src/paren.ts", paren)).toEqual({
    symbols: [["first", "function", 1, 1], ["Later", "class", 7, 1], ["run", "method", 8, 1, "Later"], ["last", "function", 11, 1]],
    imports: [["src/dep", 6]],
  });
  // An unclosed `{`: the first function's body runs to the end of the file; the function itself stays.
  const brace = ["export function first(): number {", "  if (x) {", "    return 1;", "}", "", "export class Later {}", "export const last = () => 2;"].join("\n");
  expect((await extractSymbols("src/brace.ts", brace))!.symbols).toEqual([["first", "function", 1, 1], ["Later", "class", 6, 1], ["last", "function", 7, 1]]);
  // Each swallowing error is passed over in turn, and a file with nothing after its error is unchanged.
  const twice = ["function a( {", "}", "function b() {}", "function c( {", "}", "function d() {}"].join("\n");
  expect((await extractSymbols("src/twice.js", twice))!.symbols.map((s) => s[0])).toEqual(["b", "d"]);
  expect((await extractSymbols("src/tail.ts", "export function ok() {}\nexport function broken( {"))!.symbols).toEqual([["ok", "function", 1, 1]]);
  // A line of a template literal or a docstring that reads like a declaration is no place to parse from.
  const template = ["export function gen( {", "  const t = `", "export function fake() {}", "import bad from './nowhere'", "`;", "}", "export function real() {}"].join("\n");
  expect(await extractSymbols("src/template.ts", template)).toEqual({ symbols: [["gen", "function", 1, 1], ["real", "function", 7, 1]], imports: [] });
  const doc = ["def f(:", "    '''", "def fake():", "    '''", "    pass", "", "def real():", "    pass"].join("\n");
  expect((await extractSymbols("src/doc.py", doc))!.symbols.map((x) => x[0])).toEqual(["f", "real"]);
});

test("a decorated class, function or method is at the line of its name, not of its first decorator", async () => {
  expect((await extractSymbols("src/deco.py", "def helper():\n    pass\n\n@decorator\n@other(1)\nclass Widget:\n    @property\n    def size(self):\n        return 1\n"))!.symbols)
    .toEqual([["helper", "function", 1, 1], ["Widget", "class", 6, 1], ["size", "method", 8, 1, "Widget"]]);
  expect((await extractSymbols("src/deco.ts", "@Component({})\nexport class Widget {\n  @Input()\n  size(): number { return 1; }\n}\n"))!.symbols)
    .toEqual([["Widget", "class", 2, 1], ["size", "method", 4, 1, "Widget"]]);
});

test("declarations that recovery turned into ERROR nodes are parsed again; past the last parse, the line they are hidden from is a warning", async () => {
  const { MAX_RESYNCS } = await import("../../src/pipeline/symbols/index.ts");
  // Each `foo(` left open makes the next declaration an ERROR node of its own (a one-line node at
  // the declaration's row): with eight of them every function up to the eighth was lost, silently.
  const pairs = (n: number) => Array.from({ length: n }, (_, i) => `export function f${i}() {}\nfoo(\n`).join("");
  const ok = Array.from({ length: 5 }, (_, i) => `export function ok${i}() {}`).join("\n") + "\n";
  const eight = (await extractSymbols("a.ts", pairs(MAX_RESYNCS) + ok))!;
  expect(eight.symbols.map((s) => s[0])).toEqual([...Array.from({ length: MAX_RESYNCS }, (_, i) => `f${i}`), "ok0", "ok1", "ok2", "ok3", "ok4"]);
  expect(eight.warning).toBeUndefined();
  const nine = (await extractSymbols("a.ts", pairs(MAX_RESYNCS + 1) + ok))!;
  expect(nine.symbols.map((s) => s[0])).toEqual(Array.from({ length: MAX_RESYNCS + 1 }, (_, i) => `f${i}`));
  expect(nine.warning).toEqual([2 * (MAX_RESYNCS + 1) + 1, `syntax errors hide declarations from here on (${MAX_RESYNCS + 1} parses, the most a file gets): their symbols are not indexed`]);
});

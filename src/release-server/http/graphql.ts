/**
 * A small, strict GraphQL reader for the subset of queries GitHub's clients send (gh, octokit's
 * release helpers): the full query-document syntax of the spec's executable definitions
 * (operations with variable definitions and defaults, fields with aliases and arguments, literal
 * and variable values of every kind, fragments and inline fragments, @include/@skip), with
 * limits on size and depth. It only parses; `routes/graphql.ts` checks a document against the
 * schema it serves and runs it. Errors carry the line and column GitHub reports.
 */
import { clip } from "../domain/errors.ts";

export interface Loc {
  line: number;
  column: number;
}

export class GraphQLSyntaxError extends Error {
  constructor(
    message: string,
    readonly loc: Loc,
  ) {
    super(message);
    this.name = "GraphQLSyntaxError";
  }
}

export type Value =
  | { kind: "variable"; name: string; loc: Loc }
  | { kind: "int"; value: number; loc: Loc }
  | { kind: "float"; value: number; loc: Loc }
  | { kind: "string"; value: string; loc: Loc }
  | { kind: "boolean"; value: boolean; loc: Loc }
  | { kind: "null"; loc: Loc }
  | { kind: "enum"; value: string; loc: Loc }
  | { kind: "list"; values: Value[]; loc: Loc }
  | { kind: "object"; fields: Record<string, Value>; loc: Loc };

export type TypeRef = { kind: "named"; name: string } | { kind: "list"; of: TypeRef } | { kind: "nonNull"; of: TypeRef };

export interface Directive {
  name: string;
  args: Record<string, Value>;
  loc: Loc;
}

export type Selection =
  | { kind: "field"; alias: string | null; name: string; args: Record<string, Value>; directives: Directive[]; selections: Selection[] | null; loc: Loc }
  | { kind: "spread"; name: string; directives: Directive[]; loc: Loc }
  | { kind: "inline"; on: string | null; directives: Directive[]; selections: Selection[]; loc: Loc };

export interface VariableDefinition {
  name: string;
  type: TypeRef;
  default: Value | null;
  loc: Loc;
}

export interface Operation {
  operation: "query" | "mutation" | "subscription";
  name: string | null;
  variables: VariableDefinition[];
  directives: Directive[];
  selections: Selection[];
  loc: Loc;
}

export interface Fragment {
  name: string;
  on: string;
  directives: Directive[];
  selections: Selection[];
  loc: Loc;
}

export interface Document {
  operations: Operation[];
  fragments: Map<string, Fragment>;
}

export const LIMITS = { chars: 64 * 1024, tokens: 10_000, depth: 16 };

type Token = { kind: "punct" | "name" | "int" | "float" | "string" | "eof"; value: string; loc: Loc };

const PUNCT = new Set(["!", "$", "&", "(", ")", ":", "=", "@", "[", "]", "{", "|", "}"]);
const NAME_START = /[_A-Za-z]/;
const NAME_CHAR = /[_0-9A-Za-z]/;

function lex(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const loc = (at: number): Loc => ({ line, column: at - lineStart + 1 });
  const fail = (msg: string, at = i): never => {
    throw new GraphQLSyntaxError(msg, loc(at));
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === "\n" || c === "\r") {
      if (c === "\r" && src[i + 1] === "\n") i++;
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === " " || c === "\t" || c === "," || c === "\ufeff") {
      i++;
      continue;
    }
    if (c === "#") {
      while (i < src.length && src[i] !== "\n" && src[i] !== "\r") i++;
      continue;
    }
    if (out.length >= LIMITS.tokens) fail(`the query has more than ${LIMITS.tokens} tokens`);
    const start = i;
    if (c === ".") {
      if (src.startsWith("...", i)) {
        out.push({ kind: "punct", value: "...", loc: loc(start) });
        i += 3;
        continue;
      }
      fail("Unexpected character '.'");
    }
    if (PUNCT.has(c)) {
      out.push({ kind: "punct", value: c, loc: loc(start) });
      i++;
      continue;
    }
    if (NAME_START.test(c)) {
      while (i < src.length && NAME_CHAR.test(src[i]!)) i++;
      out.push({ kind: "name", value: src.slice(start, i), loc: loc(start) });
      continue;
    }
    if (c === "-" || (c >= "0" && c <= "9")) {
      const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(src.slice(i, i + 400));
      if (!m || m[0] === "-") fail("Invalid number");
      i += m![0].length;
      if (i < src.length && (NAME_START.test(src[i]!) || src[i] === ".")) fail("Invalid number: unexpected character after it", i);
      out.push({ kind: m![2] || m![3] ? "float" : "int", value: m![0], loc: loc(start) });
      continue;
    }
    if (c === '"') {
      if (src.startsWith('"""', i)) {
        let j = i + 3;
        let raw = "";
        for (;;) {
          const k = src.indexOf('"""', j);
          if (k < 0) fail("Unterminated block string");
          if (src[k - 1] === "\\") {
            raw += src.slice(j, k - 1) + '"""';
            j = k + 3;
            continue;
          }
          raw += src.slice(j, k);
          j = k + 3;
          break;
        }
        for (const ch of src.slice(i, j)) if (ch === "\n") line++;
        const lastNl = src.lastIndexOf("\n", j - 1);
        if (lastNl >= i) lineStart = lastNl + 1;
        i = j;
        out.push({ kind: "string", value: blockString(raw), loc: { line, column: start - lineStart + 1 } });
        continue;
      }
      i++;
      let value = "";
      for (;;) {
        if (i >= src.length || src[i] === "\n" || src[i] === "\r") fail("Unterminated string", start);
        const ch = src[i]!;
        if (ch === '"') {
          i++;
          break;
        }
        if (ch === "\\") {
          const e = src[i + 1];
          const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
          if (e !== undefined && e in simple) {
            value += simple[e];
            i += 2;
            continue;
          }
          if (e === "u" && /^[0-9a-fA-F]{4}$/.test(src.slice(i + 2, i + 6))) {
            value += String.fromCharCode(parseInt(src.slice(i + 2, i + 6), 16));
            i += 6;
            continue;
          }
          fail("Invalid escape sequence in string", i);
        }
        if (ch < " " && ch !== "\t") fail("Invalid character in string", i);
        value += ch;
        i++;
      }
      out.push({ kind: "string", value, loc: loc(start) });
      continue;
    }
    fail(`Unexpected character ${JSON.stringify(c)}`);
  }
  out.push({ kind: "eof", value: "", loc: loc(i) });
  return out;
}

/** The spec's BlockStringValue(): common indentation and blank first/last lines removed. */
function blockString(raw: string): string {
  const lines = raw.split(/\r\n|[\n\r]/);
  let common: number | null = null;
  for (const l of lines.slice(1)) {
    const indent = l.length - l.replace(/^[\t ]+/, "").length;
    if (indent < l.length && (common === null || indent < common)) common = indent;
  }
  const out = lines.map((l, i) => (i === 0 || common === null ? l : l.slice(common)));
  while (out.length && out[0]!.trim() === "") out.shift();
  while (out.length && out[out.length - 1]!.trim() === "") out.pop();
  return out.join("\n");
}

/** Parses a query document (executable definitions only). Throws GraphQLSyntaxError. */
export function parse(src: string): Document {
  if (src.length > LIMITS.chars) throw new GraphQLSyntaxError(`the query is longer than ${LIMITS.chars} characters`, { line: 1, column: 1 });
  const tokens = lex(src);
  let p = 0;
  let depth = 0;
  const peek = () => tokens[p]!;
  const next = () => tokens[p++]!;
  const fail = (msg: string, t = peek()): never => {
    throw new GraphQLSyntaxError(msg, t.loc);
  };
  const describe = (t: Token) => (t.kind === "eof" ? "end of document" : `${JSON.stringify(clip(t.value))}`);
  const isPunct = (v: string) => peek().kind === "punct" && peek().value === v;
  const expectPunct = (v: string) => {
    const t = next();
    if (t.kind !== "punct" || t.value !== v) fail(`Expected ${JSON.stringify(v)}, found ${describe(t)}`, t);
    return t;
  };
  const name = () => {
    const t = next();
    if (t.kind !== "name") fail(`Expected a name, found ${describe(t)}`, t);
    return t.value;
  };
  const nested = <T>(fn: () => T): T => {
    if (++depth > LIMITS.depth) fail(`the query nests deeper than ${LIMITS.depth} levels`);
    try {
      return fn();
    } finally {
      depth--;
    }
  };

  const value = (isConst: boolean): Value =>
    nested(() => {
      const t = peek();
      if (t.kind === "punct" && t.value === "$") {
        if (isConst) fail("Unexpected variable in a constant value");
        next();
        return { kind: "variable", name: name(), loc: t.loc };
      }
      if (t.kind === "int") return next(), { kind: "int", value: Number(t.value), loc: t.loc };
      if (t.kind === "float") return next(), { kind: "float", value: Number(t.value), loc: t.loc };
      if (t.kind === "string") return next(), { kind: "string", value: t.value, loc: t.loc };
      if (t.kind === "name") {
        next();
        if (t.value === "true" || t.value === "false") return { kind: "boolean", value: t.value === "true", loc: t.loc };
        if (t.value === "null") return { kind: "null", loc: t.loc };
        return { kind: "enum", value: t.value, loc: t.loc };
      }
      if (isPunct("[")) {
        next();
        const values: Value[] = [];
        while (!isPunct("]")) {
          if (peek().kind === "eof") fail("Unterminated list");
          values.push(value(isConst));
        }
        next();
        return { kind: "list", values, loc: t.loc };
      }
      if (isPunct("{")) {
        next();
        const fields: Record<string, Value> = {};
        while (!isPunct("}")) {
          const at = peek();
          const k = name();
          if (Object.hasOwn(fields, k)) fail(`Duplicate input field ${JSON.stringify(k)}`, at);
          expectPunct(":");
          fields[k] = value(isConst);
        }
        next();
        return { kind: "object", fields, loc: t.loc };
      }
      return fail(`Expected a value, found ${describe(t)}`);
    });

  const args = (isConst: boolean): Record<string, Value> => {
    const out: Record<string, Value> = {};
    if (!isPunct("(")) return out;
    next();
    do {
      const at = peek();
      const k = name();
      if (Object.hasOwn(out, k)) fail(`Duplicate argument ${JSON.stringify(k)}`, at);
      expectPunct(":");
      out[k] = value(isConst);
    } while (!isPunct(")"));
    next();
    return out;
  };

  const directives = (isConst: boolean): Directive[] => {
    const out: Directive[] = [];
    while (isPunct("@")) {
      const t = next();
      out.push({ name: name(), args: args(isConst), loc: t.loc });
    }
    return out;
  };

  const typeRef = (): TypeRef =>
    nested(() => {
      let t: TypeRef;
      if (isPunct("[")) {
        next();
        t = { kind: "list", of: typeRef() };
        expectPunct("]");
      } else t = { kind: "named", name: name() };
      if (isPunct("!")) {
        next();
        t = { kind: "nonNull", of: t };
      }
      return t;
    });

  const selectionSet = (): Selection[] =>
    nested(() => {
      expectPunct("{");
      const out: Selection[] = [];
      do {
        const t = peek();
        if (t.kind === "punct" && t.value === "...") {
          next();
          if (peek().kind === "name" && peek().value !== "on") {
            out.push({ kind: "spread", name: name(), directives: directives(false), loc: t.loc });
          } else {
            let on: string | null = null;
            if (peek().kind === "name" && peek().value === "on") {
              next();
              on = name();
            }
            out.push({ kind: "inline", on, directives: directives(false), selections: selectionSet(), loc: t.loc });
          }
          continue;
        }
        const first = name();
        let alias: string | null = null;
        let fieldName = first;
        if (isPunct(":")) {
          next();
          alias = first;
          fieldName = name();
        }
        const a = args(false);
        const d = directives(false);
        const sel = isPunct("{") ? selectionSet() : null;
        out.push({ kind: "field", alias, name: fieldName, args: a, directives: d, selections: sel, loc: t.loc });
      } while (!isPunct("}"));
      next();
      return out;
    });

  const doc: Document = { operations: [], fragments: new Map() };
  if (peek().kind === "eof") fail("Unexpected end of document");
  while (peek().kind !== "eof") {
    const t = peek();
    if (isPunct("{")) {
      doc.operations.push({ operation: "query", name: null, variables: [], directives: [], selections: selectionSet(), loc: t.loc });
      continue;
    }
    if (t.kind !== "name") fail(`Unexpected ${describe(t)}`);
    if (t.value === "fragment") {
      next();
      const fname = name();
      if (fname === "on") fail("a fragment cannot be named 'on'", t);
      const on = peek();
      if (on.kind !== "name" || on.value !== "on") fail(`Expected "on", found ${describe(on)}`);
      next();
      const typeName = name();
      if (doc.fragments.has(fname)) fail(`There can be only one fragment named ${JSON.stringify(fname)}`, t);
      doc.fragments.set(fname, { name: fname, on: typeName, directives: directives(false), selections: selectionSet(), loc: t.loc });
      continue;
    }
    if (t.value !== "query" && t.value !== "mutation" && t.value !== "subscription") fail(`Unexpected ${describe(t)}`);
    next();
    const opName = peek().kind === "name" ? name() : null;
    const variables: VariableDefinition[] = [];
    if (isPunct("(")) {
      next();
      do {
        const at = expectPunct("$");
        const vname = name();
        if (variables.some((v) => v.name === vname)) fail(`There can be only one variable named ${JSON.stringify(vname)}`, at);
        expectPunct(":");
        const type = typeRef();
        let dflt: Value | null = null;
        if (isPunct("=")) {
          next();
          dflt = value(true);
        }
        directives(true);
        variables.push({ name: vname, type, default: dflt, loc: at.loc });
      } while (!isPunct(")"));
      next();
    }
    doc.operations.push({ operation: t.value as Operation["operation"], name: opName, variables, directives: directives(false), selections: selectionSet(), loc: t.loc });
  }
  if (doc.operations.length === 0) throw new GraphQLSyntaxError("the document has no operation", { line: 1, column: 1 });
  if (doc.operations.length > 1 && doc.operations.some((o) => o.name === null)) {
    throw new GraphQLSyntaxError("an anonymous operation must be the only operation in the document", doc.operations.find((o) => o.name === null)!.loc);
  }
  return doc;
}

export const typeString = (t: TypeRef): string => (t.kind === "named" ? t.name : t.kind === "list" ? `[${typeString(t.of)}]` : `${typeString(t.of)}!`);

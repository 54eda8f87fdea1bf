/**
 * GitHub's GraphQL endpoint (`POST /api/graphql`) for the queries GitHub's clients send about
 * releases, and the REST API root (`GET /api/v3/`), which is what the GitHub CLI reads to log in
 * to an Enterprise host. The schema is GitHub's, cut down to: `viewer { login }`,
 * `repository(owner, name)` with `releases(first, after, orderBy)`, `release(tagName)`,
 * `latestRelease` and `viewerPermission`, and each release's fields and assets. A document is
 * parsed (http/graphql.ts), checked against this schema (unknown fields, arguments, types,
 * variables: GitHub's `{"errors": [{"type", "message", "locations"}]}`), then run. Mutations,
 * subscriptions and introspection are refused. Drafts are visible as on REST: to tokens that could
 * publish them.
 */
import { clip } from "../../domain/errors.ts";
import type { App, Principal, Release } from "../../domain/model.ts";
import { readJsonBody } from "../body.ts";
import type { Ctx } from "../context.ts";
import { oauthScopes, toGhAsset } from "../github.ts";
import { parse, GraphQLSyntaxError, typeString, type Document, type Fragment, type Loc, type Operation, type Selection, type TypeRef, type Value } from "../graphql.ts";
import { HttpError, json } from "../respond.ts";
import type { Router } from "../router.ts";
import type { Handler } from "./shared.ts";

interface GqlError {
  type: string;
  message: string;
  locations?: Loc[];
  path?: Array<string | number>;
}

class QueryError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly loc?: Loc,
  ) {
    super(message);
  }
}

// ------------------------------------------------------------------ schema

interface Exec {
  c: Ctx;
  by: Principal;
  errors: GqlError[];
  /** The latest release id per app, looked up once per request (every listed release asks isLatest). */
  latest: Map<number, number | null>;
  /** Objects resolved so far; aliases can multiply a query's work, so there is a ceiling. */
  objects: number;
}

/** At most this many objects in one answer (gh's release list of 30 is about 60). */
export const MAX_OBJECTS = 20_000;
/** At most this many selections in a query once its fragments are expanded (gh's and octokit's queries use a few hundred). */
export const MAX_SELECTIONS = 5_000;

class TooManyObjects extends Error {}

async function latestId(x: Exec, app: App): Promise<number | null> {
  if (!x.latest.has(app.id)) {
    let id: number | null = null;
    try {
      id = (await x.c.service.latestRelease(app)).release.id;
    } catch {
      id = null;
    }
    x.latest.set(app.id, id);
  }
  return x.latest.get(app.id)!;
}

/** A field as the schema below writes it (most take no arguments). */
interface FieldDef {
  type: string;
  args?: Record<string, string>;
  resolve: (parent: any, args: Record<string, any>, x: Exec, path: Array<string | number>) => unknown | Promise<unknown>;
}
/** A field as queries are checked and run against it: its arguments always listed (none: empty), without a prototype. */
type FieldSpec = FieldDef & { args: Record<string, string> };

/**
 * The schema's tables are looked up by names a query spells (fields, arguments, input fields, type
 * conditions, variable types). Without a prototype, `constructor` or `toString` is no entry of theirs:
 * it was, and a JavaScript error came back as the answer (`viewer(constructor: 1)`), or a variable of
 * type `constructor` was taken as an input type.
 */
const bare = <T>(o: Record<string, T>): Record<string, T> => Object.assign(Object.create(null) as Record<string, T>, o);

const SCALARS = new Set(["String", "Int", "Boolean", "ID", "DateTime", "URI"]);
const ENUMS: Record<string, string[]> = bare({
  ReleaseOrderField: ["CREATED_AT", "NAME"],
  OrderDirection: ["ASC", "DESC"],
  RepositoryPermission: ["ADMIN", "MAINTAIN", "WRITE", "TRIAGE", "READ"],
});
const INPUTS: Record<string, Record<string, string>> = bare({
  ReleaseOrder: bare({ field: "ReleaseOrderField!", direction: "OrderDirection!" }),
});

const b64 = (s: string) => Buffer.from(s).toString("base64");
const nodeId = (kind: string, id: number) => `${kind}_${Buffer.from(`${kind}:${id}`).toString("base64url")}`;
/**
 * A cursor names an item's place and, for releases, the release's key in the list's order
 * (`cursor:v3:<place>:<id>:<created ms>`; the list is newest first, then by id): the next page starts
 * at the first release after that key, looked for within WINDOW places of where it was, so a
 * release published or deleted between two pages (the cursor's own release too) neither repeats
 * one nor skips one. A v2 cursor (a place alone, what other connections give) is still read.
 */
const cursorOf = (offset: number, key?: ReleaseKey) => b64(key === undefined ? `cursor:v2:${offset}` : `cursor:v3:${offset}:${key.id}:${key.at}`);
type ReleaseKey = { id: number; at: number };
const keyOf = (r: Release): ReleaseKey => ({ id: r.id, at: Date.parse(r.created_at) });
/** Whether release key `a` comes after `b` in the list (older, or as old with a smaller id). */
const after = (a: ReleaseKey, b: ReleaseKey) => a.at < b.at || (a.at === b.at && a.id < b.id);
/** How far from its place an anchored cursor's release is looked for. */
const WINDOW = 100;

function cursorAt(cursor: string | null | undefined): { after: number; key?: ReleaseKey } {
  if (cursor == null) return { after: 0 };
  const m = /^cursor:v(?:2:(\d{1,9})|3:(\d{1,9}):(\d{1,15}):(\d{1,15}))$/.exec(Buffer.from(cursor, "base64").toString("utf8"));
  if (!m) throw new QueryError("INVALID_CURSOR_ARGUMENTS", `\`${clip(cursor)}\` does not appear to be a valid cursor.`);
  return m[1] !== undefined ? { after: Number(m[1]) + 1 } : { after: Number(m[2]) + 1, key: { id: Number(m[3]), at: Number(m[4]) } };
}

function offsetOf(cursor: string | null | undefined): number {
  return cursorAt(cursor).after;
}

/** A page size from `first`: GitHub requires 1-100. */
function pageSize(first: number | null | undefined, what: string): number {
  if (first == null) throw new QueryError("MISSING_PAGINATION_BOUNDARIES", `You must provide a \`first\` value to properly paginate the \`${what}\` connection.`);
  if (first < 1 || first > 100) throw new QueryError("EXCESSIVE_PAGINATION", `Requesting ${first} records on the \`${what}\` connection is not allowed: \`first\` must be between 1 and 100.`);
  return first;
}

function connection<T>(items: T[], offset: number, total: number, keyOfItem?: (item: T) => ReleaseKey) {
  const at = (i: number) => cursorOf(offset + i, keyOfItem?.(items[i]!));
  return {
    nodes: items,
    edges: items.map((node, i) => ({ node, cursor: at(i) })),
    totalCount: total,
    pageInfo: {
      hasNextPage: offset + items.length < total,
      hasPreviousPage: offset > 0,
      startCursor: items.length ? at(0) : null,
      endCursor: items.length ? at(items.length - 1) : null,
    },
  };
}

const loginOf = (by: Principal) => (by.token ? by.token.name : by.actor);

interface RepoNode {
  app: App;
}
interface ReleaseNode {
  app: App;
  release: Release;
}

/** GitHub's `<Node>Connection` and `<Node>Edge` types over a page of nodes. */
function connectionTypes(node: string): Record<string, Record<string, FieldDef>> {
  return {
    [`${node}Connection`]: {
      nodes: { type: `[${node}]`, resolve: (p) => p.nodes },
      edges: { type: `[${node}Edge]`, resolve: (p) => p.edges },
      pageInfo: { type: "PageInfo!", resolve: (p) => p.pageInfo },
      totalCount: { type: "Int!", resolve: (p) => p.totalCount },
    },
    [`${node}Edge`]: {
      node: { type: node, resolve: (p) => p.node },
      cursor: { type: "String!", resolve: (p) => p.cursor },
    },
  };
}

const SCHEMA: Record<string, Record<string, FieldDef>> = {
  Query: {
    viewer: { type: "User!", resolve: (_p, _a, x) => x.by },
    repository: {
      type: "Repository",
      args: { owner: "String!", name: "String!", followRenames: "Boolean" },
      resolve: async (_p, a, x, path) => {
        let app: App | undefined;
        try {
          app = await x.c.service.getAppBySlug(a.owner, a.name);
          if (app.visibility === "private") x.c.service.authorize(x.by, "read", { app });
        } catch {
          app = undefined;
        }
        if (!app) {
          x.errors.push({ type: "NOT_FOUND", path, message: `Could not resolve to a Repository with the name '${clip(a.owner)}/${clip(a.name)}'.` });
          return null;
        }
        return { app } satisfies RepoNode;
      },
    },
  },
  User: {
    login: { type: "String!", resolve: (by: Principal) => loginOf(by) },
    name: { type: "String", resolve: (by: Principal) => loginOf(by) },
    id: { type: "ID!", resolve: (by: Principal) => nodeId("U", by.token?.id ?? 0) },
    databaseId: { type: "Int", resolve: (by: Principal) => by.token?.id ?? null },
  },
  RepositoryOwner: {
    login: { type: "String!", resolve: (app: App) => app.owner },
    id: { type: "ID!", resolve: (app: App) => nodeId("O", app.id) },
  },
  Repository: {
    id: { type: "ID!", resolve: (r: RepoNode) => nodeId("R", r.app.id) },
    databaseId: { type: "Int", resolve: (r: RepoNode) => r.app.id },
    name: { type: "String!", resolve: (r: RepoNode) => r.app.slug },
    nameWithOwner: { type: "String!", resolve: (r: RepoNode) => `${r.app.owner}/${r.app.slug}` },
    description: { type: "String", resolve: (r: RepoNode) => r.app.display_name },
    owner: { type: "RepositoryOwner!", resolve: (r: RepoNode) => r.app },
    isPrivate: { type: "Boolean!", resolve: (r: RepoNode) => r.app.visibility === "private" },
    url: { type: "URI!", resolve: (r: RepoNode, _a, x) => `${x.c.urls.base}/${encodeURIComponent(r.app.owner)}/${encodeURIComponent(r.app.slug)}` },
    viewerPermission: {
      type: "RepositoryPermission",
      resolve: (r: RepoNode, _a, x) => {
        const can = (action: "admin" | "publish") => {
          try {
            x.c.service.authorize(x.by, action, { app: r.app });
            return true;
          } catch {
            return false;
          }
        };
        return can("admin") ? "ADMIN" : x.c.service.draftScope(x.by, r.app) !== false || can("publish") ? "WRITE" : "READ";
      },
    },
    releases: {
      type: "ReleaseConnection!",
      args: { first: "Int", after: "String", orderBy: "ReleaseOrder" },
      resolve: async (r: RepoNode, a, x) => {
        const order = a.orderBy as { field: string; direction: string } | null | undefined;
        if (order && (order.field !== "CREATED_AT" || order.direction !== "DESC")) {
          throw new QueryError("UNSUPPORTED", "releases can only be ordered by {field: CREATED_AT, direction: DESC} here");
        }
        const first = pageSize(a.first, "releases");
        const cur = cursorAt(a.after);
        const drafts = x.c.service.draftScope(x.by, r.app);
        let offset = cur.after;
        let page: { items: Release[]; total: number } | undefined;
        if (cur.key) {
          // The releases around the cursor's place: the page starts at the first one after its key.
          const from = Math.max(0, cur.after - 1 - WINDOW);
          const limit = first + 2 * WINDOW + 1;
          const window = await x.c.service.releaseWindow(r.app, { offset: from, limit, drafts });
          const i = window.items.findIndex((rel) => after(keyOf(rel), cur.key!));
          // Found inside the window (not at its first place when the window starts after the list's
          // start: the boundary may lie before it), or past the end of a list that ended in it.
          if (i > 0 || (i === 0 && from === 0)) { offset = from + i; page = { items: window.items.slice(i, i + first), total: window.total }; }
          else if (i < 0 && window.items.length < limit) { offset = from + window.items.length; page = { items: [], total: window.total }; }
        }
        page ??= await x.c.service.releaseWindow(r.app, { offset, limit: first, drafts });
        return connection(page.items.map((release) => ({ app: r.app, release }) satisfies ReleaseNode), offset, page.total, (n) => keyOf(n.release));
      },
    },
    release: {
      type: "Release",
      args: { tagName: "String!" },
      resolve: async (r: RepoNode, a, x) => {
        let release: Release | undefined;
        try {
          release = await x.c.service.getReleaseByTag(r.app, a.tagName);
        } catch {
          return null; // no such tag (or not a tag at all): GitHub answers null, without an error
        }
        return (await x.c.service.canSee(x.by, release)) ? ({ app: r.app, release } satisfies ReleaseNode) : null;
      },
    },
    latestRelease: {
      type: "Release",
      resolve: async (r: RepoNode, _a, x) => {
        try {
          return { app: r.app, release: (await x.c.service.latestRelease(r.app)).release } satisfies ReleaseNode;
        } catch {
          return null;
        }
      },
    },
  },
  ...connectionTypes("Release"),
  ...connectionTypes("ReleaseAsset"),
  PageInfo: {
    hasNextPage: { type: "Boolean!", resolve: (p) => p.hasNextPage },
    hasPreviousPage: { type: "Boolean!", resolve: (p) => p.hasPreviousPage },
    startCursor: { type: "String", resolve: (p) => p.startCursor },
    endCursor: { type: "String", resolve: (p) => p.endCursor },
  },
  Release: {
    id: { type: "ID!", resolve: (n: ReleaseNode) => nodeId("RE", n.release.id) },
    databaseId: { type: "Int", resolve: (n: ReleaseNode) => n.release.id },
    name: { type: "String", resolve: (n: ReleaseNode) => n.release.name },
    tagName: { type: "String!", resolve: (n: ReleaseNode) => n.release.tag },
    description: { type: "String", resolve: (n: ReleaseNode) => n.release.notes },
    isDraft: { type: "Boolean!", resolve: (n: ReleaseNode) => n.release.draft },
    isPrerelease: { type: "Boolean!", resolve: (n: ReleaseNode) => n.release.prerelease },
    isLatest: { type: "Boolean!", resolve: async (n: ReleaseNode, _a, x) => (await latestId(x, n.app)) === n.release.id },
    createdAt: { type: "DateTime!", resolve: (n: ReleaseNode) => n.release.created_at },
    publishedAt: { type: "DateTime", resolve: (n: ReleaseNode) => n.release.published_at },
    updatedAt: { type: "DateTime!", resolve: (n: ReleaseNode) => n.release.published_at ?? n.release.created_at },
    url: { type: "URI!", resolve: (n: ReleaseNode, _a, x) => `${x.c.urls.base}/${encodeURIComponent(n.app.owner)}/${encodeURIComponent(n.app.slug)}/releases/tag/${encodeURIComponent(n.release.tag)}` },
    tag: { type: "Ref", resolve: (n: ReleaseNode) => ({ name: n.release.tag }) },
    releaseAssets: {
      type: "ReleaseAssetConnection!",
      args: { first: "Int", after: "String", name: "String" },
      resolve: async (n: ReleaseNode, a, x) => {
        const first = pageSize(a.first, "releaseAssets");
        const offset = offsetOf(a.after);
        const all = (await x.c.service.listArtifacts(n.release)).filter((f) => a.name == null || f.filename === a.name);
        const items = all.slice(offset, offset + first).map((f) => toGhAsset(x.c.urls, n.app, n.release, f));
        return connection(items, offset, all.length);
      },
    },
  },
  Ref: {
    name: { type: "String!", resolve: (p) => p.name },
  },
  ReleaseAsset: {
    id: { type: "ID!", resolve: (a) => a.node_id },
    databaseId: { type: "Int", resolve: (a) => a.id },
    name: { type: "String!", resolve: (a) => a.name },
    contentType: { type: "String!", resolve: (a) => a.content_type },
    size: { type: "Int!", resolve: (a) => a.size },
    downloadCount: { type: "Int!", resolve: (a) => a.download_count },
    downloadUrl: { type: "URI!", resolve: (a) => a.browser_download_url },
    url: { type: "URI!", resolve: (a) => a.url },
    createdAt: { type: "DateTime!", resolve: (a) => a.created_at },
    updatedAt: { type: "DateTime!", resolve: (a) => a.updated_at },
  },
};
const TYPES: Record<string, Record<string, FieldSpec>> = bare(Object.fromEntries(Object.entries(SCHEMA).map(([name, fields]) => [
  name, bare(Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, { ...f, args: bare(f.args ?? {}) }]))),
])));

// ------------------------------------------------------------------ types

function parseType(s: string): TypeRef {
  if (s.endsWith("!")) return { kind: "nonNull", of: parseType(s.slice(0, -1)) };
  if (s.startsWith("[")) return { kind: "list", of: parseType(s.slice(1, -1)) };
  return { kind: "named", name: s };
}

const namedOf = (t: TypeRef): string => (t.kind === "named" ? t.name : namedOf(t.of));
const isInputType = (name: string) => SCALARS.has(name) || name in ENUMS || name in INPUTS;
const isLeaf = (name: string) => SCALARS.has(name) || name in ENUMS;

/** Coerces a JSON variable value to `t`; throws a message naming `what` when it does not fit. */
function coerceJson(v: unknown, t: TypeRef, what: string): unknown {
  if (t.kind === "nonNull") {
    if (v === null || v === undefined) throw new Error(`${what}: expected a value of type ${typeString(t)}, got null`);
    return coerceJson(v, t.of, what);
  }
  if (v === null || v === undefined) return null;
  if (t.kind === "list") return (Array.isArray(v) ? v : [v]).map((x, i) => coerceJson(x, t.of, `${what}[${i}]`));
  const n = t.name;
  const bad = () => new Error(`${what}: ${clip(JSON.stringify(v) ?? String(v))} is not a valid ${n}`);
  switch (n) {
    case "Int":
      if (typeof v !== "number" || !Number.isInteger(v) || Math.abs(v) > 2 ** 31 - 1) throw bad();
      return v;
    case "Boolean":
      if (typeof v !== "boolean") throw bad();
      return v;
    case "ID":
      if (typeof v === "number" && Number.isInteger(v)) return String(v);
      if (typeof v !== "string") throw bad();
      return v;
    case "String":
    case "DateTime":
    case "URI":
      if (typeof v !== "string") throw bad();
      return v;
  }
  if (n in ENUMS) {
    if (typeof v !== "string" || !ENUMS[n]!.includes(v)) throw bad();
    return v;
  }
  if (n in INPUTS) {
    if (typeof v !== "object" || Array.isArray(v)) throw bad();
    const fields = INPUTS[n]!;
    for (const k of Object.keys(v as object)) if (!(k in fields)) throw new Error(`${what}: ${n} has no field ${k}`);
    return Object.fromEntries(Object.entries(fields).map(([k, ft]) => [k, coerceJson((v as Record<string, unknown>)[k], parseType(ft), `${what}.${k}`)]));
  }
  throw bad();
}

/** Coerces a literal (or variable) to `t`, as the argument of a field. */
function coerceLiteral(v: Value, t: TypeRef, vars: Record<string, unknown>, what: string): unknown {
  if (v.kind === "variable") {
    const val = vars[v.name];
    if (t.kind === "nonNull" && (val === null || val === undefined)) throw new QueryError("INVALID_QUERY", `${what}: variable $${v.name} is null`, v.loc);
    return val ?? null;
  }
  if (t.kind === "nonNull") {
    if (v.kind === "null") throw new QueryError("INVALID_QUERY", `${what}: expected type ${typeString(t)}, got null`, v.loc);
    return coerceLiteral(v, t.of, vars, what);
  }
  if (v.kind === "null") return null;
  if (t.kind === "list") return (v.kind === "list" ? v.values : [v]).map((x, i) => coerceLiteral(x, t.of, vars, `${what}[${i}]`));
  const n = t.name;
  const bad = () => new QueryError("INVALID_QUERY", `${what}: this value is not a valid ${n}`, v.loc);
  if (n === "Int") {
    if (v.kind !== "int" || Math.abs(v.value) > 2 ** 31 - 1) throw bad();
    return v.value;
  }
  if (n === "Boolean") {
    if (v.kind !== "boolean") throw bad();
    return v.value;
  }
  if (n === "ID") {
    if (v.kind === "int") return String(v.value);
    if (v.kind !== "string") throw bad();
    return v.value;
  }
  if (n === "String" || n === "DateTime" || n === "URI") {
    if (v.kind !== "string") throw bad();
    return v.value;
  }
  if (n in ENUMS) {
    if (v.kind !== "enum" || !ENUMS[n]!.includes(v.value)) throw bad();
    return v.value;
  }
  if (n in INPUTS) {
    if (v.kind !== "object") throw bad();
    const fields = INPUTS[n]!;
    for (const k of Object.keys(v.fields)) if (!(k in fields)) throw new QueryError("INVALID_QUERY", `${what}: ${n} has no field ${k}`, v.loc);
    return Object.fromEntries(
      Object.entries(fields).map(([k, ft]) => {
        const fv = v.fields[k];
        const ftRef = parseType(ft);
        if (fv === undefined) {
          if (ftRef.kind === "nonNull") throw new QueryError("INVALID_QUERY", `${what}: ${n}.${k} is required`, v.loc);
          return [k, null];
        }
        return [k, coerceLiteral(fv, ftRef, vars, `${what}.${k}`)];
      }),
    );
  }
  throw bad();
}

/** Whether a variable of type `varType` may be used where `loc` is expected (the spec's rule). */
function compatible(varType: TypeRef, loc: TypeRef, hasDefault: boolean): boolean {
  if (loc.kind === "nonNull") {
    if (varType.kind === "nonNull") return compatible(varType.of, loc.of, false);
    return hasDefault && compatible(varType, loc.of, false);
  }
  if (varType.kind === "nonNull") return compatible(varType.of, loc, false);
  if (loc.kind === "list") return varType.kind === "list" && compatible(varType.of, loc.of, false);
  return varType.kind === "named" && varType.name === loc.name;
}

// ------------------------------------------------------------------ validation

const hasVariable = (v: Value): boolean =>
  v.kind === "variable" || (v.kind === "list" && v.values.some(hasVariable)) || (v.kind === "object" && Object.values(v.fields).some(hasVariable));

/** Checks every selection against the schema (before anything runs), as GitHub does. */
function validate(doc: Document, op: Operation): void {
  const defs = new Map(op.variables.map((v) => [v.name, v]));
  for (const v of op.variables) {
    if (!isInputType(namedOf(v.type))) throw new QueryError("INVALID_QUERY", `Variable $${v.name} is declared with type ${typeString(v.type)}, which is not an input type`, v.loc);
  }
  const used = new Set<string>();
  const checkValue = (value: Value, type: TypeRef, what: string) => {
    if (value.kind === "variable") {
      const d = defs.get(value.name);
      if (!d) throw new QueryError("INVALID_QUERY", `Variable $${value.name} is used by ${what} but not declared`, value.loc);
      used.add(value.name);
      if (!compatible(d.type, type, d.default !== null)) {
        throw new QueryError("INVALID_QUERY", `Type mismatch on variable $${value.name} and argument ${what} (${typeString(d.type)} / ${typeString(type)})`, value.loc);
      }
      return;
    }
    if (value.kind === "list") for (const x of value.values) checkValue(x, type.kind === "list" ? type.of : type.kind === "nonNull" && type.of.kind === "list" ? type.of.of : type, what);
    if (value.kind === "object") for (const [k, fv] of Object.entries(value.fields)) {
      const ft = INPUTS[namedOf(type)]?.[k];
      if (ft) checkValue(fv, parseType(ft), `${what}.${k}`);
    }
    if (!hasVariable(value)) coerceLiteral(value, type, {}, what);
  };
  const checkDirectives = (ds: { name: string; args: Record<string, Value>; loc: Loc }[]) => {
    for (const d of ds) {
      if (d.name !== "include" && d.name !== "skip") throw new QueryError("INVALID_QUERY", `Directive @${d.name} is not supported`, d.loc);
      for (const k of Object.keys(d.args)) if (k !== "if") throw new QueryError("INVALID_QUERY", `Directive @${d.name} has no argument ${k}`, d.loc);
      if (!d.args.if) throw new QueryError("INVALID_QUERY", `Directive @${d.name} needs the argument if`, d.loc);
      checkValue(d.args.if, parseType("Boolean!"), `@${d.name}(if:)`);
    }
  };
  const visiting: string[] = [];
  // Selections as fragments expand them: a fragment spread twice in each of k fragments is 2^k of
  // them (about 670 bytes of query took 12 s and blocked the server); at most MAX_SELECTIONS.
  let expanded = 0;
  const walk = (sels: Selection[], typeName: string) => {
    const fields = TYPES[typeName]!;
    for (const s of sels) {
      if (++expanded > MAX_SELECTIONS) throw new QueryError("INVALID_QUERY", `The query expands to more than ${MAX_SELECTIONS} selections (count each fragment where it is spread)`, s.loc);
      checkDirectives(s.directives);
      if (s.kind === "spread") {
        const f = doc.fragments.get(s.name);
        if (!f) throw new QueryError("INVALID_QUERY", `Fragment ${s.name} was used, but not defined`, s.loc);
        if (visiting.includes(s.name)) throw new QueryError("INVALID_QUERY", `Fragment ${s.name} contains an infinite loop`, s.loc);
        fragmentOn(f.on, typeName, f.loc);
        visiting.push(s.name);
        walk(f.selections, typeName);
        visiting.pop();
        continue;
      }
      if (s.kind === "inline") {
        if (s.on !== null) fragmentOn(s.on, typeName, s.loc);
        walk(s.selections, typeName);
        continue;
      }
      if (s.name === "__typename") {
        if (s.selections) throw new QueryError("INVALID_QUERY", "Selections can't be made on scalars (field '__typename')", s.loc);
        continue;
      }
      if (s.name.startsWith("__")) throw new QueryError("INVALID_QUERY", `Introspection (${s.name}) is not supported by this server`, s.loc);
      const spec = fields[s.name];
      if (!spec) throw new QueryError("INVALID_QUERY", `Field '${s.name}' doesn't exist on type '${typeName}'`, s.loc);
      const argTypes = spec.args;
      for (const [k, v] of Object.entries(s.args)) {
        if (!(k in argTypes)) throw new QueryError("INVALID_QUERY", `Field '${s.name}' doesn't accept argument '${k}'`, v.loc);
        checkValue(v, parseType(argTypes[k]!), `${typeName}.${s.name}(${k}:)`);
      }
      for (const [k, t] of Object.entries(argTypes)) {
        if (t.endsWith("!") && !(k in s.args)) throw new QueryError("INVALID_QUERY", `Field '${s.name}' is missing required arguments: ${k}`, s.loc);
      }
      const target = namedOf(parseType(spec.type));
      if (isLeaf(target)) {
        if (s.selections) throw new QueryError("INVALID_QUERY", `Selections can't be made on scalars (field '${s.name}' returns ${target})`, s.loc);
      } else {
        if (!s.selections) throw new QueryError("INVALID_QUERY", `Field must have selections (field '${s.name}' returns ${target} but has no selections)`, s.loc);
        walk(s.selections, target);
      }
    }
  };
  const fragmentOn = (on: string, typeName: string, loc: Loc) => {
    if (!(on in TYPES)) throw new QueryError("INVALID_QUERY", `No such type ${on}, so it can't be a fragment condition`, loc);
    if (on !== typeName) throw new QueryError("INVALID_QUERY", `Fragment on ${on} can't be spread inside ${typeName}`, loc);
  };
  walk(op.selections, "Query");
  for (const v of op.variables) if (!used.has(v.name)) throw new QueryError("INVALID_QUERY", `Variable $${v.name} is declared by ${op.name ?? "anonymous query"} but not used`, v.loc);
}

// ------------------------------------------------------------------ execution

function included(ds: { name: string; args: Record<string, Value> }[], vars: Record<string, unknown>): boolean {
  for (const d of ds) {
    const v = coerceLiteral(d.args.if!, parseType("Boolean!"), vars, `@${d.name}`);
    if (d.name === "include" && v === false) return false;
    if (d.name === "skip" && v === true) return false;
  }
  return true;
}

/** The fields a selection set asks for, fragments flattened, in order, keyed by response name. */
function collect(doc: Document, sels: Selection[], vars: Record<string, unknown>, out = new Map<string, Extract<Selection, { kind: "field" }>[]>()) {
  for (const s of sels) {
    if (!included(s.directives, vars)) continue;
    if (s.kind === "field") {
      const key = s.alias ?? s.name;
      const same = out.get(key);
      if (same) same.push(s); else out.set(key, [s]); // not copied per field: 10,000 of one name were quadratic
    } else if (s.kind === "inline") collect(doc, s.selections, vars, out);
    else collect(doc, (doc.fragments.get(s.name) as Fragment).selections, vars, out);
  }
  return out;
}

/** A non-null field came out null (its error is already recorded): its parent becomes null, as the spec says. */
class NullBubble extends Error {}

async function execute(doc: Document, sels: Selection[], typeName: string, parent: unknown, vars: Record<string, unknown>, x: Exec, path: Array<string | number>): Promise<Record<string, unknown>> {
  if (++x.objects > MAX_OBJECTS) throw new TooManyObjects();
  const out: Record<string, unknown> = {};
  for (const [key, fields] of collect(doc, sels, vars)) {
    const f = fields[0]!;
    if (f.name === "__typename") {
      out[key] = typeName === "RepositoryOwner" ? "Organization" : typeName;
      continue;
    }
    const spec = TYPES[typeName]![f.name]!;
    const nonNull = spec.type.endsWith("!");
    const argTypes = spec.args;
    const here = [...path, key];
    let value: unknown;
    try {
      const args = Object.fromEntries(Object.entries(argTypes).map(([k, t]) => [k, f.args[k] ? coerceLiteral(f.args[k]!, parseType(t), vars, `${f.name}(${k}:)`) : null]));
      value = await spec.resolve(parent, args, x, here);
    } catch (err) {
      if (!(err instanceof QueryError)) throw err;
      x.errors.push({ type: err.type, message: err.message, locations: [err.loc ?? f.loc], path: here });
      value = null;
    }
    const subs = fields.flatMap((g) => g.selections ?? []);
    const target = namedOf(parseType(spec.type));
    const render = async (v: unknown, p: Array<string | number>): Promise<unknown> => {
      if (v === null || v === undefined || isLeaf(target)) return v ?? null;
      try {
        return await execute(doc, subs, target, v, vars, x, p);
      } catch (err) {
        if (err instanceof NullBubble) return null;
        throw err;
      }
    };
    if (Array.isArray(value)) {
      const list: unknown[] = [];
      for (const [i, v] of value.entries()) list.push(await render(v, [...here, i]));
      out[key] = list;
    } else out[key] = await render(value, here);
    if (out[key] === null && nonNull) throw new NullBubble();
  }
  return out;
}

// ------------------------------------------------------------------ HTTP

const MAX_BODY = 256 * 1024;

/**
 * The longest error message sent. Messages quote names from the document (a field, a fragment, a
 * variable: up to the document's 64 KiB), so each is cut here rather than at every place one is built.
 */
const MAX_MESSAGE = 1024;
const cutMessages = (errors: GqlError[]): GqlError[] => errors.map((e) => (e.message.length > MAX_MESSAGE ? { ...e, message: clip(e.message, MAX_MESSAGE) } : e));

function gqlErrors(errors: GqlError[], status = 200): Response {
  return json({ errors: cutMessages(errors) }, status);
}

const graphql: Handler = async (c) => {
  const by = await c.principal();
  if (!by) throw new HttpError(401, "This endpoint requires you to be authenticated.", { headers: { "www-authenticate": 'Bearer realm="release-server"' } });
  const body = await readJsonBody(c.req, MAX_BODY, "GraphQL request");
  if (typeof body !== "object" || body === null || Array.isArray(body) || typeof (body as any).query !== "string") {
    return gqlErrors([{ type: "INVALID_QUERY", message: "A query attribute must be specified and must be a string." }], 400);
  }
  const { query, variables, operationName } = body as { query: string; variables?: unknown; operationName?: unknown };
  if (variables != null && (typeof variables !== "object" || Array.isArray(variables))) return gqlErrors([{ type: "INVALID_QUERY", message: "Variables must be a JSON object" }], 400);
  if (operationName != null && typeof operationName !== "string") return gqlErrors([{ type: "INVALID_QUERY", message: "operationName must be a string" }], 400);

  let doc: Document;
  try {
    doc = parse(query);
  } catch (err) {
    if (err instanceof GraphQLSyntaxError) return gqlErrors([{ type: "PARSE_ERROR", message: `Parse error: ${err.message} at [${err.loc.line}, ${err.loc.column}]`, locations: [err.loc] }]);
    throw err;
  }
  const op = operationName ? doc.operations.find((o) => o.name === operationName) : doc.operations.length === 1 ? doc.operations[0] : undefined;
  if (!op) {
    return gqlErrors([{ type: "INVALID_QUERY", message: operationName ? `No operation named ${JSON.stringify(clip(operationName))}` : "An operation name is required when the document has several operations" }]);
  }
  if (op.operation !== "query") {
    return gqlErrors([{ type: "UNSUPPORTED", message: `${op.operation} operations are not supported by this server (only release queries are)`, locations: [op.loc] }]);
  }
  const vars: Record<string, unknown> = {};
  try {
    validate(doc, op);
    for (const d of op.variables) {
      const given = (variables as Record<string, unknown> | undefined)?.[d.name];
      vars[d.name] = given === undefined && d.default ? coerceLiteral(d.default, d.type, {}, `$${d.name}`) : coerceJson(given, d.type, `Variable $${d.name}`);
    }
  } catch (err) {
    if (err instanceof QueryError) return gqlErrors([{ type: err.type, message: err.message, ...(err.loc ? { locations: [err.loc] } : {}) }]);
    if (err instanceof Error && !(err instanceof HttpError)) return gqlErrors([{ type: "INVALID_QUERY", message: err.message }]);
    throw err;
  }
  const x: Exec = { c, by, errors: [], latest: new Map(), objects: 0 };
  let data: Record<string, unknown> | null;
  try {
    data = await execute(doc, op.selections, "Query", null, vars, x, []);
  } catch (err) {
    if (err instanceof TooManyObjects) {
      return gqlErrors([{ type: "MAX_NODE_LIMIT_EXCEEDED", message: `This query would return more than ${MAX_OBJECTS} objects; ask for fewer (smaller first: values, fewer aliases)` }]);
    }
    if (!(err instanceof NullBubble)) throw err;
    data = null;
  }
  return json(x.errors.length ? { data, errors: cutMessages(x.errors) } : { data }, 200, oauthScopes(by));
};

/** GET /api/v3/: GitHub's API root, a map of URL templates; with a token, its scopes as X-OAuth-Scopes. */
const apiRoot: Handler = async (c) => {
  const base = `${c.urls.base}/api/v3`;
  const by = await c.principal();
  const root = {
    current_user_url: `${base}/user`,
    repository_url: `${base}/repos/{owner}/{repo}`,
    releases_url: `${base}/repos/{owner}/{repo}/releases{/id}`,
    graphql_url: `${c.urls.base}/api/graphql`,
    uploads_url: `${c.urls.base}/api/uploads`,
    openapi_url: `${c.urls.base}/openapi.json`,
  };
  return json(root, 200, by ? oauthScopes(by) : {});
};

/**
 * GET /api/v3/user: the token's user, as GitHub's "authenticated user" (what the API root's
 * `current_user_url` names, and octokit's `users.getAuthenticated`): the login the GraphQL viewer
 * has. 401 without a token.
 */
const currentUser: Handler = async (c) => {
  const by = await c.principal();
  if (!by) throw new HttpError(401, "Requires authentication", { headers: { "www-authenticate": 'Bearer realm="release-server"' } });
  const id = by.token?.id ?? 0;
  return json({ login: loginOf(by), id, node_id: nodeId("U", id), type: "User", name: loginOf(by), site_admin: by.token === null || by.token.scopes.actions.includes("admin") }, 200, oauthScopes(by));
};

export function graphqlRoutes(r: Router<Handler>): void {
  r.add("GET", "/api/v3", apiRoot).add("GET", "/api/v3/user", currentUser).add("POST", "/api/graphql", graphql);
}

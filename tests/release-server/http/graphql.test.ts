// POST /api/graphql and GET /api/v3/ over real HTTP: the queries gh and octokit send, GitHub's
// answers for a missing repository or release, drafts per token, cursors, and strict refusal of
// everything else in GitHub's error shape. Plus the parser on its own.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { parse, GraphQLSyntaxError } from "../../../src/release-server/http/graphql.ts";
import { OP, auth, publish, seed, startServer, tempData, type Running } from "./server.ts";

setDefaultTimeout(20_000);

let srv: Running;
const tok: Record<string, string> = {};

beforeAll(async () => {
  const t = tempData();
  await seed(t.data, async (s) => {
    const app = await s.createApp({ owner: "acme", slug: "tool" }, OP);
    await s.createApp({ owner: "acme", slug: "secret", visibility: "private" }, OP);
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`part-${i}.bin`, `part ${i}`])); // for the object ceiling
    for (let i = 1; i <= 5; i++) await publish(s, app, { version: `1.${i}.0`, name: `Release ${i}` }, { [`t-${i}.bin`]: `bytes ${i}`, ...(i === 2 ? many : {}) });
    await publish(s, app, { version: "2.0.0", draft: true, channel: "beta" });
    await publish(s, app, { version: "3.0.0", draft: true, channel: "stable" });
    tok.reader = (await s.createToken({ name: "reader", actions: ["read"], apps: ["acme/tool"] }, OP)).raw;
    tok.beta = (await s.createToken({ name: "beta", actions: ["publish"], channels: ["beta"] }, OP)).raw;
  });
  srv = await startServer(t);
});
afterAll(() => srv[Symbol.asyncDispose]());

async function gql(query: string, variables?: Record<string, unknown>, token = srv.admin): Promise<{ status: number; body: any }> {
  const r = await fetch(`${srv.url}/api/graphql`, { method: "POST", headers: { ...auth(token), "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
  return { status: r.status, body: await r.json() };
}

const RELEASE_LIST = `query RepositoryReleaseList($endCursor:String$name:String!$owner:String!$perPage:Int!){repository(owner: $owner, name: $name){releases(first: $perPage, orderBy: {field: CREATED_AT, direction: DESC}, after: $endCursor){nodes{name,tagName,isDraft,isLatest,isPrerelease,createdAt,publishedAt},pageInfo{hasNextPage,endCursor}}}}`;
const BY_TAG = `query RepositoryReleaseByTag($name:String!$owner:String!$tagName:String!){repository(owner: $owner, name: $name){release(tagName: $tagName){databaseId,isDraft}}}`;

describe("GraphQL: what gh sends", () => {
  test("viewer { login }, and the API root with X-OAuth-Scopes", async () => {
    expect((await gql("query UserCurrent{viewer{login}}")).body).toEqual({ data: { viewer: { login: "admin (RELEASE_SERVER_ADMIN_TOKEN)" } } });
    expect((await gql("{viewer{login}}", undefined, tok.reader)).body.data.viewer.login).toBe("reader");
    const root = await fetch(`${srv.url}/api/v3/`, { headers: auth(tok.reader) });
    expect(root.status).toBe(200);
    expect(root.headers.get("x-oauth-scopes")).toContain("repo");
    expect(((await root.json()) as any).releases_url).toBe(`${srv.url}/api/v3/repos/{owner}/{repo}/releases{/id}`);
    expect((await fetch(`${srv.url}/api/v3`)).headers.get("x-oauth-scopes")).toBeNull();
    const anon = await fetch(`${srv.url}/api/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{viewer{login}}" }) });
    expect(anon.status).toBe(401);
  });

  test("the release list pages with cursors; drafts only for tokens that could publish them", async () => {
    const vars = { owner: "acme", name: "tool", perPage: 3, endCursor: null };
    const admin = (await gql(RELEASE_LIST, vars)).body.data.repository.releases;
    expect(admin.nodes.map((n: any) => n.tagName)).toEqual(["v3.0.0", "v2.0.0", "v1.5.0"]);
    expect(admin.nodes[2]).toMatchObject({ name: "Release 5", isDraft: false, isLatest: true, isPrerelease: false });
    expect(admin.nodes[0]).toMatchObject({ isDraft: true, publishedAt: null });
    const next = (await gql(RELEASE_LIST, { ...vars, endCursor: admin.pageInfo.endCursor })).body.data.repository.releases;
    expect(next.nodes.map((n: any) => n.tagName)).toEqual(["v1.4.0", "v1.3.0", "v1.2.0"]);
    const last = (await gql(RELEASE_LIST, { ...vars, endCursor: next.pageInfo.endCursor })).body.data.repository.releases;
    expect(last).toMatchObject({ nodes: [{ tagName: "v1.1.0" }], pageInfo: { hasNextPage: false } });
    const reader = (await gql(RELEASE_LIST, { ...vars, perPage: 100 }, tok.reader)).body.data.repository.releases;
    expect(reader.nodes.map((n: any) => n.tagName)).not.toContain("v2.0.0");
    expect(reader.nodes).toHaveLength(5);
    const beta = (await gql(RELEASE_LIST, { ...vars, perPage: 100 }, tok.beta)).body.data.repository.releases.nodes.map((n: any) => n.tagName);
    expect(beta).toContain("v2.0.0");
    expect(beta).not.toContain("v3.0.0");
  });

  test("a cursor continues after its release: releases published or deleted between two pages repeat none and skip none", async () => {
    const vars = { owner: "acme", name: "tool", perPage: 2, endCursor: null };
    const first = (await gql(RELEASE_LIST, vars)).body.data.repository.releases;
    expect(first.nodes.map((n: any) => n.tagName)).toEqual(["v3.0.0", "v2.0.0"]);
    const api = `${srv.url}/api/v3/repos/acme/tool/releases`;
    const made: number[] = [];
    for (const tag of ["v9.0.0", "v9.1.0"]) {
      const r = await fetch(api, { method: "POST", headers: { ...auth(srv.admin), "content-type": "application/json" }, body: JSON.stringify({ tag_name: tag }) });
      expect(r.status).toBe(201);
      made.push(((await r.json()) as any).id);
    }
    try {
      const second = (await gql(RELEASE_LIST, { ...vars, endCursor: first.pageInfo.endCursor })).body.data.repository.releases;
      expect(second.nodes.map((n: any) => n.tagName)).toEqual(["v1.5.0", "v1.4.0"]);
      // The release the next page starts after is where it was before the two were published: 2 places down now.
      const third = (await gql(RELEASE_LIST, { ...vars, endCursor: second.pageInfo.endCursor })).body.data.repository.releases;
      expect(third.nodes.map((n: any) => n.tagName)).toEqual(["v1.3.0", "v1.2.0"]);
      // The cursor's own release deleted: the next page starts with the one after it, none skipped.
      const one = (await gql(RELEASE_LIST, { ...vars, perPage: 1 })).body.data.repository.releases;
      expect(one.nodes.map((n: any) => n.tagName)).toEqual(["v9.1.0"]);
      expect((await fetch(`${api}/${made.pop()}`, { method: "DELETE", headers: auth(srv.admin) })).status).toBe(204);
      const afterGone = (await gql(RELEASE_LIST, { ...vars, perPage: 1, endCursor: one.pageInfo.endCursor })).body.data.repository.releases;
      expect(afterGone.nodes.map((n: any) => n.tagName)).toEqual(["v9.0.0"]);
    } finally {
      for (const id of made) expect((await fetch(`${api}/${id}`, { method: "DELETE", headers: auth(srv.admin) })).status).toBe(204);
    }
    // A cursor from before they were deleted still continues after its release.
    const again = (await gql(RELEASE_LIST, { ...vars, endCursor: first.pageInfo.endCursor })).body.data.repository.releases;
    expect(again.nodes.map((n: any) => n.tagName)).toEqual(["v1.5.0", "v1.4.0"]);
  });

  test("release by tag: the release, or null without an error (gh then trusts its REST lookup)", async () => {
    const found = await gql(BY_TAG, { owner: "acme", name: "tool", tagName: "v2.0.0" });
    expect(found.body.data.repository.release).toMatchObject({ isDraft: true });
    expect(typeof found.body.data.repository.release.databaseId).toBe("number");
    for (const [tagName, token] of [["v2.0.0", tok.reader], ["v9.9.9", srv.admin], ["not a tag", srv.admin]] as const) {
      const r = await gql(BY_TAG, { owner: "acme", name: "tool", tagName }, token);
      expect(r.body).toEqual({ data: { repository: { release: null } } });
    }
  });

  test("a missing (or unreadable private) repository is GitHub's NOT_FOUND error beside data", async () => {
    for (const [name, token] of [["nope", srv.admin], ["secret", tok.reader]] as const) {
      const r = await gql(BY_TAG, { owner: "acme", name, tagName: "v1.0.0" }, token);
      expect(r.status).toBe(200);
      expect(r.body.data).toEqual({ repository: null });
      expect(r.body.errors).toEqual([{ type: "NOT_FOUND", path: ["repository"], message: `Could not resolve to a Repository with the name 'acme/${name}'.` }]);
    }
  });

  test("octokit-style queries: aliases, fragments, @include, latestRelease, assets, __typename", async () => {
    const q = `
      query ($owner: String!, $repo: String!, $withAssets: Boolean = true) {
        repo: repository(owner: $owner, name: $repo) {
          __typename
          nameWithOwner
          latest: latestRelease { ...rel }
          one: release(tagName: "v1.1.0") { ...rel releaseAssets(first: 10) @include(if: $withAssets) { totalCount nodes { name size downloadUrl } } }
        }
      }
      fragment rel on Release { tagName ... on Release { url } }`;
    const r = await gql(q, { owner: "acme", repo: "tool" });
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.repo).toEqual({
      __typename: "Repository",
      nameWithOwner: "acme/tool",
      latest: { tagName: "v1.5.0", url: `${srv.url}/acme/tool/releases/tag/v1.5.0` },
      one: {
        tagName: "v1.1.0",
        url: `${srv.url}/acme/tool/releases/tag/v1.1.0`,
        releaseAssets: { totalCount: 1, nodes: [{ name: "t-1.bin", size: 7, downloadUrl: `${srv.url}/acme/tool/releases/download/v1.1.0/t-1.bin` }] },
      },
    });
  });
});

describe("GraphQL: everything else is refused in GitHub's error shape", () => {
  const cases: Array<[string, string, Record<string, unknown> | undefined, RegExp]> = [
    ["unknown field", "{ viewer { login email } }", undefined, /Field 'email' doesn't exist on type 'User'/],
    ["unknown root field", "{ organization(login: \"acme\") { id } }", undefined, /Field 'organization' doesn't exist on type 'Query'/],
    ["mutation", "mutation { createRelease { id } }", undefined, /mutation operations are not supported/],
    ["introspection", "{ __schema { types { name } } }", undefined, /Introspection/],
    ["syntax", "{ viewer { login }", undefined, /Parse error: .* at \[1, 19\]/],
    ["unknown argument", '{ repository(owner: "acme", name: "tool", fork: true) { id } }', undefined, /doesn't accept argument 'fork'/],
    ["missing argument", '{ repository(owner: "acme") { id } }', undefined, /missing required arguments: name/],
    ["wrong literal type", '{ repository(owner: "acme", name: 5) { id } }', undefined, /not a valid String/],
    ["scalar with selections", "{ viewer { login { x } } }", undefined, /Selections can't be made on scalars/],
    ["object without selections", '{ repository(owner: "acme", name: "tool") }', undefined, /must have selections/],
    ["undeclared variable", '{ repository(owner: $o, name: "tool") { id } }', undefined, /Variable \$o is used .* but not declared/],
    ["variable of the wrong type", 'query ($o: Int) { repository(owner: $o, name: "tool") { id } }', { o: 1 }, /Type mismatch on variable \$o/],
    ["missing variable", 'query ($o: String!) { repository(owner: $o, name: "tool") { id } }', {}, /Variable \$o: expected a value of type String!/],
    ["variable value of the wrong type", 'query ($o: String!) { repository(owner: $o, name: "tool") { id } }', { o: 5 }, /5 is not a valid String/],
    ["page size over 100", '{ repository(owner: "acme", name: "tool") { releases(first: 101) { totalCount } } }', undefined, /between 1 and 100/],
    ["no page size", '{ repository(owner: "acme", name: "tool") { releases { totalCount } } }', undefined, /provide a `first` value/],
    ["Int past 32 bits", '{ repository(owner: "acme", name: "tool") { releases(first: 99999999999999999999) { totalCount } } }', undefined, /not a valid Int/],
    ["bad cursor", '{ repository(owner: "acme", name: "tool") { releases(first: 1, after: "zzz") { totalCount } } }', undefined, /not appear to be a valid cursor/],
    ["other order", '{ repository(owner: "acme", name: "tool") { releases(first: 1, orderBy: {field: NAME, direction: ASC}) { totalCount } } }', undefined, /can only be ordered by/],
    ["unknown directive", "{ viewer @cached { login } }", undefined, /Directive @cached is not supported/],
    ["undefined fragment", "{ viewer { ...f } }", undefined, /Fragment f was used, but not defined/],
    ["fragment on another type", "{ viewer { ...f } } fragment f on Release { tagName }", undefined, /can't be spread inside User/],
  ];
  for (const [what, query, variables, message] of cases) {
    test(what, async () => {
      const r = await gql(query, variables);
      expect(r.status).toBe(200);
      expect(Object.keys(r.body).filter((k) => k !== "data")).toEqual(["errors"]);
      expect(r.body.errors).toHaveLength(1);
      expect(typeof r.body.errors[0].type).toBe("string");
      expect(r.body.errors[0].message).toMatch(message);
    });
  }

  test("an error in a non-null field nulls its parent, as the spec says; other fields still answer", async () => {
    const r = await gql('{ viewer { login } repository(owner: "acme", name: "tool") { name releases(first: 500) { totalCount } } }');
    expect(r.body.data).toEqual({ viewer: { login: "admin (RELEASE_SERVER_ADMIN_TOKEN)" }, repository: null });
    expect(r.body.errors).toMatchObject([{ type: "EXCESSIVE_PAGINATION", path: ["repository", "releases"] }]);
  });

  test("aliases cannot multiply the work past a ceiling", async () => {
    const one = (i: number) => `a${i}: releases(first: 100) { nodes { tagName releaseAssets(first: 100) { nodes { name } } } }`;
    // 250 aliases of the releases with their assets: about 110 objects each here.
    const q = `{ repository(owner: "acme", name: "tool") { ${Array.from({ length: 250 }, (_, i) => one(i)).join(" ")} } }`;
    const r = await gql(q);
    expect(r.body).toEqual({ errors: [{ type: "MAX_NODE_LIMIT_EXCEEDED", message: expect.stringContaining("more than 20000 objects") }] });
  });

  test("fragments that spread each other twice cannot expand a short query exponentially; an inherited name is no field", async () => {
    // 20 fragments, each spreading the next twice: 2^20 selections from about 800 bytes (16 of them took 12 s and blocked the server).
    const k = 20;
    const frags = Array.from({ length: k }, (_, i) => `fragment F${i} on User { ...F${i + 1} ...F${i + 1} }`).join(" ");
    const t0 = Date.now();
    const r = await gql(`query { viewer { ...F0 } } ${frags} fragment F${k} on User { login }`);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(r.body.errors[0]).toMatchObject({ type: "INVALID_QUERY", message: "The query expands to more than 5000 selections (count each fragment where it is spread)" });
    for (const q of ["{ viewer { constructor } }", "{ toString { login } }"]) {
      const e = (await gql(q)).body.errors[0];
      expect([q, e.type, e.message]).toEqual([q, "INVALID_QUERY", expect.stringMatching(/^Field '(constructor|toString)' doesn't exist on type '(User|Query)'$/)]);
    }
    // Arguments, input fields, type conditions and variable types named like Object's own keys are
    // none of the schema's either: GitHub's errors, no JavaScript error as the answer.
    const release = `repository(owner: "acme", name: "tool") { releases(first: 1, orderBy: {field: CREATED_AT, direction: DESC, constructor: 1}) { totalCount } }`;
    for (const [q, vars, message] of [
      ["{ viewer(constructor: 1) { login } }", undefined, "Field 'viewer' doesn't accept argument 'constructor'"],
      ["{ viewer(toString: 1) { login } }", undefined, "Field 'viewer' doesn't accept argument 'toString'"],
      [`{ ${release} }`, undefined, expect.stringContaining("has no field constructor")],
      ["{ viewer { ... on toString { login } } }", undefined, "No such type toString, so it can't be a fragment condition"],
      ['query($o: ReleaseOrder) { repository(owner: "acme", name: "tool") { releases(first: 1, orderBy: $o) { totalCount } } }', { o: { field: "NAME", direction: "ASC", constructor: 1 } }, expect.stringContaining("has no field constructor")],
      ["query($x: constructor) { viewer { login } }", { x: 1 }, expect.stringContaining("constructor")],
    ] as const) {
      const r = await gql(q, vars as Record<string, unknown> | undefined);
      const e = r.body.errors?.[0];
      expect([q, e?.message, JSON.stringify(r.body)]).toEqual([q, message, expect.not.stringMatching(/is not a function|TypeError|undefined is not/)]);
    }
  });

  test("messages quote at most a bounded part of the document: a 5,000-character name, string or cursor is cut", async () => {
    const long = "x".repeat(5000);
    const cases: Array<[string, Record<string, unknown> | undefined, string, number]> = [
      [`{ viewer { ${long} } }`, undefined, "Field 'xxx", 1024], // a name: the message as a whole is cut
      [`{ viewer { login } "${long}" }`, undefined, 'Parse error: Expected a name, found "xxx', 400],
      [`{ repository(owner: "acme", name: "tool") { releases(first: 1, after: "${long}") { totalCount } } }`, undefined, "`xxx", 400],
      [`{ repository(owner: "${long}", name: "tool") { id } }`, undefined, "Could not resolve to a Repository with the name 'xxx", 400],
      ['query ($o: String!) { repository(owner: $o, name: "tool") { id } }', { o: [long] }, "Variable $o: [\"xxx", 400],
    ];
    for (const [query, variables, start, max] of cases) {
      const { body } = await gql(query, variables);
      const message: string = body.errors[0].message;
      expect({ start: message.slice(0, start.length), short: message.length <= max, cut: message.includes("…") }).toEqual({ start, short: true, cut: true });
    }
  });

  test("a body that is not a GraphQL request", async () => {
    const post = (body: string, type = "application/json") => fetch(`${srv.url}/api/graphql`, { method: "POST", headers: { ...auth(srv.admin), "content-type": type }, body });
    expect((await post("{")).status).toBe(400);
    const noQuery = await post("{}");
    expect(noQuery.status).toBe(400);
    expect(((await noQuery.json()) as any).errors[0].message).toContain("A query attribute must be specified");
    expect((await post("x", "text/plain")).status).toBe(400); // any type is read as JSON, and this is none
    expect((await post(JSON.stringify({ query: "{viewer{login}}" }), "application/x-www-form-urlencoded")).status).toBe(200);
    expect((await post("--x--", "multipart/form-data; boundary=x")).status).toBe(415);
    expect((await post(JSON.stringify({ query: "{viewer{login}}", variables: [1] }))).status).toBe(400);
    expect((await fetch(`${srv.url}/api/graphql`)).status).toBe(405);
  });
});

describe("the GraphQL parser", () => {
  test("reads the spec's syntax: comments, commas, strings with escapes, block strings, lists, objects, defaults", () => {
    const doc = parse(`
      # a comment
      query Q($a: [Int!]! = [1, 2], $b: String = "x\\n\\u00e9") @d {
        f(a: $a, s: """
          block
            text
        """, o: {k: [true, null, ENUM, -1.5e3]}) { g }
      }
      fragment F on T { h }`);
    expect(doc.operations).toHaveLength(1);
    const op = doc.operations[0]!;
    expect(op.variables.map((v) => v.name)).toEqual(["a", "b"]);
    expect(op.variables[1]!.default).toMatchObject({ kind: "string", value: "x\né" });
    const f = op.selections[0]! as any;
    expect(f.args.s).toMatchObject({ kind: "string", value: "block\n  text" });
    expect(f.args.o.fields.k.values.map((v: any) => v.kind)).toEqual(["boolean", "null", "enum", "float"]);
    expect(doc.fragments.get("F")).toMatchObject({ on: "T" });
  });

  test("refuses what is not a document, with a location", () => {
    const bad = ["", "{", "{ a(b: ) }", "{ a(b: 1, b: 2) }", '{ a(b: "unterminated) }', "{ a } { b }", "query ($a: Int = $b) { a }", "{ a(b: 0x10) }", "{ a(b: 1.) }", "fragment on on T { a }"];
    for (const src of bad) {
      let err: unknown;
      try {
        parse(src);
      } catch (e) {
        err = e;
      }
      expect(err, src).toBeInstanceOf(GraphQLSyntaxError);
      expect((err as GraphQLSyntaxError).loc.line).toBeGreaterThanOrEqual(1);
    }
    expect(() => parse("{" + " a {".repeat(30) + " b" + " }".repeat(31))).toThrow(/deeper than/);
    expect(() => parse(`{ a(s: "${"x".repeat(70_000)}") }`)).toThrow(/longer than/);
  });
});

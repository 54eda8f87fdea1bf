// Contract test: the OpenAPI document the server serves describes exactly the routes it has, and
// every documented operation, called against the running server, answers a documented success
// status with the documented content type and a JSON body that satisfies the documented schema.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildRouter } from "../../../src/release-server/http/app.ts";
import { OP, auth, publish, seed, startServer, tempData, type Running } from "./server.ts";

type Schema = { $ref?: string; type?: string | string[]; required?: string[]; properties?: Record<string, Schema>; items?: Schema; enum?: unknown[]; pattern?: string };
let srv: Running;
let doc: any;

beforeAll(async () => {
  const t = tempData();
  await seed(t.data, async (s) => {
    const app = await s.createApp({ owner: "acme", slug: "tool" }, OP);
    const { release } = await publish(s, app, { version: "1.0.0" }, { "tool.bin": "bytes" });
    await s.promote(app, "stable", release.id, {}, OP);
  });
  srv = await startServer({ ...t, args: ["--default-app", "acme/tool"] });
  doc = await (await fetch(`${srv.url}/openapi.json`)).json();
});
afterAll(() => srv[Symbol.asyncDispose]());

/** Checks `value` against the subset of JSON Schema the document uses; returns the first problem. */
function check(schema: Schema, value: unknown, at = "$"): string | undefined {
  if (schema.$ref) return check(doc.components.schemas[schema.$ref.split("/").at(-1)!], value, at);
  const types = schema.type === undefined ? [] : [schema.type].flat();
  const typeOf = value === null ? "null" : Array.isArray(value) ? "array" : Number.isInteger(value) ? "integer" : typeof value;
  if (types.length && !types.includes(typeOf) && !(typeOf === "integer" && types.includes("number"))) return `${at}: expected ${types.join("|")}, got ${typeOf}`;
  if (schema.enum && !schema.enum.includes(value)) return `${at}: ${JSON.stringify(value)} not in enum`;
  if (schema.pattern && typeof value === "string" && !new RegExp(schema.pattern).test(value)) return `${at}: does not match ${schema.pattern}`;
  if (typeOf === "object") {
    const obj = value as Record<string, unknown>;
    for (const k of schema.required ?? []) if (!(k in obj)) return `${at}.${k}: required`;
    for (const [k, sub] of Object.entries(schema.properties ?? {})) if (k in obj) {
      const p = check(sub, obj[k], `${at}.${k}`);
      if (p) return p;
    }
  }
  if (typeOf === "array" && schema.items) for (const [i, item] of (value as unknown[]).entries()) {
    const p = check(schema.items, item, `${at}[${i}]`);
    if (p) return p;
  }
  return undefined;
}

let n = 0;
const unique = () => `${20 + n}.0.0`;

/** Makes a fresh release with one asset (for operations that consume what they touch). */
async function freshAsset(): Promise<{ release: any; asset: any }> {
  n++;
  const r = await fetch(`${srv.url}/upload?name=f${n}.bin&version=${unique()}`, { method: "POST", body: `file ${n}`, headers: auth(srv.admin) });
  const body: any = await r.json();
  return { release: body.release, asset: body.asset };
}

describe("OpenAPI contract", () => {
  test("documents every route the server has, and nothing else", () => {
    const routes = buildRouter().list().map(([m, p]) => `${m} ${p.replace(/:(\w+)/g, "{$1}")}`).sort();
    const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    expect(documented).toEqual(routes);
  });

  test("every documented operation answers as documented", async () => {
    const ops = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, o]) => Object.entries(o).map(([method, op]) => ({ path, method, op })));
    // Reads first, then creations, then deletions (which consume their own fresh assets).
    const order = { get: 0, post: 1, put: 1, patch: 1, delete: 2 } as Record<string, number>;
    ops.sort((a, b) => order[a.method]! - order[b.method]!);
    let checked = 0;
    for (const { path, method, op } of ops) {
      const { release, asset } = await freshAsset();
      const values: Record<string, string> = {
        owner: "acme",
        app: "tool",
        tag: release.tag_name,
        release_id: String(release.id),
        asset_id: String(asset.id),
        asset: asset.name,
        filename: asset.name,
        channel: "stable",
      };
      const url = new URL(srv.url + path.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(values[k]!)));
      for (const p of op.parameters ?? []) {
        if (p.in !== "query" || !p.required) continue;
        url.searchParams.set(p.name, p.name === "version" ? `${unique()}-${method}` : `new-${n}.bin`);
      }
      const headers: Record<string, string> = op.security ? auth(srv.admin) : {};
      let body: string | undefined;
      const content = op.requestBody?.content ?? {};
      if (content["application/json"]) {
        headers["content-type"] = "application/json";
        const channelBody = method === "put" ? { release_id: release.id, rollout_percent: 50 } : { rollout_percent: 100 };
        body = JSON.stringify(path === "/api/graphql" ? { query: "{ viewer { login } }" } : path.includes("/channels/") ? channelBody : { tag_name: `v${unique()}-created` });
      } else if (content["application/octet-stream"]) {
        headers["content-type"] = "application/octet-stream";
        body = "uploaded bytes";
      }
      if (op.responses["200"]?.content?.["application/octet-stream"] && !op.responses["200"].content["application/json"]) headers.accept = "*/*";
      // Not followed: a documented redirect (the root's) is its answer.
      const res = await fetch(url, { method: method.toUpperCase(), headers, body, redirect: "manual" });
      const where = `${method.toUpperCase()} ${path} → ${res.status}`;
      expect(Object.keys(op.responses), where).toContain(String(res.status));
      expect(res.status < 300 || (res.status < 400 && res.headers.has("location")), where).toBe(true);
      const documented = op.responses[String(res.status)].content;
      const type = res.headers.get("content-type")?.split(";")[0];
      if (documented) expect(Object.keys(documented), where).toContain(type ?? "(none)");
      if (type === "application/json" && documented?.["application/json"]) {
        expect(check(documented["application/json"].schema, await res.json()), where).toBeUndefined();
      }
      checked++;
    }
    expect(checked).toBe(ops.length);
  });

  test("documented error responses are JSON with a message", async () => {
    const r = await fetch(`${srv.url}/api/v3/repos/acme/tool/releases/999999`);
    expect(r.status).toBe(404);
    const body: any = await r.json();
    expect(check({ $ref: "#/components/schemas/Error" }, body)).toBeUndefined();
    expect(body.documentation_url).toBe(`${srv.url}/openapi.json`);
  });
});

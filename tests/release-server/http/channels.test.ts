// The channel API over real HTTP: read where channels point, promote with a rollout, change the
// rollout, roll back; scopes (promote action, channel-scoped tokens), the promotion gate (409) and
// bad bodies (422/415/400), JSON whatever the Content-Type, and what `releases/latest/download` then serves.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { OP, auth, publish, seed, startServer, tempData, type Running } from "./server.ts";

setDefaultTimeout(20_000);

let srv: Running;
const tok: Record<string, string> = {};
const ids: Record<string, number> = {};
const api = "/api/v3/repos/acme/tool/channels";

beforeAll(async () => {
  const t = tempData();
  await seed(t.data, async (s) => {
    const app = await s.createApp({ owner: "acme", slug: "tool" }, OP);
    ids.v1 = (await publish(s, app, { version: "1.0.0" }, { "tool.txt": "one" })).release.id;
    ids.v2 = (await publish(s, app, { version: "2.0.0" }, { "tool.txt": "two" })).release.id;
    ids.draft = (await publish(s, app, { version: "3.0.0", draft: true }, { "tool.txt": "three" })).release.id;
    ids.empty = (await publish(s, app, { version: "4.0.0" }, {})).release.id;
    ids.stableDraft = (await publish(s, app, { version: "1.1.0-draftstable", channel: "stable", draft: true }, { "secret-name.bin": "draft" })).release.id;
    await s.promote(app, "stable", ids.v1, {}, OP);
    const mk = async (name: string, input: object) => (await s.createToken({ name, ...input } as never, OP)).raw;
    tok.promoter = await mk("promoter", { actions: ["promote"], apps: ["acme/tool"] });
    tok.publisher = await mk("publisher", { actions: ["publish"], apps: ["acme/tool"] });
    tok.beta = await mk("beta-promoter", { actions: ["promote"], apps: ["acme/tool"], channels: ["beta"] });
  });
  srv = await startServer(t);
});
afterAll(() => srv[Symbol.asyncDispose]());

const call = (method: string, path: string, token?: string, body?: unknown, type = "application/json") =>
  fetch(`${srv.url}${api}${path}`, {
    method,
    headers: { ...(token ? auth(token) : {}), ...(body !== undefined ? { "content-type": type } : {}) },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });

describe("channels over HTTP", () => {
  test("list and one channel, with the tags they point at", async () => {
    const list = await call("GET", "");
    expect(list.status).toBe(200);
    expect(await list.json()).toEqual([expect.objectContaining({ name: "stable", current_tag: "v1.0.0", previous_tag: null, rollout_percent: 100 })]);
    const one = await call("GET", "/stable");
    expect(await one.json()).toMatchObject({ name: "stable", app: "acme/tool", current_release_id: ids.v1 });
    expect((await call("GET", "/nope")).status).toBe(404);
  });

  test("promote with a rollout, change the rollout, roll back; latest/download follows", async () => {
    const p = await call("PUT", "/stable", tok.promoter, { release_id: ids.v2, rollout_percent: 0 });
    expect(p.status).toBe(200);
    expect(await p.json()).toMatchObject({ current_tag: "v2.0.0", previous_tag: "v1.0.0", rollout_percent: 0 });
    // At 0% every client is outside the rollout: the previous release is served.
    expect(await (await fetch(`${srv.url}/acme/tool/releases/latest/download/tool.txt?channel=stable`)).text()).toBe("one");
    const r = await call("PATCH", "/stable", tok.promoter, { rollout_percent: 100 });
    expect(await r.json()).toMatchObject({ current_tag: "v2.0.0", rollout_percent: 100 });
    expect(await (await fetch(`${srv.url}/acme/tool/releases/latest/download/tool.txt?channel=stable`)).text()).toBe("two");
    const back = await call("POST", "/stable/rollback", tok.promoter);
    expect(await back.json()).toMatchObject({ current_tag: "v1.0.0", previous_tag: null, rollout_percent: 100 });
    expect((await call("POST", "/stable/rollback", tok.promoter)).status).toBe(409); // nothing left to roll back to
  });

  test("scopes: no token 401, publish-only 403, a beta token only on beta", async () => {
    expect((await call("PUT", "/stable", undefined, { release_id: ids.v2 })).status).toBe(401);
    expect((await call("PUT", "/stable", tok.publisher, { release_id: ids.v2 })).status).toBe(403);
    expect((await call("PUT", "/stable", tok.beta, { release_id: ids.v2 })).status).toBe(403);
    const beta = await call("PUT", "/beta", tok.beta, { release_id: ids.v2, rollout_percent: 10 });
    expect(beta.status).toBe(200);
    expect(await beta.json()).toMatchObject({ name: "beta", current_tag: "v2.0.0", rollout_percent: 10 });
  });

  test("the promotion gate: a draft or a release without files is a 409 that changes nothing", async () => {
    for (const id of [ids.draft, ids.empty]) {
      const res = await call("PUT", "/stable", srv.admin, { release_id: id });
      expect(res.status).toBe(409);
      expect(((await res.json()) as { message: string }).message).toContain("promotion gate failed");
    }
    expect(await (await call("GET", "/stable")).json()).toMatchObject({ current_tag: "v1.0.0" });
    expect((await call("PUT", "/stable", tok.promoter, { release_id: 999999 })).status).toBe(404);
  });

  test("a draft the token may not see is promoted as an unknown id: 404 with the same message, nothing of the draft told", async () => {
    const answer = async (channel: string, token: string, id: number) => {
      const res = await call("PUT", `/${channel}`, token, { release_id: id });
      return [res.status, ((await res.json()) as { message: string }).message];
    };
    // A promote-only token sees no draft (drafts are for whoever could publish them), channel-scoped or not.
    for (const [channel, token] of [["beta", tok.beta!], ["stable", tok.promoter!]] as const) {
      expect(await answer(channel, token, 999999)).toEqual([404, "acme/tool has no release with id 999999"]);
      for (const id of [ids.stableDraft!, ids.draft!]) expect(await answer(channel, token, id)).toEqual([404, `acme/tool has no release with id ${id}`]);
    }
    // The admin sees the draft, and why the gate refuses it.
    expect(await answer("beta", srv.admin, ids.stableDraft!)).toEqual([409, "promotion gate failed for v1.1.0-draftstable on beta: the release is a draft"]);
  });

  test("bad bodies: one clear error, nothing changed", async () => {
    const cases: [unknown, string | undefined, number][] = [
      [{ release_id: "2" }, undefined, 422],
      [{ release_id: ids.v2, rollout_percent: 101 }, undefined, 422],
      [{}, undefined, 422],
      ["{not json", undefined, 400],
      [{ release_id: ids.v2 }, "multipart/form-data; boundary=x", 415],
    ];
    for (const [body, type, status] of cases) {
      const res = await call("PUT", "/stable", tok.promoter, body, type);
      expect(res.status).toBe(status);
      expect(typeof ((await res.json()) as { message: string }).message).toBe("string");
    }
    expect((await call("PATCH", "/stable", tok.promoter, { rollout_percent: -1 })).status).toBe(422);
    expect(await (await call("GET", "/stable")).json()).toMatchObject({ current_tag: "v1.0.0", rollout_percent: 100 });
  });

  test("a JSON body is read whatever its Content-Type (curl -d sends a form type), except multipart", async () => {
    const r = await call("PATCH", "/stable", tok.promoter, { rollout_percent: 50 }, "application/x-www-form-urlencoded");
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ current_tag: "v1.0.0", rollout_percent: 50 });
    expect((await call("PATCH", "/stable", tok.promoter, { rollout_percent: 100 }, "text/plain")).status).toBe(200);
  });
});

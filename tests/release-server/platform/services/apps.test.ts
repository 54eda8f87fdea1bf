/** services/apps.ts */
import { describe, expect, test } from "bun:test";
import { kindOf, op, parts } from "./harness.ts";

describe("apps", () => {
  test("create with its audit event, look up case-insensitively, list; duplicates and bad names refused", async () => {
    using p = parts();
    const app = await p.apps.createApp({ owner: "acme", slug: "tool", display_name: "Tool" }, op);
    expect(await p.apps.getAppBySlug("ACME", "Tool")).toEqual(app);
    expect(await p.apps.getApp(app.id)).toEqual(app);
    expect(await kindOf(p.apps.createApp({ owner: "acme", slug: "tool" }, op))).toBe("conflict");
    expect(await kindOf(p.apps.createApp({ owner: "Acme!", slug: "x" }, op))).toBe("invalid");
    expect(await kindOf(p.apps.getApp(999))).toBe("not_found");
    expect((await p.apps.listApps()).map((a) => a.slug)).toEqual(["tool"]);
    expect((await p.core.repos.audit.list({ limit: 10, action: "app.create" })).map((e) => e.target_id)).toEqual([String(app.id)]);
  });
});

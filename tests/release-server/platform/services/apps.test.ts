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

  test("a display name may hold any script and the bidi marks, but no bidirectional embedding, override or isolate", async () => {
    using p = parts();
    const message = async (promise: Promise<unknown>) => promise.then(() => "ok", (err: Error) => err.message);
    for (const c of ["\u202e", "\u202a", "\u2066", "\u2069"]) {
      expect(await message(p.apps.createApp({ owner: "acme", slug: "spoof", display_name: `Tool ${c}exe.txt` }, op))).toBe("invalid app display_name: must not contain bidirectional embedding, override or isolate characters");
    }
    // Right-to-left marks around numbers, as Hebrew and Arabic writers type them.
    const rtl = await p.apps.createApp({ owner: "acme", slug: "rtl", display_name: "כלי 2.0\u200f (בטא) \u200eX\u061c" }, op);
    expect(rtl.display_name).toBe("כלי 2.0\u200f (בטא) \u200eX\u061c");
    const app = await p.apps.createApp({ owner: "acme", slug: "tool", display_name: "Ünïcødé 工具 — Инструмент 👩\u200d💻" }, op);
    expect(app.display_name).toBe("Ünïcødé 工具 — Инструмент 👩\u200d💻");
  });

  test("a lookup quotes at most 255 characters of the name it did not find", async () => {
    using p = parts();
    const message = async (promise: Promise<unknown>) => promise.then(() => "ok", (err: Error) => err.message);
    expect(await message(p.apps.getAppBySlug("x".repeat(5000), "tool"))).toBe(`no app ${"x".repeat(254)}…/tool`);
  });
});

/** services/tokens.ts */
import { describe, expect, test } from "bun:test";
import { generateToken, hashToken } from "../../../../src/release-server/domain/tokens.ts";
import { kindOf, op, parts } from "./harness.ts";

describe("tokens", () => {
  test("the raw token is returned once and only its hash stored; use is batched; a revoked token is refused", async () => {
    using p = parts();
    await p.apps.createApp({ owner: "acme", slug: "tool" }, op);
    const { token, raw } = await p.tokens.createToken({ name: "ci", actions: ["publish"], apps: ["acme/tool"] }, op);
    expect(token.token_hash).toBe(hashToken(raw));
    expect(JSON.stringify(await p.core.repos.tokens.list())).not.toContain(raw);
    const who = await p.tokens.authenticate(raw);
    expect(who.actor).toBe(`token:${token.id}:ci`);
    expect((await p.core.repos.tokens.get(token.id))?.last_used_at).toBeNull(); // not written yet
    expect((await p.tokens.listTokens())[0]?.last_used_at).toBe("2026-01-01T00:00:00Z"); // but shown
    await p.core.flush();
    expect((await p.core.repos.tokens.get(token.id))?.last_used_at).toBe("2026-01-01T00:00:00Z");
    await p.tokens.revokeToken(token.id, op);
    expect(await kindOf(p.tokens.authenticate(raw))).toBe("unauthorized");
    expect(await kindOf(p.tokens.createToken({ name: "x", actions: ["read"] }, who))).toBe("forbidden");
  });

  test("the bootstrap token is registered once, as an unexpiring admin token", async () => {
    using p = parts();
    const raw = generateToken();
    const a = await p.tokens.ensureBootstrapToken(raw, "admin");
    const b = await p.tokens.ensureBootstrapToken(raw, "admin");
    expect(b.id).toBe(a.id);
    expect([a.scopes.actions, a.expires_at]).toEqual([["admin"], null]);
    expect((await p.tokens.authenticate(raw)).token?.id).toBe(a.id);
    expect(await kindOf(p.tokens.ensureBootstrapToken("not-a-token", "admin"))).toBe("invalid");
  });
});

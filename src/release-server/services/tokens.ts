/**
 * Tokens: issue, authenticate (recording last use in the batched counters), list and revoke API
 * tokens; the bootstrap admin token. Part of ReleaseService (service.ts); the conventions are
 * core.ts's.
 */
import { Invalid, NotFound, Unauthorized } from "../domain/errors.ts";
import { isoSeconds, type Principal, type Token, type TokenScopes } from "../domain/model.ts";
import { displayPrefix, generateToken, hashToken, wellFormed } from "../domain/tokens.ts";
import { parseInput, TokenInputSchema, type TokenInput } from "../domain/validate.ts";
import { operator, type ServiceCore } from "./core.ts";
import type { Apps } from "./apps.ts";

export class Tokens {
  constructor(private readonly core: ServiceCore, private readonly apps: Apps) {}

  /**
   * Resolves a raw token (`rls_...`) to its principal. Unauthorized when it is malformed (bad
   * prefix/checksum: no lookup happens), unknown, revoked or expired.
   */
  async authenticate(raw: string): Promise<Principal> {
    if (!wellFormed(raw)) throw new Unauthorized("malformed token");
    const token = await this.core.repos.tokens.byHash(hashToken(raw));
    if (!token) throw new Unauthorized("unknown token");
    const now = this.core.clock();
    if (token.revoked_at !== null) throw new Unauthorized(`token '${token.name}' was revoked`);
    if (token.expires_at !== null && Date.parse(token.expires_at) <= now.getTime()) throw new Unauthorized(`token '${token.name}' expired at ${token.expires_at}`);
    this.core.pendingLastUsed.set(token.id, isoSeconds(now));
    this.core.maybeFlush();
    return { actor: `token:${token.id}:${token.name}`, token };
  }

  /** Creates a token; `raw` is returned once and never stored. */
  async createToken(input: TokenInput, by: Principal): Promise<{ token: Token; raw: string }> {
    this.core.authorize(by, "admin");
    const p = parseInput(TokenInputSchema, input, "token");
    const apps = p.apps == null ? null : await Promise.all(p.apps.map(async (ref) => (await this.apps.getAppBySlug(...(ref.split("/") as [string, string]))).id));
    const { default_days, max_days } = this.core.config.tokens;
    const days = p.expires_in_days !== undefined ? p.expires_in_days : max_days > 0 ? Math.min(default_days, max_days) : default_days;
    if (max_days > 0 && (days === null || days > max_days)) throw new Invalid(`invalid token expires_in_days: must be at most ${max_days} days`);
    const raw = generateToken();
    const created = this.core.clock();
    const token = await this.storeToken(raw, by, {
      name: p.name,
      scopes: { apps, channels: p.channels ?? null, actions: [...new Set(p.actions)] },
      created_at: isoSeconds(created),
      expires_at: days === null ? null : isoSeconds(new Date(created.getTime() + days * 86_400_000)),
    });
    return { token, raw };
  }

  /**
   * Registers a raw token given from outside (e.g. an admin token from the environment) as an
   * unexpiring admin token, once. Returns the stored token.
   */
  async ensureBootstrapToken(raw: string, name: string): Promise<Token> {
    if (!wellFormed(raw)) throw new Invalid("bootstrap token is malformed (expected rls_ followed by 49 base62 characters with a valid checksum)");
    const hash = hashToken(raw);
    const existing = await this.core.repos.tokens.byHash(hash);
    if (existing) return existing;
    const scopes: TokenScopes = { apps: null, channels: null, actions: ["admin"] };
    // Replicas starting together register the same token: look again inside the write transaction
    // (they queue there), and a unique-hash conflict from a replica that got in first is its token.
    try {
      return await this.core.repos.transaction(async () =>
        (await this.core.repos.tokens.byHash(hash)) ?? (await this.storeToken(raw, operator("bootstrap"), { name, scopes, created_at: this.core.now(), expires_at: null })));
    } catch (e) {
      const t = await this.core.repos.tokens.byHash(hash);
      if (t) return t;
      throw e;
    }
  }

  /** Stores the hash of `raw` (never `raw` itself) with its audit event. */
  private async storeToken(raw: string, by: Principal, fields: Pick<Token, "name" | "scopes" | "created_at" | "expires_at">): Promise<Token> {
    return this.core.repos.transaction(async () => {
      const t = await this.core.repos.tokens.create({
        ...fields,
        token_hash: hashToken(raw),
        display_prefix: displayPrefix(raw),
        created_by: by.actor,
        last_used_at: null,
        revoked_at: null,
      });
      await this.core.audit(by, "token.create", "token", t.id, { name: t.name, scopes: t.scopes, expires_at: t.expires_at });
      return t;
    });
  }

  async listTokens(): Promise<Token[]> {
    return (await this.core.repos.tokens.list()).map((t) => ({ ...t, last_used_at: this.core.pendingLastUsed.get(t.id) ?? t.last_used_at }));
  }

  async revokeToken(id: number, by: Principal): Promise<Token> {
    this.core.authorize(by, "admin");
    return this.core.repos.transaction(async () => {
      const t = await this.core.repos.tokens.get(id);
      if (!t) throw new NotFound(`no token with id ${id}`);
      if (t.revoked_at !== null) return t;
      const revoked = await this.core.repos.tokens.update(id, { revoked_at: this.core.now() });
      await this.core.audit(by, "token.revoke", "token", id, { name: t.name });
      return revoked;
    });
  }
}

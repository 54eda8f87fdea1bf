/**
 * Per-request context: the matched parameters, the public URLs, and lazily the caller (from the
 * Authorization header, `token X` or `Bearer X`) and the app the path names.
 */
import { clip } from "../domain/errors.ts";
import type { App, Action, Principal, Release } from "../domain/model.ts";
import type { ReleaseService } from "../service.ts";
import type { Params } from "./router.ts";
import type { Urls } from "./github.ts";
import type { LogSink } from "./log.ts";
import { HttpError, validationFailed } from "./respond.ts";

export interface HttpDeps {
  service: ReleaseService;
  /** Absolute URL clients reach the server at; null = the request's own origin. */
  publicUrl: string | null;
  /** The app the seed's root endpoints (/upload, /latest, /assets, /packages) act on. */
  defaultApp: { owner: string; slug: string } | null;
  log: LogSink;
}

/**
 * Query parameters that look like credentials: refused on every route, so a token never lives in a
 * URL. Matched whatever their case (`?TOKEN=`, `?Access_Token=`): a name in another case was let
 * through, and copied into the `Link` headers of paged answers.
 */
const TOKEN_QUERY = new Set(["access_token", "token", "api_key", "private_token"]);

/** Where clients reach the server: the configured public URL, else the request's origin; no trailing slash. */
export const publicBase = (deps: HttpDeps, url: URL) => (deps.publicUrl ?? url.origin).replace(/\/+$/, "");

export function rejectQueryCredentials(url: URL): void {
  for (const k of url.searchParams.keys()) {
    if (TOKEN_QUERY.has(k.toLowerCase())) throw new HttpError(400, `credentials in the query string (${k}) are not accepted; send an Authorization header`);
  }
}

/** A strict UTF-8 decoder (bytes that are not UTF-8 throw). */
export const UTF8 = new TextDecoder("utf-8", { fatal: true });
/** A query string part percent-decoded as URLSearchParams reads it (a `%` without two hex digits stays), or undefined when its bytes are not UTF-8. */
function textOf(part: string): string | undefined {
  const bytes = Buffer.from(part.replace(/\+/g, " ").replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), "latin1");
  try { return UTF8.decode(bytes); } catch { return undefined; }
}

/** The largest `page` served (30 million releases at 30 a page); larger is a 422. */
export const MAX_PAGE = 1_000_000;


export class Ctx {
  private principalMemo: Principal | null | undefined;
  private appMemo: App | undefined;
  /** For the access log: who acted (set once the token is resolved). */
  actor: string | null = null;

  constructor(
    readonly req: Request,
    readonly url: URL,
    readonly params: Params,
    readonly deps: HttpDeps,
  ) {}

  get service(): ReleaseService {
    return this.deps.service;
  }

  get urls(): Urls {
    return { base: publicBase(this.deps, this.url) };
  }

  /** The request URL as clients see it (public base + path + query), for Link headers. */
  get publicRequestUrl(): URL {
    // The path joined to the base's own path (`--public-url https://h/rs` gives https://h/rs/api/…):
    // resolving an absolute path against the base would drop it.
    return new URL(this.urls.base + this.url.pathname + this.url.search);
  }

  /** The caller, or null when no Authorization header was sent. Bad credentials → 401. */
  async principal(): Promise<Principal | null> {
    if (this.principalMemo !== undefined) return this.principalMemo;
    const header = this.req.headers.get("authorization");
    if (header === null) return (this.principalMemo = null);
    const m = header.match(/^(token|bearer)\s+(\S+)\s*$/i);
    if (!m) throw new HttpError(401, "Authorization header must be 'Bearer <token>' or 'token <token>'", { headers: { "www-authenticate": 'Bearer realm="release-server"' } });
    const p = await this.service.authenticate(m[2]!);
    this.actor = p.actor;
    return (this.principalMemo = p);
  }

  /** The caller if this request already resolved a valid token (no lookup happens here). */
  resolvedPrincipal(): Principal | null {
    return this.principalMemo ?? null;
  }

  /** The caller, who must be allowed `action` on the app (and channel): 401 without a token, 403 outside its scopes. */
  async require(action: Action, target: { app?: App; channel?: string | null } = {}): Promise<Principal> {
    const p = await this.principal();
    if (!p) throw new HttpError(401, "Requires authentication", { headers: { "www-authenticate": 'Bearer realm="release-server"' } });
    this.service.authorize(p, action, target);
    return p;
  }

  /** Which drafts of the app the caller may see: all, none, or those of its channels (see ReleaseService.draftScope). */
  async draftScope(app: App): Promise<boolean | string[]> {
    return this.service.draftScope(await this.principal(), app);
  }

  /** The app named by `:owner/:app`, or the default app on root routes. Private apps need a read token. */
  async app(): Promise<App> {
    if (this.appMemo) return this.appMemo;
    const ref = this.params.owner !== undefined ? { owner: this.params.owner, slug: this.params.app! } : this.deps.defaultApp;
    if (!ref) throw new HttpError(404, "no default app is configured; use /apps/{owner}/{app}/...");
    const app = await this.service.getAppBySlug(ref.owner, ref.slug);
    if (app.visibility === "private") {
      // Same answer as an unknown app for callers who may not read it, as GitHub does.
      const p = await this.principal();
      try {
        if (!p) throw new Error();
        this.service.authorize(p, "read", { app });
      } catch {
        throw new HttpError(404, `no app ${clip(ref.owner)}/${clip(ref.slug)}`);
      }
    }
    return (this.appMemo = app);
  }

  /**
   * A release of the current app that the caller may see (drafts need publish rights). Otherwise
   * the 404 a missing one gets (`missing`, by default the lookup by id's), so that a hidden draft
   * or another app's release cannot be told from one that does not exist.
   */
  async visible(release: Release, missing = `no release with id ${release.id}`): Promise<Release> {
    const app = await this.app();
    if (release.app_id !== app.id || !(await this.service.canSee(await this.principal(), release))) throw new HttpError(404, missing);
    return release;
  }

  /** An integer path parameter; anything else is a 404 (there is no such resource). */
  idParam(name: string): number {
    const s = this.params[name]!;
    const n = Number(s);
    if (!/^\d{1,15}$/.test(s) || n < 1) throw new HttpError(404, "Not Found");
    return n;
  }

  /**
   * A query parameter kept or compared as text (an asset's name and label, a version, a channel), or
   * null. Its percent-encoded bytes must be UTF-8: URLSearchParams reads others as U+FFFD, and an
   * asset was stored under a name other than the one sent (400 naming the parameter).
   */
  queryText(k: string): string | null {
    const v = this.url.searchParams.get(k);
    if (v === null || !v.includes("\ufffd")) return v;
    for (const part of this.url.search.slice(1).split("&")) {
      if (textOf(part.split("=")[0]!) === k && textOf(part) === undefined) {
        throw new HttpError(400, `the query parameter ${clip(k)} is not UTF-8 (percent-encoded bytes that are no text)`);
      }
    }
    return v;
  }

  wantsJson(): boolean {
    if (this.url.searchParams.get("format") === "json") return true;
    const accept = this.req.headers.get("accept") ?? "";
    return /application\/(json|vnd\.github)/i.test(accept) && !/text\/html/i.test(accept);
  }

  /**
   * `per_page` (default 30; 0 is 1 and values above 100 are served as 100, as GitHub does) and `page` (from 1;
   * a page past the end is empty). A value that is not a whole number, or a page above MAX_PAGE
   * (no list is that long; larger offsets overflow the database's integers), is a 422 Validation
   * Failed naming the parameter.
   */
  paging(): { page: number; perPage: number } {
    const num = (k: string, dflt: number, max: number) => {
      const v = this.url.searchParams.get(k);
      if (v === null || v === "") return dflt;
      const n = /^\d{1,16}$/.test(v) ? Number(v) : NaN;
      if (!(n >= 0 && n <= max)) throw validationFailed(k, `${k} must be a whole number from 0 (read as 1) to ${max}`);
      return Math.max(1, n); // 0 is read as 1, as GitHub does
    };
    return { page: num("page", 1, MAX_PAGE), perPage: Math.min(100, num("per_page", 30, Number.MAX_SAFE_INTEGER)) };
  }

  /** The rollout inputs of a `latest` request: channel from ?channel=, install id from headers. */
  rolloutInputs(): { channel?: string; installId?: string } {
    const channel = this.queryText("channel") ?? this.req.headers.get("x-release-channel") ?? undefined;
    const installId = this.req.headers.get("x-install-id") ?? this.req.headers.get("x-user-staging-id") ?? undefined;
    return { channel: channel || undefined, installId: installId || undefined };
  }
}

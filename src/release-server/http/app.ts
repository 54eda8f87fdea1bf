/**
 * The HTTP app: a pure `fetch(Request) → Response` over ReleaseService. It routes, turns typed
 * service failures into GitHub-shaped JSON errors (never a stack trace) and writes one structured
 * log line per request. `cli/serve.ts` is the only place that opens a port.
 */
import { Ctx, publicBase, rejectQueryCredentials, type HttpDeps } from "./context.ts";
import { etagMatches } from "./download.ts";
import { oauthScopes } from "./github.ts";
import { logAccess, responseBytes, withSize } from "./log.ts";
import { HttpError, errorResponse, fromServiceError, isServiceError } from "./respond.ts";
import { errorPage } from "./pages.ts";
import { Router } from "./router.ts";
import { apiRoutes } from "./routes/api.ts";
import { channelRoutes } from "./routes/channels.ts";
import { graphqlRoutes } from "./routes/graphql.ts";
import type { Handler } from "./routes/shared.ts";
import { checksTokenItself, pageResponse, siteRoutes } from "./routes/site.ts";

export type { HttpDeps };

export interface HttpApp {
  fetch(req: Request): Promise<Response>;
}

export function buildRouter(): Router<Handler> {
  const router = new Router<Handler>();
  apiRoutes(router);
  channelRoutes(router);
  graphqlRoutes(router);
  siteRoutes(router);
  return router;
}

export function createHttpApp(deps: HttpDeps): HttpApp {
  const router = buildRouter();

  async function handle(req: Request, url: URL, ctxOut: { ctx?: Ctx }, badHost: boolean): Promise<Response> {
    // Without a usable Host the URLs the server hands out have no origin, unless --public-url gives
    // one; the health checks (an HTTP/1.0 probe sends no Host) hand out none.
    if (badHost && !deps.publicUrl && url.pathname !== "/healthz" && url.pathname !== "/readyz") {
      throw new HttpError(400, "the request's Host header is missing or not a valid host");
    }
    const m = router.match(req.method, url.pathname);
    if (!m) throw new HttpError(404, "Not Found");
    if ("allowed" in m) {
      const allow = [...m.allowed, ...(m.allowed.includes("GET") ? ["HEAD"] : [])].join(", ");
      throw new HttpError(405, `method ${req.method} is not allowed here`, { headers: { allow } });
    }
    rejectQueryCredentials(url);
    const ctx = (ctxOut.ctx = new Ctx(req, url, m.params, deps));
    // A token that was sent is checked on every route, public ones too: a revoked, expired or
    // malformed token is 401 wherever it is used, so an updater's broken token shows at once.
    if (req.headers.has("authorization") && !checksTokenItself.has(m.handler)) await ctx.principal();
    const res = await m.handler(ctx);
    const etag = res.headers.get("etag");
    // Conditional JSON reads, as on GitHub (downloads answer their own validators in download.ts).
    if (res.status === 200 && etag?.startsWith("W/") && etagMatches(req.headers.get("if-none-match"), etag)) {
      return withSize(new Response(null, { status: 304, headers: { etag, vary: res.headers.get("vary") ?? "" } }), 0);
    }
    return res;
  }

  return {
    async fetch(req: Request): Promise<Response> {
      const started = performance.now();
      const { url, badHost } = requestUrl(req, deps);
      const out: { ctx?: Ctx } = {};
      let res: Response;
      let error: string | undefined;
      try {
        res = await handle(req, url, out, badHost);
      } catch (err) {
        const httpErr = err instanceof HttpError ? err : isServiceError(err) ? fromServiceError(err) : undefined;
        if (!httpErr) error = err instanceof Error ? `${err.name}: ${err.message.split("\n")[0]}` : String(err);
        const e = httpErr ?? new HttpError(500, "Internal Server Error");
        // A browser that asks for a page that is none (a mistyped URL) gets the 404 as a page, as the package browser's own errors are.
        res = e.status === 404 && wantsPage(req, url) ? pageResponse(publicBase(deps, url), url, errorPage(publicBase(deps, url), 404, e.message), 404) : errorResponse(e, publicBase(deps, url));
        // A page's 404 is HTML or JSON by Accept: a shared cache must not hand one to the other.
        if (e.status === 404 && !url.pathname.startsWith("/api/")) res.headers.set("vary", "Accept, Authorization");
      }
      const requestId = req.headers.get("x-request-id")?.slice(0, 64) || crypto.randomUUID();
      res.headers.set("x-request-id", requestId);
      res.headers.set("x-content-type-options", "nosniff");
      res.headers.set("x-github-request-id", requestId);
      const by = out.ctx?.resolvedPrincipal();
      if (by && !res.headers.has("x-oauth-scopes")) for (const [k, v] of Object.entries(oauthScopes(by))) res.headers.set(k, v);
      logAccess(deps.log, {
        method: req.method,
        path: url.pathname,
        status: res.status,
        bytes: responseBytes(res, req.method),
        duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
        actor: out.ctx?.actor ?? null,
        request_id: requestId,
        ...(error ? { error } : {}),
      });
      return res;
    },
  };
}

/**
 * A browser's request for a page: GET or HEAD, outside the API, asking for HTML and not for JSON
 * (`?format=json`, or an Accept naming JSON without HTML: Ctx.wantsJson's rule).
 */
const wantsPage = (req: Request, url: URL) => {
  if ((req.method !== "GET" && req.method !== "HEAD") || url.pathname.startsWith("/api/") || url.searchParams.get("format") === "json") return false;
  return /text\/html/i.test(req.headers.get("accept") ?? "");
};

/**
 * The request's URL as Bun gives it; or, when its Host header is missing or not a valid host (Bun's
 * URL then does not parse, or has no host), its path and query on the public URL (or on
 * http://localhost: see handle). Parsing it unguarded threw before any handler, and Bun answered
 * with its development error page: the stack and source lines, and no log line.
 */
function requestUrl(req: Request, deps: HttpDeps): { url: URL; badHost: boolean } {
  try {
    const u = new URL(req.url);
    if (u.host) return { url: u, badHost: false };
  } catch {}
  const path = (/^(?:[a-z][a-z0-9+.-]*:\/\/[^/?#]*)?([^#]*)/i.exec(req.url)?.[1] ?? "").replace(/^\/*/, "/");
  return { url: new URL(path, deps.publicUrl ?? "http://localhost"), badHost: true };
}

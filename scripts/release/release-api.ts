/**
 * The few GitHub REST release calls `release:publish` makes, against any GitHub-compatible base URL
 * (api.github.com, a GitHub Enterprise `/api/v3`, or our release-server's `/api/v3`). Uploads go to
 * the release's own `upload_url`, never to a host derived from the API's. The token is only ever
 * put in the Authorization header; no message this module builds contains it.
 */

export interface ApiAsset {
  id: number;
  url: string;
  name: string;
  size: number;
  state?: string;
  /** `sha256:<hex>` where the API has it (GitHub since 2025, release-server always). */
  digest?: string | null;
  browser_download_url?: string;
}

export interface ApiRelease {
  id: number;
  url: string;
  upload_url: string;
  assets_url: string;
  html_url?: string;
  tag_name: string;
  draft: boolean;
  prerelease: boolean;
  body?: string | null;
  assets?: ApiAsset[];
}

/** A non-2xx answer or an unreachable server: one line, with the method and path (never the token). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly where: string,
    detail: string,
  ) {
    super(`${method} ${where}: ${status === 0 ? "" : `${status} `}${detail}`);
    this.name = "ApiError";
  }
}

export interface ApiOptions {
  /** API base, e.g. https://api.github.com or https://releases.example.com/api/v3 (no trailing slash needed). */
  baseUrl: string;
  token?: string;
  /** Called once per request, for counting and the dry-run check; never sees the token. */
  onRequest?: (method: string, url: string) => void;
}

const USER_AGENT = "auditgraph-release-publish";

export class ReleaseApi {
  readonly base: string;
  constructor(private readonly opts: ApiOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, "");
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      accept: "application/vnd.github+json",
      "x-github-api-version": "2022-11-28",
      "user-agent": USER_AGENT,
      ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}),
      ...extra,
    };
  }

  /** Path relative to the base, or an absolute URL the API handed out. */
  private resolve(pathOrUrl: string): string {
    return /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.base}${pathOrUrl}`;
  }

  /** For messages: the URL's path and query, so a message names what failed without the host's noise. */
  private where(url: string): string {
    try {
      const u = new URL(url);
      return u.pathname + u.search;
    } catch {
      return url;
    }
  }

  async send(method: string, pathOrUrl: string, init: { json?: unknown; body?: Blob; contentType?: string; accept?: string; redirect?: "follow" | "manual" } = {}): Promise<Response> {
    const url = this.resolve(pathOrUrl);
    this.opts.onRequest?.(method, url);
    const extra: Record<string, string> = {};
    if (init.json !== undefined) extra["content-type"] = "application/json";
    if (init.body !== undefined) {
      extra["content-type"] = init.contentType ?? "application/octet-stream";
      extra["content-length"] = String(init.body.size);
    }
    if (init.accept) extra.accept = init.accept;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: this.headers(extra),
        body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
        redirect: init.redirect ?? "follow",
      });
    } catch (err) {
      throw new ApiError(0, method, this.where(url), `cannot reach the server (${(err as Error).message.split("\n")[0]})`);
    }
    if (res.status >= 400) {
      let detail = res.statusText || "error";
      const text = await res.text().catch(() => "");
      try {
        const body = JSON.parse(text) as { message?: unknown; errors?: { code?: unknown; message?: unknown }[] };
        if (typeof body.message === "string") detail = body.message;
        const first = body.errors?.[0];
        if (first && typeof first.message === "string") detail += ` (${first.message})`;
        else if (first && typeof first.code === "string") detail += ` (${first.code})`;
      } catch {
        if (text && text.length < 200 && !text.includes("\n")) detail = text;
      }
      throw new ApiError(res.status, method, this.where(url), detail);
    }
    return res;
  }

  async json<T>(method: string, pathOrUrl: string, body?: unknown): Promise<T> {
    const res = await this.send(method, pathOrUrl, body === undefined ? {} : { json: body });
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  /** Every page of a list (GitHub's `Link: <...>; rel="next"`), stopping early when `stop` finds what it wants. */
  async *pages<T>(pathOrUrl: string): AsyncGenerator<T[]> {
    let next: string | undefined = this.resolve(pathOrUrl);
    for (let n = 0; next && n < 1000; n++) {
      const res = await this.send("GET", next);
      yield (await res.json()) as T[];
      next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get("link") ?? "")?.[1];
    }
  }

  /** The release with this tag, drafts included (GitHub's tag lookup does not return drafts, the list does). */
  async findRelease(repo: string, tag: string): Promise<ApiRelease | undefined> {
    try {
      return await this.json<ApiRelease>("GET", `/repos/${repo}/releases/tags/${encodeURIComponent(tag)}`);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) throw err;
    }
    for await (const page of this.pages<ApiRelease>(`/repos/${repo}/releases?per_page=100`)) {
      const hit = page.find((r) => r.tag_name === tag);
      if (hit) return hit;
      if (page.length === 0) break;
    }
    return undefined;
  }

  async listAssets(release: ApiRelease): Promise<ApiAsset[]> {
    const out: ApiAsset[] = [];
    const sep = release.assets_url.includes("?") ? "&" : "?";
    for await (const page of this.pages<ApiAsset>(`${release.assets_url}${sep}per_page=100`)) {
      out.push(...page);
      if (page.length === 0) break;
    }
    return out;
  }

  /** POST to the release's upload_url template (`…/assets{?name,label}`). */
  async upload(release: ApiRelease, name: string, body: Blob, contentType: string): Promise<ApiAsset> {
    const base = release.upload_url.replace(/\{[^}]*\}$/, "");
    const url = `${base}${base.includes("?") ? "&" : "?"}name=${encodeURIComponent(name)}`;
    const res = await this.send("POST", url, { body, contentType });
    return (await res.json()) as ApiAsset;
  }

  /**
   * An asset's bytes through the API (`Accept: application/octet-stream`). GitHub answers with a
   * redirect to storage on another host: that request is sent without our Authorization header.
   */
  async download(asset: ApiAsset): Promise<Response> {
    const res = await this.send("GET", asset.url, { accept: "application/octet-stream", redirect: "manual" });
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      this.opts.onRequest?.("GET", location);
      let out: Response;
      try {
        out = await fetch(new URL(location, asset.url), { headers: { "user-agent": USER_AGENT, accept: "application/octet-stream" } });
      } catch (err) {
        throw new ApiError(0, "GET", asset.name, `cannot download (${(err as Error).message.split("\n")[0]})`);
      }
      if (!out.ok) throw new ApiError(out.status, "GET", asset.name, "download failed");
      return out;
    }
    return res;
  }
}

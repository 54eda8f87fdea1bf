/**
 * A small router: `add(method, "/repos/:owner/:app/releases/:id", handler)` and `match(method, path)`.
 * Segments are split on "/" first and percent-decoded afterwards, so an encoded "%2F" stays inside its
 * segment (an asset named "../x" is looked up as a name, never resolved as a path).
 * Static segments win over parameters, so `/releases/latest` beats `/releases/:id` whatever the order.
 * A parameter written `:name+` takes one or more segments, joined with "/" (a tag such as
 * `app/v1.0.0`, which GitHub serves at `/releases/tags/app/v1.0.0` as well as `app%2Fv1.0.0`);
 * at most one per pattern, the segments after it matched from the path's end.
 */
export type Params = Record<string, string>;

interface Route<H> {
  method: string;
  segments: string[];
  handler: H;
  specificity: number;
}

export interface Match<H> {
  handler: H;
  params: Params;
}

/** What `match` reports when the path exists under other methods: the caller answers 405. */
export interface MethodMismatch {
  allowed: string[];
}

const split = (path: string) => path.split("/").filter(Boolean);

export class Router<H> {
  private routes: Route<H>[] = [];

  add(method: string, pattern: string, handler: H): this {
    const segments = split(pattern);
    const specificity = segments.reduce((n, s) => n * 2 + (s.startsWith(":") ? 0 : 1), 1);
    this.routes.push({ method, segments, handler, specificity });
    this.routes.sort((a, b) => b.specificity - a.specificity);
    return this;
  }

  /** Every registered route as `[method, pattern]` (the OpenAPI contract test compares them; `:tag+` shows as `:tag`). */
  list(): Array<[string, string]> {
    return this.routes.map((r) => [r.method, "/" + r.segments.map((s) => (s.startsWith(":") ? s.replace(/\+$/, "") : s)).join("/")]);
  }

  match(method: string, path: string): Match<H> | MethodMismatch | undefined {
    let parts: string[];
    try {
      parts = split(path).map(decodeURIComponent);
    } catch {
      return undefined; // malformed percent-encoding matches nothing
    }
    const allowed: string[] = [];
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method === method || (method === "HEAD" && route.method === "GET")) return { handler: route.handler, params };
      allowed.push(route.method);
    }
    return allowed.length ? { allowed: [...new Set(allowed)] } : undefined;
  }
}

function matchSegments(pattern: string[], parts: string[]): Params | undefined {
  const rest = pattern.findIndex((p) => p.startsWith(":") && p.endsWith("+"));
  if (rest < 0 ? pattern.length !== parts.length : parts.length < pattern.length) return undefined;
  const extra = parts.length - pattern.length; // segments the rest parameter takes beyond its one
  const params: Params = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const at = rest >= 0 && i > rest ? i + extra : i;
    if (i === rest) params[p.slice(1, -1)] = parts.slice(i, i + extra + 1).join("/");
    else if (p.startsWith(":")) params[p.slice(1)] = parts[at]!;
    else if (p !== parts[at]) return undefined;
  }
  return params;
}

/**
 * A small router: `add(method, "/repos/:owner/:app/releases/:id", handler)` and `match(method, path)`.
 * Segments are split on "/" first and percent-decoded afterwards, so an encoded "%2F" stays inside its
 * segment (an asset named "../x" is looked up as a name, never resolved as a path).
 * Static segments win over parameters, so `/releases/latest` beats `/releases/:id` whatever the order.
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

  /** Every registered route as `[method, pattern]` (the OpenAPI contract test compares them). */
  list(): Array<[string, string]> {
    return this.routes.map((r) => [r.method, "/" + r.segments.join("/")]);
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
  if (pattern.length !== parts.length) return undefined;
  const params: Params = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith(":")) params[p.slice(1)] = parts[i]!;
    else if (p !== parts[i]) return undefined;
  }
  return params;
}

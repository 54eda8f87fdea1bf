/**
 * Canonical JSON: object keys sorted, no insignificant whitespace unless `indent` is given,
 * strings as JSON.stringify writes them (UTF-8, not ASCII-escaped). The same value always gives
 * the same bytes, so it is safe to hash.
 */
export function canonicalJson(value: unknown, indent?: number): string {
  return JSON.stringify(sortKeys(value), null, indent);
}

/** canonicalJson of an array whose items are given as their own canonicalJson (no indent). */
export const canonicalJsonOfItems = (items: readonly string[]): string => `[${items.join(",")}]`;

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object" && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value as object).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  if (typeof value === "number" && !Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number ${value}`);
  return value;
}

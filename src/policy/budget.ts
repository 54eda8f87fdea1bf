/**
 * Disk footprint budget. Pure: the caller measures bytes and passes them in.
 *
 *   limit     = max(source_bytes, 1 MiB) * multiplier
 *   projected = usage_bytes + additional_bytes   (bytes this operation would add, not yet on disk)
 *   ratio     = projected / limit
 *   status    = block if ratio >= block_threshold, warn if ratio >= warn_threshold, else ok
 */
export const MIN_SOURCE_BYTES = 1024 * 1024;

export type BudgetSettings = { multiplier: number; warn_threshold: number; block_threshold: number };
export const DEFAULT_BUDGET: BudgetSettings = { multiplier: 3.0, warn_threshold: 0.8, block_threshold: 1.0 };

/** Exactly the fields of the `budget` object in --json output. */
export type Budget = {
  status: "ok" | "warn" | "block";
  source_bytes: number;
  usage_bytes: number;
  projected_bytes: number;
  limit_bytes: number;
  ratio: number;
  warn_threshold: number;
  block_threshold: number;
};

export function evaluateBudget(
  facts: { sourceBytes: number; usageBytes: number; additionalBytes: number },
  settings: BudgetSettings = DEFAULT_BUDGET,
): Budget {
  const source = Math.max(facts.sourceBytes, MIN_SOURCE_BYTES);
  const limit = Math.floor(source * settings.multiplier);
  const projected = facts.usageBytes + facts.additionalBytes;
  const ratio = limit > 0 ? projected / limit : Infinity;
  const status = ratio >= settings.block_threshold ? "block" : ratio >= settings.warn_threshold ? "warn" : "ok";
  return {
    status,
    source_bytes: facts.sourceBytes,
    usage_bytes: facts.usageBytes,
    projected_bytes: projected,
    limit_bytes: limit,
    ratio: Math.round(ratio * 1e6) / 1e6,
    warn_threshold: settings.warn_threshold,
    block_threshold: settings.block_threshold,
  };
}

export function humanBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** The warning or block text (FR-010): usage, projected, limit, ratio, both thresholds, and the way out. */
export function budgetMessage(b: Budget, profileDir: string): string {
  const fmt = (n: number) => `${n} bytes (${humanBytes(n)})`;
  const head = b.status === "block"
    ? `disk budget exceeded for ${profileDir}: nothing was written`
    : `disk budget warning for ${profileDir}`;
  return (
    `${head}: usage ${fmt(b.usage_bytes)}, projected ${fmt(b.projected_bytes)}, limit ${fmt(b.limit_bytes)}, ` +
    `ratio ${b.ratio.toFixed(3)} (warn at ${b.warn_threshold}, block at ${b.block_threshold}); ` +
    `raise storage.footprint_budget.multiplier or free room with 'auditgraph runs prune --keep N'`
  );
}

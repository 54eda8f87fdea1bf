/**
 * Disk footprint budget. Pure: the caller measures bytes and passes them in.
 *
 *   limit     = max(1, floor(max(source_bytes, 1 MiB) * multiplier))
 *   projected = usage_bytes + additional_bytes   (bytes this operation would add, not yet on disk)
 *   ratio     = projected / limit
 *   status    = block if ratio >= block_threshold, warn if ratio >= warn_threshold, else ok
 */
import { AgError, ExitCode } from "../shared/errors.ts";

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

export type BudgetFacts = { sourceBytes: number; usageBytes: number; additionalBytes: number };

export function evaluateBudget(facts: BudgetFacts, settings: BudgetSettings = DEFAULT_BUDGET): Budget {
  const source = Math.max(facts.sourceBytes, MIN_SOURCE_BYTES);
  const limit = Math.max(1, Math.floor(source * settings.multiplier));
  const projected = facts.usageBytes + facts.additionalBytes;
  const ratio = projected / limit;
  const status = ratio >= settings.block_threshold ? "block" : ratio >= settings.warn_threshold ? "warn" : "ok";
  return {
    status,
    source_bytes: facts.sourceBytes,
    usage_bytes: facts.usageBytes,
    projected_bytes: projected,
    limit_bytes: limit,
    ratio,
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

/** A ratio for people: four decimals, rounded down so that a threshold never looks reached when it is not. */
export const showRatio = (r: number) => (Math.floor(r * 1e4) / 1e4).toFixed(4);

/** Usage, projected, limit, ratio and both thresholds, in bytes and human units (FR-010). */
export function budgetFigures(b: Budget): string {
  const fmt = (n: number) => `${n} bytes (${humanBytes(n)})`;
  const at = (t: number) => `${t} = ${fmt(Math.ceil(b.limit_bytes * t))}`;
  return (
    `usage ${fmt(b.usage_bytes)}, projected ${fmt(b.projected_bytes)}, limit ${fmt(b.limit_bytes)}, ` +
    `ratio ${showRatio(b.ratio)} (warn at ${at(b.warn_threshold)}, block at ${at(b.block_threshold)})`
  );
}

/** The warning or block text: the figures and the way out. */
export function budgetMessage(b: Budget, profileDir: string): string {
  const head = b.status === "block"
    ? `disk budget exceeded for ${profileDir}, nothing was written`
    : `disk budget warning for ${profileDir}`;
  return `${head}: ${budgetFigures(b)}; raise storage.footprint_budget.multiplier or free room with 'auditgraph runs prune --keep N'`;
}

/**
 * The gate of every command that writes derived artifacts, called before it writes anything:
 * block → exit 4 with the figures; warn → the warning text (for stderr); ok → nothing to say.
 */
export function budgetGate(facts: BudgetFacts, settings: BudgetSettings, profileDir: string): { budget: Budget; warning?: string } {
  const budget = evaluateBudget(facts, settings);
  if (budget.status === "block") {
    throw new AgError(budgetMessage(budget, profileDir), { exitCode: ExitCode.budget, code: "budget_block", details: { budget } });
  }
  return { budget, ...(budget.status === "warn" ? { warning: budgetMessage(budget, profileDir) } : {}) };
}

/** Source bytes of a run: the bytes of the files it ingested (skipped files do not count). */
export const ingestedBytes = (files: readonly { status: string; bytes: number }[]) =>
  files.reduce((s, f) => s + (f.status === "ok" ? f.bytes : 0), 0);

import { describe, expect, test } from "bun:test";
import { decideCompat, incompatMessage, type CompatDecision, type StoreSchemaFact } from "./compat.ts";
import { budgetGate, budgetMessage, evaluateBudget, MIN_SOURCE_BYTES } from "./budget.ts";
import { AgError } from "../shared/errors.ts";

describe("decideCompat", () => {
  const bin = "1.2.0";
  test.each<[StoreSchemaFact, boolean, CompatDecision["reason"]]>([
    [{ kind: "empty" } as const, true, "empty"],
    [{ kind: "version", version: "1.2.0" } as const, true, "same"],
    [{ kind: "version", version: "1.0.3" } as const, true, "older_minor"],
    [{ kind: "version", version: "1.3.0" } as const, false, "newer"],
    [{ kind: "version", version: "2.0.0" } as const, false, "newer"],
    [{ kind: "version", version: "0.9.0" } as const, false, "different_major"],
    [{ kind: "version", version: "v1" } as const, false, "invalid_version"],
    [{ kind: "missing" } as const, false, "missing"],
    [{ kind: "no_version" } as const, false, "no_version"],
    [{ kind: "unreadable", reason: "x" } as const, false, "unreadable"],
  ])("%o", (fact, compatible, reason) => {
    const d = decideCompat(fact, bin);
    expect(d.compatible).toBe(compatible);
    expect(d.reason).toBe(reason);
  });
});

describe("evaluateBudget", () => {
  const s = { multiplier: 1, warn_threshold: 0.8, block_threshold: 1 };
  test("1 MiB minimum source", () => {
    const b = evaluateBudget({ sourceBytes: 10, usageBytes: 0, additionalBytes: 0 }, s);
    expect(b.limit_bytes).toBe(MIN_SOURCE_BYTES);
    expect(b.source_bytes).toBe(10);
  });
  test("exact thresholds: 0.8 warns, 1.0 blocks, just below is ok", () => {
    const L = 1000 * 1024 * 1024;
    expect(evaluateBudget({ sourceBytes: L, usageBytes: 0.8 * L - 1, additionalBytes: 0 }, s).status).toBe("ok");
    expect(evaluateBudget({ sourceBytes: L, usageBytes: 0.8 * L, additionalBytes: 0 }, s).status).toBe("warn");
    expect(evaluateBudget({ sourceBytes: L, usageBytes: L - 1, additionalBytes: 0 }, s).status).toBe("warn");
    expect(evaluateBudget({ sourceBytes: L, usageBytes: L / 2, additionalBytes: L / 2 }, s).status).toBe("block");
  });
});

describe("messages", () => {
  test("an incompatible store names the store version, the binary version and the command", () => {
    const m = incompatMessage(decideCompat({ kind: "version", version: "2.1.0" }, "1.0.0"), "/w/.pkg/profiles/default");
    expect(m).toContain("store schema 2.1.0, this binary 1.0.0");
    expect(m).toContain("'auditgraph rebuild'");
    const u = incompatMessage(decideCompat({ kind: "unreadable", reason: "schema_version is a number, not a string" }, "1.0.0"), "/p");
    expect(u).toContain("store schema unreadable");
    expect(u).toContain("schema_version is a number");
  });
  test("the block message has every figure in bytes and human units and the way out; the gate throws exit 4", () => {
    const s = { multiplier: 1, warn_threshold: 0.8, block_threshold: 1 };
    const b = evaluateBudget({ sourceBytes: 2 * MIN_SOURCE_BYTES, usageBytes: 2 * MIN_SOURCE_BYTES, additionalBytes: 1 }, s);
    const m = budgetMessage(b, "/p");
    for (const part of ["usage 2097152 bytes (2.0 MiB)", "projected 2097153 bytes", "limit 2097152 bytes (2.0 MiB)", "ratio 1.0000", "warn at 0.8 = 1677722 bytes", "block at 1 = 2097152 bytes", "runs prune"]) {
      expect(m).toContain(part);
    }
    let err: unknown;
    try { budgetGate({ sourceBytes: 0, usageBytes: MIN_SOURCE_BYTES, additionalBytes: 0 }, s, "/p"); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(AgError);
    expect((err as AgError).exitCode).toBe(4);
    expect(budgetGate({ sourceBytes: 0, usageBytes: MIN_SOURCE_BYTES * 0.8, additionalBytes: 0 }, s, "/p").warning).toContain("disk budget warning");
    expect(budgetGate({ sourceBytes: 0, usageBytes: 10, additionalBytes: 0 }, s, "/p").warning).toBeUndefined();
  });
});

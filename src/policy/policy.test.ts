import { describe, expect, test } from "bun:test";
import { decideCompat } from "./compat.ts";
import { evaluateBudget, MIN_SOURCE_BYTES } from "./budget.ts";

describe("decideCompat", () => {
  const bin = "1.2.0";
  test.each([
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

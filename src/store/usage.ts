/** Bytes of every file under a directory (the budget's "usage"). Missing directory → 0. */
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";

export function measureUsage(dir: string): number {
  let total = 0;
  let names: string[];
  try { names = readdirSync(dir); } catch { return 0; }
  for (const n of names) {
    const p = join(dir, n);
    let st;
    try { st = lstatSync(p); } catch { continue; }
    total += st.isDirectory() ? measureUsage(p) : st.size;
  }
  return total;
}

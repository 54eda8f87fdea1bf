// Damaged index and text segments: a read that meets a damaged block stops with exit 5 and one line
// naming the object (each block's address carries a crc32 checked on every read); a read that does
// not touch the damage answers as before. Never a stack trace, never a wrong answer in silence.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, expectOneLineError, workspace } from "../helpers/cli.ts";

let root: string;
let objects: string[];
let exported: string;
beforeAll(() => {
  root = workspace();
  expect(cli(["ingest", "--root", root]).code).toBe(0);
  // Two index and two text segments of the run (every object costs a few CLI runs per damage).
  const m = cli(["runs", "show", cli(["runs", "list", "--root", root, "--json"]).json.runs[0].run_id, "--root", root, "--json"]).json;
  const pick = (kind: string) => m.artifacts.filter((a: any) => a.name.startsWith(kind)).slice(0, 2).map((a: any) => join(root, ".pkg/profiles/default/objects", a.sha256.slice(0, 2), a.sha256));
  objects = [...pick("index/"), ...pick("text/")];
  exported = cli(["export", "--root", root]).stdout;
});
afterAll(cleanup);

/** [name, damage, whether every object's damage is met by some read] */
const damages: [string, (b: Buffer) => Buffer, boolean][] = [
  ["truncated to half", (b) => b.subarray(0, b.length >> 1), true],
  ["a byte flipped in the middle", (b) => { const c = Buffer.from(b); c[c.length >> 1]! ^= 0xff; return c; }, false],
  ["a byte flipped in the header", (b) => { const c = Buffer.from(b); c[20]! ^= 0x01; return c; }, true],
];

describe("damaged segments", () => {
  test.each(damages)("%s: every read either answers exactly as before or exits 5 with one line", (_name, damage, alwaysMet) => {
    const reads = [["export"], ["query", "postgresql", "--limit", "50"], ["node", "tech_postgresql"]];
    let refused = 0;
    for (const obj of objects) {
      const good = readFileSync(obj);
      writeFileSync(obj, damage(good));
      try {
        for (const args of reads) {
          const r = cli([...args, "--root", root]);
          expect([0, 5]).toContain(r.code);
          if (r.code === 5) {
            refused++;
            expect(expectOneLineError(r)).toContain(`object ${obj} is corrupt`);
          } else if (args[0] === "export") {
            expect(r.stdout).toBe(exported);
          }
        }
      } finally {
        writeFileSync(obj, good);
      }
    }
    // Header damage and truncation are met by every read that opens the segment; a flipped byte
    // only by reads of its block.
    if (alwaysMet) expect(refused).toBeGreaterThanOrEqual(objects.length);
    else expect(refused).toBeGreaterThan(0);
  }, 60_000);
});

describe("verify", () => {
  test("an artifact whose bytes hash to its name but are not a segment is reported (exit 5); the store is otherwise left alone", () => {
    const w = workspace();
    expect(cli(["ingest", "--root", w]).code).toBe(0);
    const pd = join(w, ".pkg/profiles/default");
    const run = readFileSync(join(pd, "current"), "utf8").trim();
    const mp = join(pd, "runs", run, "manifest.json");
    const m = JSON.parse(readFileSync(mp, "utf8"));
    const bad = Buffer.from("AGSEG01\nnot really a segment");
    const sha = new Bun.CryptoHasher("sha256").update(bad).digest("hex");
    mkdirSync(join(pd, "objects", sha.slice(0, 2)), { recursive: true });
    writeFileSync(join(pd, "objects", sha.slice(0, 2), sha), bad);
    const a = m.artifacts.find((x: any) => x.name.startsWith("index/"));
    Object.assign(a, { sha256: sha, bytes: bad.length });
    writeFileSync(mp, JSON.stringify(m, null, 2) + "\n");
    const r = cli(["verify", "--root", w, "--json"]);
    expect(r.code).toBe(5);
    expect(r.json.problems.some((p: any) => p.kind === "mismatch" && p.detail.includes(`artifact ${a.name} of ${run} is not a readable segment`))).toBe(true);
  });
});

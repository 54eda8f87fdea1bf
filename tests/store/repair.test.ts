// Repairing a store: a damaged object that a run builds again is rewritten (rebuild builds every
// object it references); an object that cannot be put in place is reported as that, with the
// temp files removed and the store as it was.
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, cli, expectOneLineError, treeHash, workspace, ingested } from "../helpers/cli.ts";

afterAll(cleanup);

const profileOf = (root: string) => join(root, ".pkg/profiles/default");
const currentOf = (root: string) => readFileSync(join(profileOf(root), "current"), "utf8").trim();
const manifestOf = (root: string, id = currentOf(root)) => JSON.parse(readFileSync(join(profileOf(root), "runs", id, "manifest.json"), "utf8"));
const objectOf = (root: string, sha: string) => join(profileOf(root), "objects", sha.slice(0, 2), sha);
const sha256 = (p: string) => new Bun.CryptoHasher("sha256").update(readFileSync(p)).digest("hex");
/** Flips one byte in the middle of a file (a segment's blocks are there: its checksums catch it). */
const flipByte = (p: string) => { const b = readFileSync(p); b[b.length >> 1]! ^= 0xff; writeFileSync(p, b); };

describe("a damaged object", () => {
  test("rebuild rewrites it from the sources: verify passes and reads work again", () => {
    const root = ingested();
    const sha = manifestOf(root).artifacts.find((a: any) => a.name === "index/00").sha256;
    flipByte(objectOf(root, sha));
    const damaged = cli(["verify", "--root", root]);
    expect(damaged.code).toBe(5);
    expect(damaged.stderr).toContain("hint: 'auditgraph rebuild'"); // verify points at the repair

    const r = cli(["rebuild", "--root", root, "--json"]);
    expect(r.code).toBe(0);
    expect(r.json.repaired_objects).toBe(1);
    // The same sources give the same object: the new run names it, and its bytes are sound again.
    expect(manifestOf(root).artifacts.find((a: any) => a.name === "index/00").sha256).toBe(sha);
    expect(sha256(objectOf(root, sha))).toBe(sha);
    const v = cli(["verify", "--root", root, "--json"]);
    expect(v.json.problems).toEqual([]);
    expect(v.code).toBe(0);
    expect(cli(["query", "idempotent", "--root", root]).code).toBe(0);
    expect(cli(["rebuild", "--root", root]).stdout).toMatch(/0 new objects/); // nothing left to repair
  }, 60_000);

  test("an ingest that builds a damaged object again rewrites it (objects a run writes are hashed, not trusted by name)", () => {
    const root = workspace();
    const first = cli(["ingest", "--root", root, "--json"]).json;
    const note = join(root, "notes/runbook.md");
    const original = readFileSync(note);
    writeFileSync(note, original + "\nOne more line.\n");
    expect(cli(["ingest", "--root", root]).code).toBe(0);
    // The first run's objects of the edited file's shard: no longer current, then damaged.
    const now = new Set(manifestOf(root).artifacts.map((a: any) => a.sha256));
    const old = manifestOf(root, first.run_id).artifacts.filter((a: any) => !now.has(a.sha256));
    expect(old.length).toBe(2);
    for (const a of old) flipByte(objectOf(root, a.sha256));
    // Back to the first contents: the run builds the same objects and finds the damaged copies.
    writeFileSync(note, original);
    const r = cli(["ingest", "--root", root, "--json"]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ run_id: first.run_id, repaired_objects: 2 });
    for (const a of old) expect(sha256(objectOf(root, a.sha256))).toBe(a.sha256);
    expect(cli(["verify", "--root", root]).code).toBe(0);
  }, 60_000);
});

describe("an object that cannot be put in place", () => {
  test("a file where its fan-out directory should be: the error names the object, temp files go, the store is as it was", () => {
    const root = workspace();
    const first = cli(["ingest", "--root", root, "--json"]).json;
    const pd = profileOf(root);
    const sha = manifestOf(root).artifacts.find((a: any) => a.name === "text/01").sha256;
    const fan = join(pd, "objects", sha.slice(0, 2));
    rmSync(fan, { recursive: true });
    writeFileSync(fan, "x\n");
    const before = treeHash(join(root, ".pkg"));

    // The workspace is unchanged, so the run repairing the missing object has the current run's id:
    // the failure is in writing the object, not after the pointer.
    const r = cli(["ingest", "--root", root]);
    expect(r.code).toBe(1);
    const line = expectOneLineError(r);
    expect(line).toContain(`writing object ${objectOf(root, sha)} of run ${first.run_id} failed`);
    expect(line).toContain("EEXIST");
    expect(line).toContain("the store is unchanged");
    expect(line).not.toContain("is written and current");
    expect(r.stderr).toContain("hint: run 'auditgraph verify'");
    expect(r.stderr).not.toContain("free disk space");
    expect(readdirSync(pd).filter((n) => n.startsWith(".tmp-"))).toEqual([]);
    expect(treeHash(join(root, ".pkg"))).toEqual(before);

    // With the file gone, the next ingest repairs the run.
    rmSync(fan);
    expect(cli(["ingest", "--root", root, "--json"]).json.run_id).toBe(first.run_id);
    expect(cli(["verify", "--root", root]).code).toBe(0);
  }, 60_000);
});

// Crash safety: SIGKILL an ingest while it writes; the previous run stays current and intact,
// `verify` is clean, and the next ingest completes.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, cleanup, cli, spawnCli, tempDir, workspace } from "../helpers/cli.ts";

afterAll(cleanup);

const countObjects = (pd: string) => {
  let n = 0;
  try { for (const d of readdirSync(join(pd, "objects"))) n += readdirSync(join(pd, "objects", d)).length; } catch {}
  return n;
};

test("SIGKILL mid-ingest leaves the previous run intact and verify clean", async () => {
  const root = workspace();
  const first = cli(["ingest", "--root", root, "--json"]).json;
  const pd = join(root, ".pkg/profiles/default");
  const manifestBefore = readFileSync(join(pd, "runs", first.run_id, "manifest.json"));
  // A workspace big enough that the run takes a while: ~1,200 notes, 14 MB.
  const words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau".split(" ");
  for (let d = 0; d < 12; d++) {
    mkdirSync(join(root, "notes", `gen${d}`), { recursive: true });
    for (let i = 0; i < 100; i++) {
      let body = `# Generated ${d}-${i}\n\n`;
      for (let k = 0; k < 1800; k++) body += words[(k * 7 + i * 13 + d) % words.length] + (k % 15 === 14 ? "\n" : " ") + (k % 97 === 0 ? `n${d}x${i}y${k} ` : "");
      writeFileSync(join(root, "notes", `gen${d}`, `n${i}.md`), body);
    }
  }
  const base = countObjects(pd);
  const child = spawnCli(["ingest", "--root", root]);
  // Kill as soon as the run starts writing objects (or after 20 s at the latest).
  const deadline = Date.now() + 20_000;
  while (countObjects(pd) === base && Date.now() < deadline) await Bun.sleep(5);
  child.kill("SIGKILL");
  expect(await child.exited).not.toBe(0);
  expect(child.signalCode).toBe("SIGKILL");

  expect(readFileSync(join(pd, "current"), "utf8").trim()).toBe(first.run_id);
  expect(readFileSync(join(pd, "runs", first.run_id, "manifest.json"))).toEqual(manifestBefore);
  const v = cli(["verify", "--root", root, "--json"]);
  expect(v.json.problems).toEqual([]);
  expect(v.code).toBe(0);
  // the kill did land mid-write: objects no run references, or (killed sooner, on a loaded machine)
  // the run's temp object directory
  expect(v.json.notes.join("\n")).toMatch(/not referenced by any run|leftover temp directory .*\.tmp-objects/);
  expect(cli(["query", "--root", root, "idempotent", "--json"]).json.run_id).toBe(first.run_id);

  // The interrupted work is redone; the store ends verified with the new run current.
  const again = cli(["ingest", "--root", root, "--json"]);
  expect(again.code).toBe(0);
  expect(again.json.counts.ok).toBe(1206);
  expect(readFileSync(join(pd, "current"), "utf8").trim()).toBe(again.json.run_id);
  expect(cli(["verify", "--root", root]).code).toBe(0);
}, 60_000);

test("the exit code stands when the reader of the output has gone (EPIPE): an error is not turned into success", () => {
  const root = tempDir();
  // Each pipe's reader exits at once; bash reports the CLI's own status.
  const status = (cmd: string) => {
    const r = Bun.spawnSync(["bash", "-c", `${cmd}; echo "status \${PIPESTATUS[0]}"`], { env: { ...process.env, NO_COLOR: "1" } });
    return r.stdout.toString().trim().split("\n").pop();
  };
  const ag = `bun ${JSON.stringify(CLI)}`;
  // The CLI starts after the reader has exited, so every write meets a closed pipe.
  const late = (args: string) => `(sleep 0.3; exec ${ag} ${args})`;
  expect(status(`${late(`ingest --root ${root}/missing`)} 2>&1 | true`)).toBe("status 2");
  expect(status(`${late(`query x --root ${root}/missing --json`)} 2>/dev/null | true`)).toBe("status 2");
  expect(status(`${late("")} | true`)).toBe("status 2"); // usage, no command
});

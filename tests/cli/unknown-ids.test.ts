// `node`, `neighbors`, `why-connected` (either end) and `export --subgraph` agree on which ids exist:
// every id shape of a real node is found by all of them, and an id that names no node (a document id
// with an `_n` suffix, a decision with one, a section or chunk without one or with an index that is
// not one, an unknown technology, reference or module, garbage) is the same one-line not-found error,
// exit 2, from each.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cleanup, cli, cliAsync, expectOneLineError, inParallel, workspace } from "../helpers/cli.ts";

afterAll(cleanup);

let root: string;
let runId: string;
const real: Record<string, string> = {};
beforeAll(() => {
  root = workspace();
  runId = cli(["ingest", "--root", root, "--json"]).json.run_id;
  for (const n of cli(["export", "--root", root]).json.nodes) real[n.type] ??= n.id;
});

const commands = (id: string) => [
  ["node", id], ["neighbors", id], ["why-connected", id, "tech_kafka"], ["why-connected", "tech_kafka", id], ["export", "--subgraph", id],
];

test("a real node of every type is found by every command", async () => {
  expect(Object.keys(real).sort()).toEqual(["chunk", "claim", "decision", "document", "module", "reference", "section", "symbol", "technology"]);
  const runs = Object.values(real).flatMap((id) => commands(id).map((args) => ({ id, args })));
  const results = await inParallel(runs, (r) => cliAsync([...r.args, "--root", root]), 2);
  results.forEach((r, i) => expect({ args: runs[i]!.args, code: r.code, stderr: r.stderr }).toEqual({ args: runs[i]!.args, code: 0, stderr: "" }));
});

test("an id that names no node: the same not-found line and exit 2 from every command", async () => {
  const key = (id: string) => id.split("_")[1]!;
  const zeros = "0".repeat(20);
  const unknown = [
    `${real.document}_0`, `${real.document}_7`, `doc_${zeros}`,
    `${real.decision}_0`, `sec_${key(real.section!)}`, `sec_${key(real.section!)}_00`, `sec_${key(real.section!)}_999`,
    `chk_${key(real.chunk!)}_999`, `clm_${key(real.claim!)}`, `sym_${key(real.symbol!)}_999`,
    "tech_nope", "tech_", `ref_${zeros}`, `mod_${zeros}`, "garbage", "commit_", "TECH_KAFKA",
  ];
  const runs = unknown.flatMap((id) => commands(id).map((args) => ({ id, args })));
  const results = await inParallel(runs, (r) => cliAsync([...r.args, "--root", root]), 2);
  results.forEach((r, i) => {
    const { id, args } = runs[i]!;
    expect({ args, code: r.code }).toEqual({ args, code: 2 });
    expect({ args, line: expectOneLineError(r) }).toEqual({ args, line: `error: node '${id}' not found in run ${runId}` });
    expect({ args, stdout: r.stdout }).toEqual({ args, stdout: "" });
  });
});

// Which commands keep the executable's start-up JIT policy (src/shared/jit.ts): the short reads do,
// every other command asks for the normal policy before it runs. Driven in process through main(),
// with Bun.unsafe.setJITPolicy watched (and made a no-op: the test process keeps its own policy).
import { afterAll, afterEach, beforeAll, expect, spyOn, test } from "bun:test";
import { main, root, SHORT_READS } from "../../src/cli/main.ts";
import { cleanup, tempDir } from "../helpers/cli.ts";

afterAll(cleanup);
let spy: ReturnType<typeof spyOn>;
let empty: string;
beforeAll(() => {
  spy = spyOn(Bun.unsafe, "setJITPolicy").mockImplementation(() => {});
  empty = tempDir("ag-jit-"); // no store: each command fails after choosing its policy, and nothing is written
});
afterEach(() => spy.mockClear());
afterAll(() => spy.mockRestore());

test("every short read is a command of auditgraph (a rename would silently change its policy)", () => {
  for (const name of SHORT_READS) expect([name, name in (root.subCommands as object)]).toEqual([name, true]);
});

test("short reads keep the start-up policy; export, verify, runs list and git log ask for the normal one", async () => {
  for (const args of [["version"], ["query", "x", "--root", empty], ["node", "doc_x", "--root", empty], ["list", "--root", empty]]) {
    spy.mockClear();
    await main(args);
    expect([args[0], spy.mock.calls.length]).toEqual([args[0], 0]);
  }
  for (const args of [["export", "--root", empty], ["verify", "--root", empty], ["runs", "list", "--root", empty], ["git", "log", "x", "--root", empty]]) {
    spy.mockClear();
    await main(args);
    expect([args.slice(0, 2).join(" "), spy.mock.calls]).toEqual([args.slice(0, 2).join(" "), [[1]]]);
  }
});

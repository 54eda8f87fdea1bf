// `auditgraph ui --open` on Linux: the real CLI runs `xdg-open URL`. Here a fake `xdg-open` first on
// PATH (a shell script that writes its arguments to a file) stands in for the desktop's opener; and
// with no opener on PATH at all, the command warns in one line and serves anyway.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, tempDir } from "../helpers/cli.ts";
import { apiGet, body, makeWorkspace, startUi, type Ui } from "./support.ts";

// macOS runs `open`, Windows `cmd /c start`: only the xdg-open branch is tested here.
const linuxLike = process.platform !== "darwin" && process.platform !== "win32";

let ws: { root: string; runId: string };
beforeAll(() => { ws = makeWorkspace(); }, 30_000);
afterAll(() => cleanup());

/** Waits until `f` returns something, at most `ms`. */
async function until<T>(f: () => T | undefined, ms = 10_000): Promise<T | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined || Date.now() > end) return v;
    await Bun.sleep(25);
  }
}

const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

test.skipIf(!linuxLike)("--open runs xdg-open from PATH with the printed URL, token included", async () => {
  const bin = tempDir("ag-ui-opener-");
  const record = join(tempDir("ag-ui-opened-"), "argv");
  // argc, then each argument on its own line; written to a temp name and renamed, so a half-written file is never read
  writeFileSync(join(bin, "xdg-open"), `#!/bin/sh\nprintf '%s\\n' "$#" "$@" > '${record}.tmp' && mv '${record}.tmp' '${record}'\n`);
  chmodSync(join(bin, "xdg-open"), 0o755);
  let ui: Ui | undefined;
  try {
    ui = await startUi(ws.root, { args: ["--open"], env: { PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}` } });
    const got = await until(() => (existsSync(record) ? readFileSync(record, "utf8") : undefined));
    expect(got).toBe(`1\n${ui.url}\n`);
    expect(ui.url).toContain(`?token=${ui.token}`);
    expect(ui.stderr()).not.toContain("could not start");
    // the page it opened works with that token
    expect((await body(apiGet(ui, "/api/status"))).run_id).toBe(ws.runId);
  } finally {
    await ui?.stop();
  }
}, 30_000);

test.skipIf(!linuxLike)("--open without an opener on PATH warns in one line and serves anyway", async () => {
  const empty = tempDir("ag-ui-nopath-");
  let ui: Ui | undefined;
  try {
    ui = await startUi(ws.root, { args: ["--open"], env: { PATH: empty } });
    const warned = await until(() => (ui!.stderr().includes("could not start") ? stripAnsi(ui!.stderr()) : undefined));
    expect(warned).toBeDefined();
    const lines = warned!.split("\n").filter((l) => l.includes("xdg-open"));
    expect(lines).toEqual(["warning: could not start xdg-open: open the URL above yourself"]);
    expect(ui.proc.exitCode).toBeNull();
    const page = await fetch(`${ui.base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<main");
    const status = await apiGet(ui, "/api/status");
    expect(status.status).toBe(200);
    expect((await body(status)).run_id).toBe(ws.runId);
  } finally {
    await ui?.stop();
  }
}, 30_000);

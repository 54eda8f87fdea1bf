// The background check is started after the notice cache records it: written after, the cache could
// land after the check's own record and erase it (a clean-clone CI run saw the check's result lost).
// In process, with Bun.spawn standing in for the check: what the cache holds when the check starts.
import { afterAll, afterEach, expect, spyOn, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cachePath, updateNotice } from "../../src/upgrade/notice.ts";

const dir = mkdtempSync(join(tmpdir(), "ag-notice-order-"));
afterAll(() => { spawn.mockRestore(); rmSync(dir, { recursive: true, force: true }); });
const spawn = spyOn(Bun, "spawn");
afterEach(() => spawn.mockReset());

test("the cache holds started_at when the check starts, and the check is the upgrade --check of this executable", () => {
  const env = { HOME: dir, XDG_CACHE_HOME: join(dir, "cache"), PATH: process.env.PATH ?? "" };
  const now = Date.now();
  let seen: unknown;
  let args: unknown;
  spawn.mockImplementation(((cmd: string[]) => {
    args = cmd.slice(1);
    seen = JSON.parse(readFileSync(cachePath(env)!, "utf8"));
    return { unref() {} };
  }) as unknown as typeof Bun.spawn);
  updateNotice(() => {}, env, now);
  expect(args).toEqual(["upgrade", "--check", "--json"]);
  expect(seen).toMatchObject({ started_at: now });
  // Within the day: no second check.
  spawn.mockClear();
  updateNotice(() => {}, env, now + 1000);
  expect(spawn).not.toHaveBeenCalled();
});

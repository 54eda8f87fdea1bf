// Shared bits of the `auditgraph ui` tests: a small workspace with a hostile note, the real `ui`
// command started as a process (from source, or a compiled executable), and a way to make the
// store incompatible the way another version would (a new current run of another schema).
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AG, cli, tempDir } from "../helpers/cli.ts";

/** A note whose front matter, title, body and links try to run script; none of it may. */
export const HOSTILE = [
  "---",
  'title: "<img src=x onerror=\'window.__pwned=1;alert(1)\'>Evil title"',
  "tags: [\"<script>window.__pwned=2</script>\", danger]",
  'owner: "<svg onload=window.__pwned=3>"',
  "---",
  "# <script>window.__pwned=4;alert(4)</script> heading",
  "",
  "Zebrafish <script>window.__pwned=5</script> body text with <img src=x onerror=\"window.__pwned=6\"> inline.",
  "",
  "A [javascript link](javascript:window.__pwned=7) and <a href=\"javascript:window.__pwned=8\">raw anchor</a>.",
  "",
].join("\n");

/** A fresh workspace with a few linked notes (and the hostile one), ingested once. */
export function makeWorkspace(): { root: string; runId: string } {
  const root = tempDir("ag-ui-");
  const w = (p: string, text: string) => { mkdirSync(join(root, p, ".."), { recursive: true }); writeFileSync(join(root, p), text); };
  w("notes/alpha.md", "---\ntitle: Alpha plan\ntags: [security, infra]\n---\n# Alpha plan\n\nWe run Postgres and Redis for the billing service.\nSee [beta](sub/beta.md) and [gamma](gamma.md).\n\n## Risks\n\nPostgres failover is manual.\n");
  w("notes/sub/beta.md", "# Beta design\n\nBeta uses Kafka and Postgres replicas.\nBack to [alpha](../alpha.md).\n");
  w("notes/gamma.md", "# Gamma\n\nGamma mentions Kubernetes and Postgres once.\n");
  w("docs/postgres-guide.md", "# Postgres guide\n\nPostgres tuning notes: vacuum, indexes, postgres connections.\n");
  w("notes/evil.md", HOSTILE);
  // A right-to-left override in a file name and a heading: shown escaped, it cannot reorder what is around it.
  w("notes/rtl\u202edm.txt", "Zanzibar field notes\n");
  w("notes/ctl.md", "# Other \u202egnp.exe\n\nZanzibar again, \u001b[31mred\u001b[0m.\n");
  const r = cli(["ingest", "--root", root]);
  if (r.code !== 0) throw new Error(`ingest failed: ${r.stderr}`);
  return { root, runId: currentRun(root) };
}

export const currentRun = (root: string) => readFileSync(join(root, ".pkg/profiles/default/current"), "utf8").trim();

/** What another (newer, incompatible) version leaves behind: a new run of schema 3.0.0 made current. */
export function makeIncompatible(root: string): string {
  const prof = join(root, ".pkg/profiles/default");
  const cur = currentRun(root);
  const id = "run_" + "f".repeat(32);
  cpSync(join(prof, "runs", cur), join(prof, "runs", id), { recursive: true });
  const m = JSON.parse(readFileSync(join(prof, "runs", id, "manifest.json"), "utf8"));
  writeFileSync(join(prof, "runs", id, "manifest.json"), JSON.stringify({ ...m, run_id: id, schema_version: "3.0.0" }));
  writeFileSync(join(prof, "current"), id + "\n");
  return id;
}

export type Ui = { url: string; base: string; token: string; host: string; proc: Bun.Subprocess; stderr: () => string; stop(): Promise<void> };

/** Starts `auditgraph ui --root ROOT` (or `exe ui …`, with `args`, and `env` over the caller's environment) and reads the URL it prints. */
export async function startUi(root: string, opts: { exe?: string; args?: string[]; env?: Record<string, string> } = {}): Promise<Ui> {
  const cmd = opts.exe ? [opts.exe, "ui", "--root", root, ...(opts.args ?? [])] : [...AG, "ui", "--root", root, ...(opts.args ?? [])];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("AUDITGRAPH_")) env[k] = v;
  const proc = Bun.spawn(cmd, { cwd: opts.exe ? root : undefined, stdout: "pipe", stderr: "pipe", env: { ...env, AUDITGRAPH_NO_UPDATE_CHECK: "1", ...opts.env } });
  let err = "";
  void (async () => { for await (const c of proc.stderr as ReadableStream<Uint8Array>) err += new TextDecoder().decode(c); })();
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let out = "";
  const deadline = Date.now() + 30_000;
  while (!out.includes("\n")) {
    const r = await Promise.race([reader.read(), Bun.sleep(Math.max(1, deadline - Date.now())).then(() => undefined)]);
    if (!r || r.done) { proc.kill(); throw new Error(`auditgraph ui printed no URL: ${out}${err}`); }
    out += new TextDecoder().decode(r.value);
  }
  reader.releaseLock();
  const url = out.split("\n")[0]!.trim();
  const u = new URL(url);
  return {
    url, base: u.origin, token: u.searchParams.get("token")!, host: u.host, proc, stderr: () => err,
    async stop() { proc.kill("SIGTERM"); await proc.exited; },
  };
}

/** A GET of the API with the session token (and whatever else is given). */
export function apiGet(ui: Ui, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Response> {
  return fetch(ui.base + path, { method, headers: { "x-auditgraph-token": ui.token, ...headers } });
}

/** A response's JSON document (the API's answers are checked field by field). */
export const body = async (r: Response | Promise<Response>): Promise<any> => (await r).json();

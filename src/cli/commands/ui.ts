import { defineCommand } from "../define.ts";
import { cannotListen, usageError } from "../../shared/errors.ts";
import { rangeFlag, workspaceArgs, withWorkspace } from "./_args.ts";
import { flushStdout, printLine, warn, writeStderr } from "../output.ts";

export default defineCommand({
  meta: { name: "ui", description: "Explore the graph in the browser: a local, read-only web app over the current run (Ctrl-C stops it)" },
  args: {
    port: { type: "string", description: "Port to listen on (default 0: a free port)", valueHint: "N" },
    host: { type: "string", description: "Address to bind (default 127.0.0.1; another than loopback is reachable from the network)", valueHint: "ADDR" },
    open: { type: "boolean", description: "Open the page in the default browser" },
    ...workspaceArgs,
  },
  async run({ args }) {
    const port = rangeFlag(args.port, "port", 0, 0, 65535);
    if (args.host === "") throw usageError("--host needs an address (default 127.0.0.1)");
    const host = typeof args.host === "string" ? args.host.replace(/^\[(.*)\]$/, "$1") : "127.0.0.1";
    const ws = await withWorkspace(args);
    const [{ UiData }, { startUi, isLoopback }] = await Promise.all([import("../../ui/data.ts"), import("../../ui/server.ts")]);
    if (!isLoopback(host)) warn(`--host ${host} is not a loopback address: anyone who can reach it and has the URL's token can read this workspace's graph`);
    let ui: Awaited<ReturnType<typeof startUi>>;
    try {
      ui = await startUi({ data: new UiData(ws), host, port });
    } catch (e) {
      throw cannotListen(host, port, e);
    }
    printLine(ui.url);
    flushStdout();
    writeStderr(`auditgraph ui: serving ${ws.root} (profile ${ws.profileName}), read-only; Ctrl-C stops it\n`);
    if (args.open) openBrowser(ui.url);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await ui.stop();
  },
});

function openBrowser(url: string): void {
  const cmd = process.platform === "darwin" ? ["open", url] : process.platform === "win32" ? ["cmd", "/c", "start", "", url] : ["xdg-open", url];
  try {
    Bun.spawn(cmd, { stdio: ["ignore", "ignore", "ignore"] }).unref();
  } catch {
    warn(`could not start ${cmd[0]}: open the URL above yourself`);
  }
}

/**
 * Where upgrade state lives (shared with scripts/install.sh):
 *
 *   ${XDG_CONFIG_HOME:-$HOME/.config}/auditgraph/install-id     32 lowercase hex, made once, sent as X-Install-Id
 *   ${XDG_CONFIG_HOME:-$HOME/.config}/auditgraph/install.json   the installer's receipt (source, channel, install_dir, version, method)
 *   ${XDG_CONFIG_HOME:-$HOME/.config}/auditgraph/config.json    user settings: {"update_notice": false} turns the notice off
 *   ${XDG_CACHE_HOME:-$HOME/.cache}/auditgraph/update-check.json the update notice's cached result
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";

type Env = Record<string, string | undefined>;

const home = (env: Env): string | undefined => env.HOME || undefined;

export function configDir(env: Env = process.env): string | undefined {
  const base = env.XDG_CONFIG_HOME || (home(env) ? join(home(env)!, ".config") : undefined);
  return base ? join(base, "auditgraph") : undefined;
}

export function cacheDir(env: Env = process.env): string | undefined {
  const base = env.XDG_CACHE_HOME || (home(env) ? join(home(env)!, ".cache") : undefined);
  return base ? join(base, "auditgraph") : undefined;
}

export interface Receipt {
  source?: string;
  channel?: string | null;
  install_dir?: string;
  version?: string;
  method?: string;
}

/** The installer's receipt, or undefined when there is none (or it is unreadable). */
export function readReceipt(env: Env = process.env): Receipt | undefined {
  const dir = configDir(env);
  if (!dir) return undefined;
  try {
    const r = JSON.parse(readFileSync(join(dir, "install.json"), "utf8"));
    return r && typeof r === "object" && !Array.isArray(r) ? (r as Receipt) : undefined;
  } catch {
    return undefined;
  }
}

/** User settings (config.json in the config directory); {} when absent or unreadable. */
export function readSettings(env: Env = process.env): Record<string, unknown> {
  const dir = configDir(env);
  if (!dir) return {};
  try {
    const r = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    return r && typeof r === "object" && !Array.isArray(r) ? r : {};
  } catch {
    return {};
  }
}

const INSTALL_ID = /^[0-9a-f]{32}$/;

/**
 * The stable install id: read, or made once (created exclusively, so when the installer or another
 * process makes it at the same moment, both end up with the one that won). Undefined without HOME.
 */
export function installId(env: Env = process.env): string | undefined {
  const dir = configDir(env);
  if (!dir) return undefined;
  const path = join(dir, "install-id");
  const read = () => {
    try {
      const id = readFileSync(path, "utf8").trim();
      return INSTALL_ID.test(id) ? id : undefined;
    } catch {
      return undefined;
    }
  };
  const existing = read();
  if (existing) return existing;
  const id = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");
  try {
    mkdirSync(dir, { recursive: true });
    if (existsSync(path)) {
      // present but not a valid id: replace it
      const tmp = `${path}.tmp-${process.pid}`;
      const fd = openSync(tmp, "w", 0o644);
      try { writeSync(fd, id + "\n"); } finally { closeSync(fd); }
      renameSync(tmp, path);
      return id;
    }
    const fd = openSync(path, "wx", 0o644);
    try { writeSync(fd, id + "\n"); } finally { closeSync(fd); }
    return id;
  } catch {
    return read() ?? id; // lost a race (the winner's id), or a read-only config dir (this run's id)
  }
}

/**
 * What every `release-server` command shares: the data directory and config flags, opening the
 * service on them, and output (results on stdout, as text or one JSON document with --json).
 */
import type { ArgsDef } from "citty";
import { canonicalJson } from "../../shared/json.ts";
import { usageError } from "../../shared/errors.ts";
import { loadConfig } from "../config.ts";
import { openService, ReleaseService } from "../service.ts";
import type { App } from "../domain/model.ts";

export const commonArgs = {
  data: {
    type: "string",
    description: "Data directory: the SQLite database and the blob store (default: $RELEASE_SERVER_DATA, else ./release-data)",
    valueHint: "DIR",
  },
  config: {
    type: "string",
    description: "Config file (default: $RELEASE_SERVER_CONFIG, else ./config/release-server.yaml if present, else built-in)",
    valueHint: "FILE",
  },
  json: { type: "boolean", description: "Print exactly one JSON document on stdout" },
} as const satisfies ArgsDef;

type Common = { data?: string; config?: string };

export const dataDirOf = (args: Common) => args.data ?? process.env.RELEASE_SERVER_DATA ?? "release-data";

/** Opens the service for one command and always closes it (flushing batched writes). */
export async function withService<T>(args: Common, fn: (s: ReleaseService) => T | Promise<T>): Promise<T> {
  const { config } = loadConfig(args.config);
  const service = await openService(dataDirOf(args), config);
  try {
    return await fn(service);
  } finally {
    await service.close();
  }
}

/** "owner/slug" → its two parts, else a usage error (`what` names the flag it came from). */
export function splitAppRef(ref: string, what?: string): { owner: string; slug: string } {
  const [owner, slug, extra] = ref.split("/");
  if (!owner || !slug || extra !== undefined) throw usageError(`${what ? `${what}: ` : ""}expected OWNER/SLUG, got ${JSON.stringify(ref)}`);
  return { owner, slug };
}

/** "owner/slug" → the app. */
export async function appArg(s: ReleaseService, ref: string): Promise<App> {
  const { owner, slug } = splitAppRef(ref);
  return await s.getAppBySlug(owner, slug);
}

/** A comma-separated flag value as a list (undefined when the flag is absent). */
export const listArg = (v: string | undefined) => (v === undefined ? undefined : v.split(",").map((x) => x.trim()).filter(Boolean));

export function numberArg(name: string, v: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) throw usageError(`--${name} must be a number, got ${JSON.stringify(v)}`);
  return n;
}

/** Prints `value` as JSON with --json, else the text lines. */
export function output(json: boolean | undefined, value: unknown, lines: () => string[]): void {
  const text = json ? canonicalJson(value, 2) : lines().join("\n");
  if (text) process.stdout.write(text + "\n");
}

/**
 * Finding and fetching a release on the layout the installer reads (GitHub's redirecting paths,
 * which a mirror or the release server serves unchanged):
 *
 *   <base>/releases/latest/download/<asset>     the latest release (per channel and install id)
 *   <base>/releases/download/v<version>/<asset> one release
 *
 * The latest release's version comes from its release.json; everything else is then read from the
 * versioned directory, so a channel moving in the middle cannot mix two releases.
 */
import { PROJECT } from "../schema/release.ts";
import { VERSION, TARGET } from "../shared/build-info.ts";
import { readReceipt, installId } from "./paths.ts";

type Env = Record<string, string | undefined>;

export class UpgradeError extends Error {
  constructor(message: string, readonly code: string, readonly hint?: string) {
    super(message);
    this.name = "UpgradeError";
  }
}

export interface Source {
  base: string;
  channel?: string;
  installId?: string;
  /** Where the base came from: "AUDITGRAPH_DOWNLOAD_URL", "install receipt" or "default". */
  from: string;
  /**
   * A release server token that may read a private app (AUDITGRAPH_TOKEN, or RELEASES_TOKEN as the
   * installer takes it), sent as Authorization; never to the project's default base, and fetch drops
   * it when a download redirects to another origin.
   */
  token?: string;
}

export function resolveSource(opts: { channel?: string }, env: Env = process.env): Source {
  const receipt = readReceipt(env);
  let base: string;
  let from: string;
  if (env.AUDITGRAPH_DOWNLOAD_URL) { base = env.AUDITGRAPH_DOWNLOAD_URL; from = "AUDITGRAPH_DOWNLOAD_URL"; }
  else if (typeof receipt?.source === "string" && receipt.source) { base = receipt.source; from = "install receipt"; }
  else { base = PROJECT.downloadBase; from = "default"; }
  if (!/^https?:\/\//.test(base)) throw new UpgradeError(`the download base '${base}' (${from}) is not an http(s) URL`, "bad_source");
  const channel = opts.channel || env.AUDITGRAPH_CHANNEL || (typeof receipt?.channel === "string" ? receipt.channel : undefined) || undefined;
  // The release server's rule (and the installer's): a name it would refuse is a usage error here, not an HTTP 422 there.
  if (channel !== undefined && !/^[a-z][a-z0-9-]{0,31}$/.test(channel)) {
    throw new UpgradeError(`invalid channel name '${channel}': 1-32 lowercase letters, digits or '-', starting with a letter`, "usage");
  }
  const normalized = base.replace(/\/+$/, "");
  // Never to the project's own base (a receipt records it too, after an ordinary install).
  const token = normalized === PROJECT.downloadBase.replace(/\/+$/, "") ? undefined : env.AUDITGRAPH_TOKEN || env.RELEASES_TOKEN || undefined;
  return { base: normalized, channel, installId: installId(env), from, ...(token ? { token } : {}) };
}

/** What upgrade reads from a release.json (loosely: newer builds may add fields). */
export interface ReleaseInfo {
  version: string;
  schema_version?: string;
  assets: Array<Record<string, unknown> & { name: string; sha256?: string; size?: number }>;
}

const userAgent = () => `auditgraph/${VERSION} (${TARGET})`;

function headersFor(src: Source): Record<string, string> {
  const h: Record<string, string> = { "user-agent": userAgent() };
  if (src.installId) h["x-install-id"] = src.installId;
  if (src.channel) h["x-release-channel"] = src.channel;
  if (src.token) h.authorization = `Bearer ${src.token}`;
  return h;
}

export const latestUrl = (src: Source, asset: string) =>
  `${src.base}/releases/latest/download/${asset}${src.channel ? `?channel=${encodeURIComponent(src.channel)}` : ""}`;
export const versionDir = (src: Source, version: string) => `${src.base}/releases/download/v${version.replace(/^v/, "")}`;

/** GET url → its bytes; any failure (network, HTTP status, a body cut short) is an UpgradeError. */
export async function download(src: Source, url: string, opts: { optional?: boolean; timeoutMs?: number } = {}): Promise<Uint8Array | undefined> {
  let res: Response;
  try {
    res = await fetch(url, { headers: headersFor(src), redirect: "follow", signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000) });
  } catch (e) {
    throw new UpgradeError(`download of ${url} failed: ${(e as Error).message}`, "download_failed", "check the connection and the download base (AUDITGRAPH_DOWNLOAD_URL)");
  }
  if (res.status === 404 && opts.optional) { await res.body?.cancel(); return undefined; }
  if (!res.ok) {
    await res.body?.cancel();
    throw new UpgradeError(`download of ${url} failed: HTTP ${res.status}`, "download_failed");
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw new UpgradeError(`download of ${url} was cut short: ${(e as Error).message}`, "download_failed", "try again");
  }
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && !res.headers.get("content-encoding") && declared !== bytes.length) {
    throw new UpgradeError(`download of ${url} was cut short (${bytes.length} of ${declared} bytes)`, "download_failed", "try again");
  }
  return bytes;
}

export function parseReleaseInfo(bytes: Uint8Array, url: string): ReleaseInfo {
  let r: unknown;
  try { r = JSON.parse(new TextDecoder().decode(bytes)); } catch { throw new UpgradeError(`${url} is not JSON`, "bad_release"); }
  const o = r as ReleaseInfo;
  if (!o || typeof o !== "object" || typeof o.version !== "string" || !Array.isArray(o.assets)) {
    throw new UpgradeError(`${url} is not a release.json (no version or assets)`, "bad_release");
  }
  return { version: o.version.replace(/^v/, ""), schema_version: typeof o.schema_version === "string" ? o.schema_version : undefined, assets: o.assets.filter((a) => a && typeof a.name === "string") };
}

/** The release to upgrade to: the pinned version, or the latest (for this channel and install id). */
export async function findRelease(src: Source, pinned?: string): Promise<{ info: ReleaseInfo | undefined; version: string; dir: string }> {
  if (pinned) {
    const version = pinned.replace(/^v/, "");
    const dir = versionDir(src, version);
    const bytes = await download(src, `${dir}/release.json`, { optional: true });
    const info = bytes ? parseReleaseInfo(bytes, `${dir}/release.json`) : undefined;
    if (info && info.version !== version) throw new UpgradeError(`${dir}/release.json describes version ${info.version}, not ${version}`, "bad_release");
    return { info, version, dir };
  }
  const url = latestUrl(src, "release.json");
  const bytes = await download(src, url, { optional: true });
  if (!bytes) throw new UpgradeError(`no latest release at ${src.base}${src.channel ? ` on channel ${src.channel}` : ""} (${url}: 404)`, "no_release", "check the download base and the channel, or pass --version");
  const info = parseReleaseInfo(bytes, url);
  return { info, version: info.version, dir: versionDir(src, info.version) };
}

/** SHA256SUMS lines → name → sha256. */
export function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const m = /^([0-9a-f]{64}) [ *](\S+)$/.exec(line.replace(/\r$/, ""));
    if (!m) throw new UpgradeError(`SHA256SUMS has a malformed line: ${JSON.stringify(line.slice(0, 80))}`, "bad_sums");
    if (sums.has(m[2]!)) throw new UpgradeError(`SHA256SUMS lists ${m[2]} twice`, "bad_sums");
    sums.set(m[2]!, m[1]!);
  }
  return sums;
}

/**
 * API token format and checks (pure).
 *
 * A token is `rls_` + base62(32 random bytes, 43 chars) + base62(CRC32 of those 43 chars, 6 chars):
 * 53 characters, 256 bits of randomness. The prefix and checksum let secret scanners recognise a
 * leaked token offline (pattern `rls_[0-9A-Za-z]{49}`) and let the server reject typos without a
 * database lookup. Only the SHA-256 of the whole token is stored.
 */
import { sha256Hex } from "../../shared/hash.ts";
import type { Action, TokenScopes } from "./model.ts";

export const TOKEN_PREFIX = "rls_";
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BODY_LEN = 43;
const CHECK_LEN = 6;
export const TOKEN_PATTERN = /^rls_[0-9A-Za-z]{49}$/;

function base62(n: bigint, width: number): string {
  let s = "";
  while (n > 0n) {
    s = ALPHABET[Number(n % 62n)] + s;
    n /= 62n;
  }
  return s.padStart(width, "0");
}

const checksum = (body: string) => base62(BigInt(Bun.hash.crc32(body)), CHECK_LEN);

/** A fresh raw token. Show it once; store `hashToken(raw)`. */
export function generateToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const body = base62(BigInt("0x" + Buffer.from(bytes).toString("hex")), BODY_LEN);
  return TOKEN_PREFIX + body + checksum(body);
}

/** Shape and checksum are right (says nothing about whether the token exists). */
export function wellFormed(raw: string): boolean {
  if (!TOKEN_PATTERN.test(raw)) return false;
  const body = raw.slice(TOKEN_PREFIX.length, TOKEN_PREFIX.length + BODY_LEN);
  return checksum(body) === raw.slice(TOKEN_PREFIX.length + BODY_LEN);
}

export const hashToken = (raw: string): string => sha256Hex(raw);

/** What lists show: the prefix and the first six characters. */
export const displayPrefix = (raw: string): string => raw.slice(0, TOKEN_PREFIX.length + 6);

/** `admin` grants everything; any write action also grants `read`. */
export function actionAllowed(granted: readonly Action[], wanted: Action): boolean {
  if (granted.includes("admin") || granted.includes(wanted)) return true;
  return wanted === "read" && granted.length > 0;
}

/** Why `scopes` do not cover the request, or undefined when they do. */
export function scopeDenial(scopes: TokenScopes, action: Action, target: { appId?: number; channel?: string | null }): string | undefined {
  if (!actionAllowed(scopes.actions, action)) return `token lacks the '${action}' action`;
  if (target.appId !== undefined && scopes.apps !== null && !scopes.apps.includes(target.appId)) return "token is not valid for this app";
  if (scopes.channels !== null) {
    // A channel-scoped token may only write to its channels; it cannot write outside any channel.
    if (target.channel == null && action !== "read") return "token is limited to channels and the target has none";
    if (target.channel != null && !scopes.channels.includes(target.channel)) return `token is not valid for channel '${target.channel}'`;
  }
  return undefined;
}

/**
 * Whether a draft scope (`ServiceCore.draftScope`: all drafts, none, or the drafts of some channels)
 * lets its holder see `release`. Published releases are always visible.
 */
export function draftVisible(scope: boolean | readonly string[], release: { draft: boolean; channel: string | null }): boolean {
  if (!release.draft) return true;
  return scope === true || (Array.isArray(scope) && release.channel !== null && scope.includes(release.channel));
}

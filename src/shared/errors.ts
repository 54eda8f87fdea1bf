/**
 * Errors that know how they end the process.
 *
 * Every failure a user can cause is an `AgError` with a documented exit code and one line of
 * message (what is wrong and where). `hint` is an optional second line telling how to fix it.
 * Anything else reaching the top level is an internal error (exit 1), printed without a stack
 * unless AUDITGRAPH_DEBUG=1.
 */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2, // usage or configuration error
  rebuild: 3, // the workspace store needs `auditgraph rebuild`
  budget: 4, // blocked by the disk footprint budget
  verify: 5, // store verification failed
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class AgError extends Error {
  readonly exitCode: number;
  readonly hint?: string;
  /** Machine-readable code for --json error output, e.g. "config_invalid". */
  readonly code: string;
  /** Extra fields merged into the --json error document. */
  readonly details?: Record<string, unknown>;
  constructor(
    message: string,
    opts: { exitCode?: number; code?: string; hint?: string; details?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = "AgError";
    this.exitCode = opts.exitCode ?? ExitCode.internal;
    this.code = opts.code ?? "error";
    this.hint = opts.hint;
    this.details = opts.details;
  }
}

export const usageError = (message: string, hint?: string) =>
  new AgError(message, { exitCode: ExitCode.usage, code: "usage", hint });
export const configError = (message: string, hint?: string) =>
  new AgError(message, { exitCode: ExitCode.usage, code: "config_invalid", hint });

/** A server that cannot listen (the port is taken, the address is not this machine's): a usage error naming both (exit 2). */
export const cannotListen = (host: string, port: number, err: unknown) => {
  const why = err instanceof Error ? err.message : String(err);
  // The port (taken, or privileged) or the address (not this machine's, not resolved, malformed).
  const portProblem = /in use|EADDRINUSE|EACCES|permission/i.test(why);
  return usageError(`cannot listen on ${host}:${port}: ${why}`, portProblem
    ? (port ? "choose another --port, or 0 for a free one" : undefined)
    : "check --host: an address of this machine (127.0.0.1, ::1, 0.0.0.0) or a name that resolves to one");
};

/** The hint of a write that failed for want of space (a run, an export). */
export const DISK_FULL_HINT = "free disk space, then run the command again";
/** Whether a failed write failed for want of space. */
export const isDiskFull = (err: unknown): boolean => (err as { code?: unknown } | undefined)?.code === "ENOSPC";
/** Why a write failed, in a few words: "no space left on device" for a full disk, else the error's first line. */
export const whyWriteFailed = (err: unknown): string => (isDiskFull(err) ? "no space left on device" : describeError(err));

/** One line describing any thrown value, for the top-level handler. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.split("\n")[0] || err.name;
  return String(err);
}

/**
 * `s` as a message quotes it: whole up to `max` characters, else cut to `max` with "…" (never inside
 * a surrogate pair). An error that echoed its input whole printed a line of 100,000 characters. The
 * default, 255, is the longest tag or file name the release server accepts: a valid one is whole.
 */
export function clip(s: string, max = 255): string {
  if (s.length <= max) return s;
  return `${s.slice(0, wholeAt(s, max - 1))}…`;
}

/** `i`, or one before it when a cut of `s` at `i` would split a surrogate pair (an emoji): where to cut text. */
export function wholeAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return i > 0 && i < s.length && c >= 0xdc00 && c <= 0xdfff && (s.charCodeAt(i - 1) & 0xfc00) === 0xd800 ? i - 1 : i;
}

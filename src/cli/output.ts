/**
 * Output conventions: results on stdout (human text, or exactly one JSON document with --json);
 * warnings, progress and errors on stderr. Colour only on a TTY and never with NO_COLOR.
 *
 * Written with writeSync on file descriptors 1 and 2, not process.stdout/process.stderr: creating
 * those streams loads Node's stream machinery, which cost every command about as much CPU time as
 * the rest of `auditgraph version`. Standard output is buffered (flushed at 64 KiB, before anything
 * goes to standard error, and when the command ends); a reader that goes away (`export | head`)
 * ends the process quietly with its exit code.
 */
import { fstatSync, writeSync } from "node:fs";
import { canonicalJson } from "../shared/json.ts";
import { printable } from "../shared/printable.ts";

/**
 * Data in human output (paths, names, ids, snippets, texts, messages quoting a file) goes through
 * `printable` (src/shared/printable.ts): control characters but tab, DEL, C1 controls and bidi
 * controls are shown escaped (`\x1b`, `\u{202e}`), so a hostile file name or file cannot send
 * escape sequences to the terminal or forge lines. JSON output is escaped by JSON itself. Warnings
 * and errors are made printable here, whatever they quote.
 */
export { printable };

const FLUSH_AT = 64 * 1024;
let pending: string[] = [];
let pendingLength = 0;

function writeAll(fd: 1 | 2, text: string): void {
  let buf = Buffer.from(text);
  while (buf.length > 0) {
    let n: number;
    try {
      n = writeSync(fd, buf);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") { Bun.sleepSync(1); continue; } // a non-blocking pipe that is full
      if (code === "EPIPE") process.exit(process.exitCode ?? 0);
      throw e;
    }
    buf = buf.subarray(n);
  }
}

/** Writes what waits for standard output. */
export function flushStdout(): void {
  if (pendingLength === 0) return;
  const text = pending.join("");
  pending = [];
  pendingLength = 0;
  writeAll(1, text);
}
process.on("exit", flushStdout);

export function writeStdout(text: string): void {
  pending.push(text);
  pendingLength += text.length;
  if (pendingLength >= FLUSH_AT) flushStdout();
}

export function writeStderr(text: string): void {
  flushStdout();
  writeAll(2, text);
}

const ttys = new Map<number, boolean>();
/** Is the descriptor a terminal? On Linux from its device number (no tty module to load). */
export function isTTY(fd: 1 | 2): boolean {
  let t = ttys.get(fd);
  if (t === undefined) {
    if (process.platform === "linux") {
      try {
        const st = fstatSync(fd);
        const major = ((st.rdev >>> 8) & 0xfff) | (Math.floor(st.rdev / 2 ** 32) & ~0xfff);
        // 4: virtual consoles and serial ports, 5: /dev/tty and /dev/console, 136-143: pseudo-terminals.
        t = st.isCharacterDevice() && (major === 4 || major === 5 || (major >= 136 && major <= 143));
      } catch { t = false; }
    } else {
      t = (require("node:tty") as typeof import("node:tty")).isatty(fd);
    }
    ttys.set(fd, t);
  }
  return t;
}

/** Colour on this descriptor (standard error unless told)? */
/** Colour on a TTY, unless NO_COLOR is set to something (no-color.org: an empty value does not count) or TERM is dumb. */
export const useColor = (fd: 1 | 2 = 2): boolean => isTTY(fd) && !process.env.NO_COLOR && process.env.TERM !== "dumb";

const paint = (code: string) => (s: string, fd?: 1 | 2) => (useColor(fd) ? `\x1b[${code}m${s}\x1b[0m` : s);
export const red = paint("31");
export const yellow = paint("33");

export function printJson(value: unknown): void {
  writeStdout(canonicalJson(value, 2) + "\n");
}
export function printLine(line = ""): void {
  writeStdout(line + "\n");
}
export function warn(message: string): void {
  writeStderr(`${yellow("warning:")} ${printable(message)}\n`);
}

/**
 * Output conventions: results on stdout (human text, or exactly one JSON document with --json);
 * warnings, progress and errors on stderr. Colour only on a TTY and never with NO_COLOR.
 */
import { canonicalJson } from "../shared/json.ts";

export const useColor = (stream: NodeJS.WriteStream = process.stderr): boolean =>
  Boolean(stream.isTTY) && !("NO_COLOR" in process.env) && process.env.TERM !== "dumb";

const paint = (code: string) => (s: string, stream?: NodeJS.WriteStream) => (useColor(stream) ? `\x1b[${code}m${s}\x1b[0m` : s);
export const red = paint("31");
export const yellow = paint("33");

export function printJson(value: unknown): void {
  process.stdout.write(canonicalJson(value, 2) + "\n");
}
export function printLine(line = ""): void {
  process.stdout.write(line + "\n");
}
export function warn(message: string): void {
  process.stderr.write(`${yellow("warning:")} ${message}\n`);
}

/**
 * Making data safe to print on a terminal. File names, file contents and anything read from the
 * store may hold control characters: an ESC starts a terminal escape sequence (colours, the window
 * title, cursor moves, on some terminals worse), a CR or newline forges output lines, and bidi
 * controls reorder what is shown. `printable` writes each such character as an escape that shows
 * what it was:
 *
 *   C0 controls (U+0000-U+001F, tab excepted), DEL and C1 controls (U+007F-U+009F)   \xNN  (ESC: \x1b)
 *   bidi and line-separator controls (U+061C, U+200E, U+200F, U+2028-U+202E, U+2066-U+2069)   \u{NNNN}
 *
 * Everything else, backslashes included, is left as it is, so an ordinary string prints unchanged.
 * `newlines: true` keeps line feeds (a text shown as several lines).
 */

const UNSAFE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
const UNSAFE_KEEP_LF = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

const escape = (c: string) => {
  const n = c.charCodeAt(0);
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u{${n.toString(16)}}`;
};

export function printable(s: string, opts: { newlines?: boolean } = {}): string {
  const re = opts.newlines ? UNSAFE_KEEP_LF : UNSAFE;
  re.lastIndex = 0;
  return re.test(s) ? s.replace(re, escape) : s;
}

/**
 * A value read from a damaged file, for an error message: printable, in double quotes, and cut
 * after `max` characters (with "…" and the full length) so one line stays one line.
 */
export function quoted(s: string, max = 60): string {
  const cut = [...s];
  const shown = cut.length > max ? `${cut.slice(0, max).join("")}…` : s;
  return `"${printable(shown)}"${cut.length > max ? ` (${cut.length} characters)` : ""}`;
}

/**
 * Bytes read from a file that should hold short ASCII text (a run id), for an error message: in
 * double quotes, printable ASCII as is, every other byte as \xNN (so binary garbage stays one
 * short line), cut after `max` bytes (with "…" and the full length).
 */
export function quotedBytes(bytes: Uint8Array, max = 80): string {
  let out = "";
  for (const b of bytes.subarray(0, max)) out += b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`;
  return `"${out}${bytes.length > max ? "…" : ""}"${bytes.length > max ? ` (${bytes.length} bytes)` : ""}`;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * A file name's bytes as a printable string: valid UTF-8 as it is, each byte of an invalid sequence
 * as `\xNN` (`caf\xe9.md`). The same bytes always give the same string. Only bytes from 0x80 up are
 * ever escaped (every byte below is valid UTF-8 alone), so `nameBytes` undoes it.
 */
export function escapedName(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    const n = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    let ch: string | undefined;
    if (n && i + n <= bytes.length) { try { ch = strictUtf8.decode(bytes.subarray(i, i + n)); } catch {} }
    if (ch !== undefined) { out += ch; i += n; } else { out += `\\x${b.toString(16).padStart(2, "0")}`; i++; }
  }
  return out;
}

/** The bytes an escapedName stands for: `\xNN` from 0x80 up as that byte, everything else as UTF-8. */
export function nameBytes(name: string): Uint8Array {
  if (!name.includes("\\x")) return Buffer.from(name, "utf8");
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const m of name.matchAll(/\\x([89a-f][0-9a-f])/g)) {
    parts.push(Buffer.from(name.slice(at, m.index), "utf8"), Uint8Array.of(parseInt(m[1]!, 16)));
    at = m.index + m[0].length;
  }
  parts.push(Buffer.from(name.slice(at), "utf8"));
  return Buffer.concat(parts);
}

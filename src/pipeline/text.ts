/**
 * Normalize (NFC, LF) and redact. Redaction runs on the normalized text before anything derived
 * from it exists, so no later stage can store a secret. Markers have the form
 * `[REDACTED:<detector>]` and no detector matches a marker, so redacting twice changes nothing.
 * Redaction keeps the text's lines: a match that spans lines (a PEM block, a key and its value on
 * the next line) keeps its line breaks after the marker, so every line number counted in the
 * redacted text (sections, links, mentions, chunks, hits) is the source file's.
 */
import type { Detector } from "../config/schema.ts";

export function normalizeText(text: string): string {
  let t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (t.includes("\r")) t = t.replace(/\r\n?/g, "\n");
  // NFC only changes non-ASCII text; skip the (costly) call for pure ASCII.
  return /[^\x00-\x7f]/.test(t) ? t.normalize("NFC") : t;
}

const mark = (d: Detector) => `[REDACTED:${d}]`;
/** The marker for a match, followed by the match's own line breaks. */
const markKeepingLines = (d: Detector) => (match: string) => {
  let nl = 0;
  for (let i = match.indexOf("\n"); i >= 0; i = match.indexOf("\n", i + 1)) nl++;
  return mark(d) + "\n".repeat(nl);
};

type Rule = { detector: Detector; probe: RegExp; apply: (t: string) => string };

const KV_KEY = "(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?|auth[_-]?key)";
/**
 * A key: a whole run of name characters that holds a credential word (`DB_PASSWORD`, `apiToken`,
 * `auth.secret_key`), matched only from the run's start, checked for the word ahead, then taken
 * whole: matched from each word in it, `pwd` repeated 40,000 times was read to its end from each
 * one (quadratic). Not a shell variable: a run right after `$` or `${` is a key only when the
 * credential word is not its first (`$PWD:/workspace` is a variable; PHP's and Perl's
 * `$db_password = '…'` and `${DB_PASSWORD:-…}` have a key, `password`, inside the name, as when the
 * word was matched where it stands).
 */
const KEY_HEAD = `(?<![A-Za-z0-9_.-])(?:(?<!\\$\\{?)(?=[A-Za-z0-9_.-]*?${KV_KEY})|(?<=\\$\\{?)(?=[A-Za-z0-9_.-]+?${KV_KEY}))[A-Za-z0-9_.-]+`;
/**
 * A call: a name, then parentheses holding at most one more level of them; or a parenthesized
 * value without a name (`("abc" + x)`, `(await getToken())`), judged as what it holds.
 */
const CALL = "(?:[A-Za-z_$][\\w$.]*)?\\([^()\\n]*(?:\\([^()\\n]*\\)[^()\\n]*)*\\)"; // no alternation per character: an unclosed `f(` of 50,000 characters took the engine past its backtracking limit, and the rest of the text went unredacted
/**
 * A value built with `+`, `||`, `??` or `or` that has a literal in it (`f(x) + 's3cret'`,
 * `env.PW ?? "dev-pass"`, `os.environ["PW"] or b"hunter2"`): operands (a call, an index with a
 * quoted key, a quoted literal, or a word without `+`, `|`, `?`, so that the split is the one split,
 * no backtracking over it) joined by those operators, one of them a literal that could be a secret:
 * with a letter or digit, not a path (`"/data"`, `"./x"`) nor empty (`process.env.TOKEN || ""`
 * is code). At most 16 operands on either side of it (a line of 50,000 `a+` took 0.2 s to be
 * judged, now nothing); a literal's letter is looked for once, ahead (no split to try). An index
 * has a quoted key only: `a[0]` is a word, not an index too (17 of them tried 2^17 splits). The
 * rule holds for a key that is the credential word itself (`password`, `api_key`): after a longer
 * name (`max_tokens`, `token_type`, `tokenizer`) the literal is a default such as `"auto"` or
 * `"Bearer"`, and only the first operand is judged, as before.
 */
const INDEX = "[A-Za-z_$][\\w$.]*\\[(?:\"[^\"\\n]*\"|'[^'\\n]*')\\]";
// Parts joined by `?.`, optional chaining (`obj?.pw`); a `?` alone joins. No alternation per
// character: with one, a long word took the regex engine past its backtracking limit, and the value
// stayed unredacted.
const WORD = "[^\\s\"'`,;()+|?]+(?:\\?\\.[^\\s\"'`,;()+|?]+){0,16}";
/** Python's string prefixes (`b"…"`, `rb'…'`, `f"…"`): the literal is what follows them. */
const PREFIX = "(?:[bB][rR]?|[rR][bBfF]?|[uU]|[fF][rR]?)?";
const QUOTED = PREFIX + "(?:\"[^\"\\n]*\"|'[^'\\n]*'|`[^`\\n]*`)";
const SECRETISH = PREFIX + "(?:\"(?![/\\\\.])(?=[^\"\\n]*[A-Za-z0-9])[^\"\\n]*\"|'(?![/\\\\.])(?=[^'\\n]*[A-Za-z0-9])[^'\\n]*')"; // not a backquoted one: in prose it is a code span
const OPERAND = `(?:${CALL}|${INDEX}|${QUOTED}|${WORD})`;
// On one line (a redaction keeps the text's line breaks); a ternary's ` ? ` and ` : ` with blanks on both sides.
const JOIN = "(?:[ \\t]*(?:\\+|\\|\\||\\?\\?)[ \\t]*|[ \\t]+(?:or|\\?|:)[ \\t]+)";
/**
 * A type annotation between a key and its value (`password: str = "…"`, `token: string = "…"`):
 * the value is the quoted literal after the `=`. Only a quoted one: `token: str | None = None` or
 * `password: str = DEFAULT_PASSWORD` is a parameter's default, code, judged as before (the type).
 * An annotation followed by `=` is never the value itself (a second pass over
 * `password: Optional[str] = [REDACTED…` took `Optional[str]` for one).
 */
const ANNOT = "(?:str|string|bytes|secretstr|secretbytes|optional\\[(?:str|bytes|secretstr)\\]|(?:str|string|bytes)[ \\t]*\\|[ \\t]*(?:none|null|undefined))";
const WITH_LITERAL = `(?:${CALL}|${INDEX}|${WORD})(?:${JOIN}(?:${CALL}|${INDEX}|${WORD})){0,16}${JOIN}${SECRETISH}(?:${JOIN}${OPERAND}){0,16}`;
/** What the value would be without the joined-literal rule (a call that does not end the value is no call). */
const FIRST_OPERAND = /^[^\s"',;]+/;
const JOINED = new RegExp(`^${WITH_LITERAL}$`);
/**
 * A credential key, its separator and its value (credential_kv's rule, below): made once, not on
 * every text that holds a key word (`replace` starts a global pattern from 0 and leaves it there).
 */
const CREDENTIAL_KV = new RegExp(`(${KEY_HEAD}["']?\\s*(?::=|=|:(?!:)(?:[ \\t]*${ANNOT}[ \\t]*=(?!=)(?=\\s*${PREFIX}["']))?)\\s*)(?!=?\\s*\\[REDACTED)(?!${ANNOT}[ \\t]*=(?!=))(?!(?<=\\n[ \\t]*)${KEY_HEAD}["']?\\s*(?::=|=|:(?!:)))(${PREFIX}"[^"\\n]+"|${PREFIX}'[^'\\n]+'|${WITH_LITERAL}|${CALL}(?=\\s*(?:[;,)\\]}]|$))|[^\\s"',;]+)`, "gim");
/**
 * A name that holds a credential word but names something else: a type, a count, a limit, a
 * setting's name or place (`max_tokens`, `token_type`, `tokenizer`, `api_key_name`,
 * `passphrase_env`, `tokenExpiry`). After one of these a joined literal is a default (`"auto"`,
 * `"Bearer"`), not a secret; `SECRET_KEY`, `secretKey`, `password2` are still credentials.
 */
const NON_SECRET_NAME = /(?:^|[_.])(?:max|min|num|n)_|(?:type|count|len|length|size|name|env|url|uri|path|file|dir|hash|id|expiry|expires|expiration|ttl|timeout|header|field|prefix|format|kind|mode|limit|label|hint|pattern|izer)s?$/i;
/** A quote anywhere, or a digit after a `(` (`Tr0ub4dor(3)`): no code. One scan each (`\(.*\d` scanned to the end from every `(`). */
const literalIn = (v: string) => {
  if (/["']/.test(v)) return true;
  // A template literal counts when it holds text of its own, not only `${…}` (`btoa(\`${id}:${secret}\`)` is code).
  for (const m of v.matchAll(/`([^`]*)`/g)) if (/[A-Za-z0-9]/.test(m[1]!.replace(/\$\{[^}]*\}/g, ""))) return true;
  const p = v.indexOf("(");
  return p >= 0 && /\d/.test(v.slice(p));
};
/**
 * An unquoted value after a credential key that is code, not a secret, matched whole: a call of a
 * name without digits, closed (`globTokens(pattern)`, `getToken()`; not `Tr0ub4dor(3)`), an object or list (`{`, `[`), a placeholder (`<your
 * password>`), an environment variable (`$DB_PASS`, `${TOKEN}`: upper case, no default), an index
 * (`os.environ[`), a member of an object that holds settings (`self.token`, `process.env.API_KEY`,
 * `config.secret`), a type or a literal keyword as the whole value (`token: string`, `password =
 * None`). A quoted value is always a secret, and so is anything else: `$2b$12$…`, `/kJalr…`,
 * `${PASS:-changeme}`, `none-shall-pass`, `My.Pass1`.
 */
const CODE_VALUE = /^(?:[A-Za-z_$][A-Za-z_$.]*\([^()]*\)|[{[].*|<[^>\s]*>|\$\{?[A-Z_][A-Z0-9_]*\}?|[A-Za-z_][A-Za-z_.]*\[|(?:self|this|cls|process\.env|os\.environ|env|config|settings|options|opts|ctx|req|request|props|args)\.[A-Za-z_][\w.]*)$/;
const KEYWORD_VALUE = /^(?:null|none|nil|true|false|undefined|string|str|int|number|bool|boolean|bytes|any|optional|required|secretstr)(?:\[\]|\?)?$/i;
/** A parenthesized value is judged as what it holds (`(await getToken())` is code). */
const inner = (v: string) => (v[0] === "(" && v.endsWith(")") ? v.slice(1, -1).trim().replace(/^await\s+/, "") : v);
/** Whether an unquoted value, whole, is code (CODE_VALUE, KEYWORD_VALUE) and holds no literal. */
const isCode = (v: string) => v[0] !== '"' && v[0] !== "'" && !literalIn(v) && (CODE_VALUE.test(inner(v)) || KEYWORD_VALUE.test(v));

const rules: Rule[] = [
  {
    detector: "pem_private_key",
    probe: /PRIVATE KEY-----/,
    apply: (t) => t.replace(/-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g, markKeepingLines("pem_private_key")),
  },
  {
    detector: "jwt",
    probe: /eyJ/,
    // The second alternative takes the rest of a run that starts like a token but is none, so that
    // the next `eyJ` in it is not tried again (it would fail the same way): `eyJ-` repeated was quadratic.
    apply: (t) => t.replace(/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|\beyJ[A-Za-z0-9_-]*/g, (m) => (m.includes(".") ? mark("jwt") : m)),
  },
  {
    detector: "url_credentials",
    probe: /:\/\/[^\s/@]+@/,
    // As for jwt: a scheme-like run with `.`, `+` or `-` that is no `scheme://user:pass@` is taken
    // whole, not tried again from each of its parts (`a.` repeated was quadratic).
    apply: (t) => t.replace(/\b([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^\s/@:]*:[^\s/@]+@|\b[a-zA-Z][a-zA-Z0-9]*[+.-][a-zA-Z0-9+.-]*/g, (m, scheme?: string) => (scheme === undefined ? m : `${scheme}${mark("url_credentials")}@`)),
  },
  {
    detector: "vendor_token",
    probe: /AKIA|ASIA|gh[pousr]_|github_pat_|xox[abprs]-|sk_live_|rk_live_|AIza|sk-|npm_|glpat-/,
    apply: (t) =>
      t.replace(
        /\b(?:(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|[sr]k_live_[A-Za-z0-9]{16,}|AIza[0-9A-Za-z_-]{35}|sk-(?:proj-)?[A-Za-z0-9_-]{32,}|npm_[A-Za-z0-9]{36}|glpat-[A-Za-z0-9_-]{20,})/g,
        mark("vendor_token"),
      ),
  },
  {
    detector: "bearer_token",
    probe: /bearer/i,
    apply: (t) => t.replace(/\b(bearer)(\s+)(?!\[REDACTED)[A-Za-z0-9._~+/=-]{8,}/gi, `$1$2${mark("bearer_token")}`),
  },
  {
    detector: "credential_kv",
    probe: new RegExp(KV_KEY, "i"),
    apply: (t) =>
      t.replace(
        CREDENTIAL_KV,
        // The separator: `=`, `:`, Go's `:=`, not the `::` of a path (`node::credentials::HasOnly`).
        // A call (two levels of parentheses) that ends the value is code when no literal is in it
        // (`getpass(prompt, stream)`); with one (`decrypt(b64('s3cret'))`) the whole call goes, where
        // the literal used to stay after the marker. A call that does not end the value
        // (`Pa(ss)word!`) is no call: the value is judged whole. A value joined with `+`, `||` or `??`
        // to a literal (`f(x) + 's3cret'`) goes whole: the code before the literal left it standing.
        // Not over a marker either (`=[REDACTED…` of `:=`): a second pass leaves the text as it is.
        // Nor over another key on the next line (`token:` then `password: hunter2`: that one is judged).
        (all: string, key: string, value: string) => {
          // The key's name is the whole run (KEY_HEAD starts at a run's start: nothing of it lies before the match).
          const name = /^[A-Za-z0-9_.-]*/.exec(key)![0];
          if (NON_SECRET_NAME.test(name) && JOINED.test(value)) {
            const first = FIRST_OPERAND.exec(value)?.[0] ?? value;
            return isCode(first) ? all : key + mark("credential_kv") + value.slice(first.length);
          }
          return isCode(value) ? all : key + mark("credential_kv");
        },
      ),
  },
];

export type Redactor = (text: string) => string;

export function makeRedactor(opts: { enabled: boolean; detectors: readonly Detector[] }): Redactor {
  if (!opts.enabled) return (t) => t;
  const active = rules.filter((r) => opts.detectors.includes(r.detector));
  return (text) => {
    let t = text;
    for (const r of active) if (r.probe.test(t)) t = r.apply(t);
    return t;
  };
}

// Units of the pipeline that the CLI tests cannot time: files vanishing or unreadable between the
// scan and the read, chunk windows, term frequencies, redaction idempotence and front matter.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DETECTORS } from "../config/schema.ts";
import { chunkSpans } from "./chunk.ts";
import { FIELD_HEADING, indexTerms } from "./tokens.ts";
import { splitFrontMatter } from "./markdown.ts";
import { scan } from "./scan.ts";
import { buildShard, readSource } from "./shard.ts";
import { makeRedactor, normalizeText } from "./text.ts";

const dir = mkdtempSync(join(tmpdir(), "ag-pipeline-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const profile = {
  include_paths: ["notes"], exclude_globs: ["**/drafts/**"], normalization: { unicode: "NFC" as const, line_endings: "LF" as const },
  ingestion: { allowed_extensions: [".md"], chunk_tokens: 4, chunk_overlap_tokens: 1, max_file_size_bytes: 1000 },
};

describe("scan then read", () => {
  test("a file that disappears after the scan is recorded as vanished; a directory in its place as unreadable", async () => {
    const root = join(dir, "ws1");
    mkdirSync(join(root, "notes", "drafts"), { recursive: true });
    for (const n of ["a.md", "b.md", "c.md"]) writeFileSync(join(root, "notes", n), `# ${n}\n`);
    writeFileSync(join(root, "notes", "drafts", "x.md"), "draft\n");
    const found = scan(root, profile);
    expect(found.map((f) => f.path)).toEqual(["notes/a.md", "notes/b.md", "notes/c.md"]);
    rmSync(join(root, "notes", "b.md"));
    rmSync(join(root, "notes", "c.md"));
    mkdirSync(join(root, "notes", "c.md"));
    const res = await buildShard({
      shard: 0, shards: 4, profileDir: join(root, ".pkg"), files: found.map((f) => ({ path: f.path, abs: f.abs, bytes: f.bytes })),
      settings: { maxBytes: 1000, maxDocBytes: 1000, symbols: true, chunkTokens: 4, overlapTokens: 1, redaction: { enabled: true, detectors: [...DETECTORS] } },
    });
    expect(res.records.map((r) => [r.path, r.status, r.reason])).toEqual([
      ["notes/a.md", "ok", undefined], ["notes/b.md", "skipped", "vanished"], ["notes/c.md", "skipped", "unreadable"],
    ]);
    expect(res.objects?.counts.files).toBe(1);
  });
  test("a file that grew past the limit after the scan is too_large", () => {
    const p = join(dir, "grown.md");
    writeFileSync(p, "x".repeat(2000));
    expect(readSource(p, 10, 1000).skip).toBe("too_large");
  });
  test("a file swapped after the scan for a link (to a file outside) or for a named pipe is not read, and nothing waits", () => {
    const outside = join(dir, "outside-secret.txt");
    writeFileSync(outside, "OUTSIDE\n");
    const link = join(dir, "swapped-link.md");
    symlinkSync(outside, link);
    expect(readSource(link, 5, 1000)).toEqual({ bytes: 5, skip: "vanished" });
    const fifo = join(dir, "swapped-fifo.md");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    expect(readSource(fifo, 5, 1000)).toEqual({ bytes: 5, skip: "not_regular_file" });
  });
});

describe("chunks and terms", () => {
  test("windows of N tokens overlapping by M, as offsets", () => {
    const text = "one two three four five six seven";
    const spans = chunkSpans(text, 4, 1);
    expect(spans.map((s) => text.slice(s.s, s.e))).toEqual(["one two three four", "four five six seven"]);
    expect(chunkSpans("", 4, 1)).toEqual([]);
    expect(chunkSpans("solo", 4, 1).map((s) => [s.s, s.e])).toEqual([[0, 4]]);
  });
  test("index terms: base terms by position, parts and compounds per chunk, each term in one chunk's core", () => {
    const text = "b a B, c-b ünï snake_case camelCase";
    const spans = chunkSpans(text, 4, 1).map((s): [number, number] => [s.s, s.e]);
    const t = indexTerms(text, "text", spans);
    expect(t.runs.flatMap((r) => r.terms)).toEqual(["b", "a", "b", "c", "b", "ünï", "snake_case", "camelcase"]);
    // chunk 0 is "b a B, c-b", chunk 1 "c-b ünï snake_case camelCase": c-b is in chunk 1's core only
    expect(t.chunkFirst).toEqual([0, 3]);
    expect(t.chunkLen).toEqual([5, 5]);
    expect(t.extra).toEqual([[1, "snake", 0], [1, "case", 0], [1, "camel", 0], [1, "case", 0], [1, "c-b", 0]]);
  });
});

test("the tokenizer reads front matter as the extractor does: closed by `...`, so a later `---` is a thematic break, not its end", () => {
  const text = "---\ntitle: Dots\n...\n\n# Heading One\n\nText\n\n---\n\n## Heading Two\n";
  const heading = indexTerms(text, "markdown", [[0, text.length]]).runs.filter((r) => r.field === FIELD_HEADING).flatMap((r) => r.terms);
  expect(heading).toEqual(["heading", "one", "heading", "two"]);
});

describe("normalize and redact", () => {
  test("NFC and LF", () => {
    expect(normalizeText("\ufeffe\u0301\r\nx\ry")).toBe("\u00e9\nx\ny");
  });
  test("redaction is idempotent and only touches secrets", () => {
    const r = makeRedactor({ enabled: true, detectors: DETECTORS });
    const once = r("password: abc123\nthe password policy is strict\nBearer abcdefghijkl\n");
    expect(once).toBe("password: [REDACTED:credential_kv]\nthe password policy is strict\nBearer [REDACTED:bearer_token]\n");
    expect(r(once)).toBe(once);
    expect(makeRedactor({ enabled: false, detectors: DETECTORS })("password=x")).toBe("password=x");
    expect(makeRedactor({ enabled: true, detectors: ["jwt"] })("password=x")).toBe("password=x");
  });
  test("credential keys: a literal value is a secret, code after the key is not", () => {
    const r = makeRedactor({ enabled: true, detectors: ["credential_kv"] });
    const secret = ["password: hunter2", 'password = "two words"', "DB_PASSWORD=s3cr3t!", "apiToken: 'xyz123'", "  secret: My.Pass1",
      "auth_key: abc.def", "secret: Summer.2024", "client_secret=0123456789abcdef", "token: ghx_notavendor", "password: 'self.x'",
      // Literals that look like code in part: a quoted value, a call-like word with digits or unclosed,
      // a `$` that is no upper-case variable, a default after `:-`, a leading `/`, a keyword prefix.
      'SECRET_KEY = "django-insecure-w9(k2#v!x8=q@p4z^m7r+t0s&b3n"', "DB_PASSWORD=Tr0ub4dor(3)", '"password": "hunter2(x)"',
      "PASSWORD=$ecretPass99", "ADMIN_PASSWORD_HASH=$2b$12$abcdefghijabcdefghijab", "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:-changeme123}",
      "aws_secret_access_key = /kJalrXUtnFEMI/K7MDENG", "password: none-shall-pass", "password: true.blue.2024", "token: any-key-42",
      "password: string!Pass", "password: (secret)", "token = Abc(def", "password: /etc/pw", "password: <hunter2",
      "password = decrypt('s3cret')", "password = Tr0ub4dor(3, x)", "password: Pa(ss)word!", "PASSWORD=Hunter(2)!!", "password=Secret(x)abc",
      "PASSWORD=:hunter2", "token=::abc123", "password=Summer(2024, x)", 'password := "hunter2"', "password = decrypt(b64('s3cret'))",
      // Code joined to a literal: the literal is the secret.
      "password = f(x) + 's3cret'", 'token = process.env.TOKEN ?? "dev-token-123"', "password = getpass() || 'fallback'", "api_key = prefix + 'abc' + suffix",
      'secret = os.environ["SECRET"] || "fallback-secret"', 'token = cfg["prefix"] + "s3cret"', 'password = os.environ.get("PW") or "hunter2"',
      'password = salt + b"hunter2"', 'password = b"hunter2"', "app.secret_key = b'_5#y2L\"F4Q8z'", 'password = rb"hunter2"', "token = rf'abc123'",
      // A longer name that is still a credential: the joined literal goes too.
      'SECRET_KEY = os.environ.get("SECRET_KEY") or "django-insecure-9f8e7d6c5b4a"', 'secretKey: process.env.SESSION_SECRET || "keyboard cat"',
      'JWT_SECRET_KEY = env.JWT ?? "jwt-dev-9f8e7d"', 'password2 = a + "hunter2"', 'api_key_v2 = x or "9f8e7d"',
      // A value that looks like another key on the same line is a value.
      "password: secret:none", "password = token=null",
      // A ternary's literal, a literal in parentheses, after optional chaining, after a type annotation.
      'password = debug ? "dev" : "s3cret"', 'password = isProd ? getSecret() : "hunter2"', 'password = ("abc" + x)',
      'password = (x || "s3cret")', 'password = obj?.pw ?? "x1"', 'password: str = "abc"', 'token: string = "abc123"', "secret = (a + b)",
      'password: Optional[str] = "hunter2"',
      // A key inside a name right after `$` (PHP, Perl, a shell default): the name is no bare shell variable.
      "$db_password = 'hunter2'", 'my $db_password = "hunter2"', '$ApiToken = "abc123"'];
    for (const s of secret) expect(r(s)).toMatch(/[:=]\s*\[REDACTED:credential_kv\]$/);
    const code = ["const tokens = globTokens(pattern);", 'docker run -v "$PWD:/workspace" image', "type GlobToken = { kind: string }",
      "token = self.token", "secret_key = os.environ['X']", "token: string;", "password = None", "PASSWORD=$DB_PASS",
      "client_secret: {{ vault }}", "token = getToken()", "apiKey: process.env.API_KEY", "tokens: [a, b]",
      "password: <placeholder>", "secret: null", "token: ${API_TOKEN}", "const hasToken = Boolean(x)",
      // A call whose arguments hold no literal, and a key that is part of a C++/Rust path.
      "passwd = fallback_getpass(prompt, stream)", "using node::credentials::HasOnly;", "let t = crate::token::parse(x);",
      // Joined without a literal, or to an empty one or a path: code.
      "password = getpass(prompt) + suffix", 'const token = process.env.GITHUB_TOKEN || "";', "password: config.password || '',", 'pwd = process.cwd() + "/data"',
      // A longer name that holds the key: the literal is a default, the first operand is judged.
      'max_tokens = args.max_tokens or "auto"', 'token_type = self.token_type or "Bearer"', 'tokenizer = AutoTokenizer.from_pretrained(name) or "bert"',
      'passphrase_env = cfg["passphrase_env"] or "GPG_PASSPHRASE"', 'const tokenExpiry = config.expiry ?? "1h"',
      // A code span in prose is no literal, nor a template literal of `${…}` alone.
      "token: string or `null`", "const credentials = btoa(`${clientId}:${clientSecret}`);",
      // Code in parentheses, and a type annotation whose value is code.
      "token = (await getToken())", "password = (getpass())", "token: Optional[str] = None", "password: str = os.environ['PW']",
      // An annotated parameter's default that is no quoted literal: code, as the type alone was.
      "def login(self, password: str, token: str | None = None) -> bool:", "def login(password: str = DEFAULT_PASSWORD):",
      "const token: string = await getToken();", 'token: string = ""'];
    for (const s of code) expect(r(s)).toBe(s);
    // A key is no value: the one after it on the next line is judged.
    expect(r("token:\n  password: hunter2")).toBe("token:\n  password: [REDACTED:credential_kv]");
    // ...however it is spelled: a key is a whole name run holding a credential word, on the next line too.
    expect(r("token:\n  db_password: hunter2")).toBe("token:\n  db_password: [REDACTED:credential_kv]");
    expect(r("secret:\n  SMTP_AUTH_TOKEN = hunter2")).toBe("secret:\n  SMTP_AUTH_TOKEN = [REDACTED:credential_kv]");
    // A second pass changes nothing (the `=` of `:=` is no value before a marker).
    for (const s of [...secret, "password:=`", "password :=  x"]) expect(r(r(s))).toBe(r(s));
    // Hostile lines are judged at once: a digit after many `(` was looked for from each of them.
    const t0 = performance.now();
    r("token = " + "(a".repeat(50_000)); r("password = " + "a+".repeat(50_000) + "b"); r("password = " + "a or ".repeat(30_000));
    r(("token=" + "x[i]+".repeat(17) + "y, ").repeat(2_000)); r("password = " + "a[0] or ".repeat(17) + "b");
    r("password = " + "a ? ".repeat(30_000)); r("token = " + "(".repeat(50_000)); r("password = " + "(a) : ".repeat(30_000) + "'x"); r("password: str = " + "a?.".repeat(50_000));
    expect(performance.now() - t0).toBeLessThan(2_000);
  });
  test("hostile text neither stops redaction nor takes time quadratic in its length", () => {
    const r = makeRedactor({ enabled: true, detectors: DETECTORS });
    const after = "\npassword=hunter2\nhttps://u:p4ss@host/x\neyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U\n";
    // An unclosed call of 100,000 characters took the regular expression engine past its
    // backtracking limit: every secret after it was kept. Runs of key words, of scheme-like parts
    // and of `eyJ-` were read to their end from each word in them.
    const hostile = ["x password=f(" + "x".repeat(100_000), "pwd".repeat(40_000), "password".repeat(16_000), "x://y:z@h " + "a.".repeat(100_000),
      "x://y:z@h " + "a+".repeat(100_000), "eyJ-".repeat(50_000), ("token = f(" + "x".repeat(8_000) + "\n").repeat(20)];
    const t0 = performance.now();
    for (const h of hostile) {
      const out = r(h + after);
      expect({ h: h.slice(0, 20), leaked: /hunter2|p4ss|dozjg/.test(out) }).toEqual({ h: h.slice(0, 20), leaked: false });
    }
    expect(performance.now() - t0).toBeLessThan(3_000);
  });
  test("front matter: mapping, invalid YAML reported, no front matter", () => {
    expect(splitFrontMatter("---\ntitle: T\ntags: [a, b]\n---\n# Body\n")).toEqual({ data: { title: "T", tags: ["a", "b"] }, bodyOffset: 30 });
    expect(splitFrontMatter("---\ntitle: [\n---\nbody").error).toContain("invalid front matter");
    expect(splitFrontMatter("# No front matter\n")).toEqual({ data: {}, bodyOffset: 0 });
  });
});

/**
 * Release notes (GitHub's `body`, markdown) → HTML that is safe to put in a page. Bun's parser
 * (`Bun.markdown.render`) hands every element to a callback here, so the output only ever holds the
 * tags written below: text is escaped as it arrives, raw HTML (blocks and inline tags alike) is shown
 * as text, links keep only http(s), mailto and same-site targets, and images become links (the pages'
 * Content-Security-Policy loads no image). No attribute but `href`, `class` and `start` is written.
 */
import { esc } from "./escape.ts";

const SAFE_SCHEMES = new Set(["http", "https", "mailto"]);

const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", colon: ":", tab: "\t", newline: "\n", nbsp: "\u00a0" };

/** Character references in a link destination (Bun's `render` leaves them encoded; CommonMark decodes them). */
function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,8});/gi, (m, ref: string) => {
    if (ref[0] !== "#") return NAMED[ref.toLowerCase()] ?? m;
    const code = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : "\ufffd";
  });
}

/**
 * `s` without leading and trailing controls and spaces (U+0000-U+0020), by hand: the pattern
 * `^[\u0000-\u0020]+|[\u0000-\u0020]+$` tried each blank of a long inner run to its end (a link of
 * 124,000 spaces in release notes: 17 s for a page view).
 */
function trimControls(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s.charCodeAt(a) <= 0x20) a++;
  while (b > a && s.charCodeAt(b - 1) <= 0x20) b--;
  return s.slice(a, b);
}

/**
 * The URL to link to, or undefined when it is not safe. As a browser's URL parser does, leading and
 * trailing controls and spaces are dropped and tabs and newlines removed before the scheme is read
 * (so `java\tscript:` is `javascript:`); a scheme other than http, https or mailto is refused.
 * Without a scheme the link is relative to the page (or a fragment), which is harmless.
 */
export function safeHref(raw: string): string | undefined {
  const href = trimControls(decodeEntities(raw)).replace(/[\t\n\r]/g, "");
  if (href === "") return undefined;
  if (/^www\./i.test(href)) return `http://${href}`; // a GFM "www." autolink
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(href);
  return scheme && !SAFE_SCHEMES.has(scheme[1]!.toLowerCase()) ? undefined : href;
}

const ALIGN = { left: "al-l", center: "al-c", right: "al-r" } as const;
const cell = (tag: "th" | "td") => (children: string, meta?: { align?: keyof typeof ALIGN }) =>
  `<${tag}${meta?.align && ALIGN[meta.align] ? ` class="${ALIGN[meta.align]}"` : ""}>${children}</${tag}>`;

const OPTIONS = { tables: true, strikethrough: true, tasklists: true, autolinks: true };

/** The smallest heading level the notes use (7 when they have none). */
function topHeading(markdown: string): number {
  let top = 7;
  Bun.markdown.render(markdown, { heading: (c, m) => ((top = Math.min(top, m.level)), c) }, OPTIONS);
  return top;
}

/**
 * Renders `markdown` to sanitized HTML. Headings are moved so that the notes' biggest heading is
 * `<h{minHeading}>` (the page's own headings stay above the notes', and no level is skipped);
 * GFM tables, task lists, strikethrough and autolinks are on.
 */
export function renderNotes(markdown: string, minHeading = 3): string {
  const shift = minHeading - topHeading(markdown);
  const callbacks: Callbacks = {
    text: (t) => esc(t),
    heading: (c, m) => {
      const level = Math.max(minHeading, Math.min(6, m.level + shift));
      return `<h${level}>${c}</h${level}>\n`;
    },
    paragraph: (c) => `<p>${c}</p>\n`,
    blockquote: (c) => `<blockquote>${c}</blockquote>\n`,
    code: (c) => `<pre><code>${c}</code></pre>\n`,
    codespan: (c) => `<code>${c}</code>`,
    // Raw HTML is neither run nor dropped: it is shown as the text it is.
    html: (c) => `<pre class="raw-html"><code>${c}</code></pre>\n`,
    list: (c, m) => (m.ordered ? `<ol${m.start !== undefined && m.start !== 1 ? ` start="${Math.trunc(m.start)}"` : ""}>${c}</ol>\n` : `<ul>${c}</ul>\n`),
    listItem: (c, m) => (m.checked === undefined ? `<li>${c}</li>` : `<li class="task">${m.checked ? "☑" : "☐"} ${c}</li>`),
    hr: () => "<hr>\n",
    table: (c) => `<div class="table" role="region" aria-label="Table in the release notes" tabindex="0"><table>${c}</table></div>\n`,
    thead: (c) => `<thead>${c}</thead>`,
    tbody: (c) => `<tbody>${c}</tbody>`,
    tr: (c) => `<tr>${c}</tr>`,
    th: cell("th"),
    td: cell("td"),
    strong: (c) => `<strong>${c}</strong>`,
    emphasis: (c) => `<em>${c}</em>`,
    strikethrough: (c) => `<del>${c}</del>`,
    link: (c, m) => {
      const href = safeHref(m.href);
      return href === undefined ? `<span class="unsafe-link">${c}</span>` : `<a href="${esc(href)}" rel="nofollow noopener noreferrer">${c}</a>`;
    },
    // The page loads no images (CSP img-src 'none'): an image is a link to it, named by its alt text.
    image: (alt, m) => {
      const href = safeHref(m.src);
      const label = alt || "image";
      return href === undefined ? `<span class="unsafe-link">${label}</span>` : `<a href="${esc(href)}" rel="nofollow noopener noreferrer">${label}</a>`;
    },
  };
  // Each element's callback gets its children's HTML and returns its own, so the HTML handed back
  // adds up to the notes' size times their nesting: 20,000 nested quotes or list items (40 KB) took
  // 6-10 s per page view. Past NESTING_BUDGET times the notes, they are shown as the text they are.
  const budget = NESTING_BUDGET * markdown.length + 65_536;
  let handed = 0;
  const counted = Object.fromEntries(Object.entries(callbacks).map(([k, f]) => [k, (...a: unknown[]) => {
    const html = (f as (...a: unknown[]) => string)(...a);
    handed += html.length;
    if (handed > budget) throw TOO_NESTED;
    return html;
  }])) as Callbacks;
  try {
    return Bun.markdown.render(markdown, counted, OPTIONS).trim();
  } catch (err) {
    if (err !== TOO_NESTED) throw err;
    return `<pre class="notes-plain">${esc(markdown)}</pre>`;
  }
}

type Callbacks = NonNullable<Parameters<typeof Bun.markdown.render>[1]>;
/** How many times their own size the HTML the notes' elements hand back may add up to (ordinary notes: a few times). */
const NESTING_BUDGET = 64;
const TOO_NESTED = new Error("release notes nested too deeply to render");

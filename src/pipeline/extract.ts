/**
 * Per-file extraction: from one normalized, redacted text to everything the indexes need about
 * that file (document, sections, decisions, log claims, technologies, references, chunks with
 * their term frequencies, and outgoing edges). Pure: same path + text + settings → same entry.
 * IDs depend only on the workspace-relative path and the content.
 */
import { posix } from "node:path";
import { sha256Hex } from "../shared/hash.ts";
import { chunkSpans, lineAt, lineStarts, termFreq } from "./chunk.ts";
import { parseMarkdown, splitFrontMatter } from "./markdown.ts";

export type NodeType = "document" | "section" | "chunk" | "technology" | "reference" | "decision" | "claim";
export const NODE_TYPES: readonly NodeType[] = ["document", "section", "chunk", "technology", "reference", "decision", "claim"];
export type EdgeType = "contains" | "mentions" | "references" | "links_to";
export const EDGE_TYPES: readonly EdgeType[] = ["contains", "mentions", "references", "links_to"];

export type GraphNode = { id: string; type: NodeType; name: string; path?: string; line?: number; attrs?: Record<string, unknown> };
export type GraphEdge = { source: string; target: string; type: EdgeType; line?: number };
export type Chunk = { s: number; e: number; line: number; end_line: number; len: number; tf: string };

/**
 * What the index shards keep per file (the text itself lives in the text shards). Nodes carry no
 * path: the file they belong to is the key they are stored under (technologies and references are
 * global and belong to no file).
 */
export type FileEntry = {
  sha256: string;
  kind: "markdown" | "code" | "log" | "text";
  doc: GraphNode;
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Relative links to workspace files, resolved to documents when the graph is loaded. */
  links: { target: string; line: number }[];
  chunks: Chunk[];
};

export const docId = (path: string) => `doc_${sha256Hex(`doc\0${path}`).slice(0, 20)}`;
const refId = (url: string) => `ref_${sha256Hex(`ref\0${url}`).slice(0, 20)}`;
export const chunkId = (doc: string, i: number) => `chk_${doc.slice(4)}_${i}`;

const CODE_LANG = new Map<string, string>(Object.entries({
  py: "Python", js: "JavaScript", mjs: "JavaScript", ts: "TypeScript", tsx: "TypeScript", go: "Go", rs: "Rust",
  java: "Java", rb: "Ruby", sh: "Shell", bash: "Shell", c: "C", h: "C", cpp: "C++", sql: "SQL", yaml: "YAML",
  yml: "YAML", toml: "TOML", json: "JSON", javascript: "JavaScript", typescript: "TypeScript", python: "Python",
  rust: "Rust", golang: "Go", ruby: "Ruby", shell: "Shell", zsh: "Shell",
}));
/** Unambiguous technology names recognised in prose (lower-case term → display name). */
const TECH_TERMS = new Map<string, string>(Object.entries({
  postgres: "PostgreSQL", postgresql: "PostgreSQL", mysql: "MySQL", sqlite: "SQLite", redis: "Redis", kafka: "Kafka",
  rabbitmq: "RabbitMQ", docker: "Docker", kubernetes: "Kubernetes", k8s: "Kubernetes", terraform: "Terraform",
  nginx: "nginx", python: "Python", typescript: "TypeScript", javascript: "JavaScript", nodejs: "Node.js",
  golang: "Go", rust: "Rust", graphql: "GraphQL", grpc: "gRPC", elasticsearch: "Elasticsearch", mongodb: "MongoDB",
  react: "React", git: "Git", bun: "Bun", prometheus: "Prometheus", grafana: "Grafana", ansible: "Ansible",
  webassembly: "WebAssembly", openssl: "OpenSSL", json: "JSON", yaml: "YAML", sql: "SQL", linux: "Linux",
}));
const TECH_RE = new RegExp(`(?<![\\p{L}\\p{N}_])(${[...TECH_TERMS.keys()].join("|")})(?![\\p{L}\\p{N}_])`, "gu");
const techId = (name: string) => `tech_${name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "x"}`;

const ERROR_LINE = /\b(?:ERROR|FATAL|CRITICAL|PANIC|Exception|Traceback)\b/;
const MAX_CLAIMS = 500;

function kindOf(path: string): FileEntry["kind"] {
  const ext = posix.extname(path).toLowerCase();
  if (ext === ".md" || ext === ".markdown") return "markdown";
  if (ext === ".log") return "log";
  return CODE_LANG.has(ext.slice(1)) && ext !== ".json" && ext !== ".yaml" && ext !== ".yml" && ext !== ".toml" ? "code" : "text";
}

const isAdr = (path: string) => /(^|\/)(adrs?|decisions?)\//i.test(path) || /^adr[-_ ]?\d+/i.test(posix.basename(path));

export function extractFile(path: string, sha256: string, text: string, chunking: { size: number; overlap: number }): FileEntry {
  const kind = kindOf(path);
  const id = docId(path);
  const starts = lineStarts(text);
  const line = (off: number) => lineAt(starts, off);
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const links: FileEntry["links"] = [];
  const techs = new Map<string, number>();
  const addTech = (name: string, line: number) => { if (!techs.has(name)) techs.set(name, line); };

  let title = posix.basename(path);
  let front: Record<string, unknown> = {};
  if (kind === "markdown") {
    const fm = splitFrontMatter(text);
    front = fm.data;
    const md = parseMarkdown(text, fm.bodyOffset);
    if (typeof front.title === "string" && front.title.trim()) title = front.title.trim();
    else { const h1 = md.headings.find((h) => h.level === 1); if (h1) title = h1.text; }
    md.headings.forEach((h, i) => {
      const sid = `sec_${id.slice(4)}_${i}`;
      nodes.push({ id: sid, type: "section", name: h.text, line: line(h.offset), attrs: { level: h.level } });
      edges.push({ source: id, target: sid, type: "contains" });
    });
    for (const lang of md.fenceLanguages) { const n = CODE_LANG.get(lang); if (n) addTech(n, 1); }
    const refs = new Set<string>();
    for (const l of md.links) {
      const ln = line(l.offset);
      if (/^[a-z][a-z0-9+.-]*:/i.test(l.href)) {
        if (!/^https?:/i.test(l.href) || refs.has(l.href)) continue;
        refs.add(l.href);
        const rid = refId(l.href);
        nodes.push({ id: rid, type: "reference", name: l.href });
        edges.push({ source: id, target: rid, type: "references", line: ln });
      } else if (!l.href.startsWith("#")) {
        const rel = decodeURIComponentSafe(l.href.split(/[?#]/)[0]!);
        if (!rel) continue;
        const target = posix.normalize(rel.startsWith("/") ? rel.slice(1) : posix.join(posix.dirname(path), rel));
        if (!target.startsWith("..")) links.push({ target, line: ln });
      }
    }
    if (isAdr(path)) {
      const status = typeof front.status === "string" ? front.status : statusFromText(text);
      const did = `dec_${id.slice(4)}`;
      nodes.push({ id: did, type: "decision", name: title, line: 1, ...(status ? { attrs: { status } } : {}) });
      edges.push({ source: id, target: did, type: "contains" });
    }
  } else if (kind === "code") {
    addTech(CODE_LANG.get(posix.extname(path).slice(1).toLowerCase())!, 1);
  }
  if (kind === "log") {
    let count = 0;
    const re = /^.*$/gm;
    for (let m = re.exec(text); m && count < MAX_CLAIMS; m = re.exec(text)) {
      if (m[0].length === 0) { re.lastIndex++; continue; }
      if (!ERROR_LINE.test(m[0])) continue;
      const ln = line(m.index);
      const cid = `clm_${id.slice(4)}_${ln}`;
      nodes.push({ id: cid, type: "claim", name: m[0].trim().slice(0, 240), line: ln, attrs: { kind: "error" } });
      edges.push({ source: id, target: cid, type: "contains" });
      count++;
    }
  }

  const lower = text.toLowerCase();
  const chunks: Chunk[] = chunkSpans(text, chunking.size, chunking.overlap).map((sp) => {
    const { tf, len } = termFreq(lower.slice(sp.s, sp.e));
    return { s: sp.s, e: sp.e, line: line(sp.s), end_line: line(sp.e), len, tf };
  });
  if (kind !== "code") {
    TECH_RE.lastIndex = 0;
    for (let m = TECH_RE.exec(lower); m; m = TECH_RE.exec(lower)) addTech(TECH_TERMS.get(m[1]!)!, line(m.index));
  }
  for (const [name, ln] of [...techs].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const tid = techId(name);
    nodes.push({ id: tid, type: "technology", name });
    edges.push({ source: id, target: tid, type: "mentions", line: ln });
  }
  const doc: GraphNode = {
    id, type: "document", name: title, line: 1,
    attrs: { kind, ...(Object.keys(front).length ? { frontmatter: front } : {}) },
  };
  return { sha256, kind, doc, nodes, edges, links, chunks };
}

function statusFromText(text: string): string | undefined {
  const m = /^#{1,6}\s*status\s*\n+\s*([A-Za-z][\w -]{0,40})/im.exec(text) ?? /^status:\s*([A-Za-z][\w -]{0,40})/im.exec(text);
  return m?.[1]?.trim().toLowerCase();
}

function decodeURIComponentSafe(s: string): string {
  try { return decodeURIComponent(s); } catch { return s; }
}

/**
 * The server's stdio transport: newline-delimited JSON-RPC on stdin and stdout, as the SDK's
 * StdioServerTransport, but answering what the SDK leaves unanswered or answers badly, as JSON-RPC
 * 2.0 asks:
 *
 *   a line that is not JSON                          -32700 Parse error, id null (the SDK's only logs it)
 *   JSON that is not a JSON-RPC message (or a batch) -32600 Invalid Request, its id if it has one
 *   a request whose params its method's schema
 *   refuses (`"arguments": "str"` in tools/call)     -32602 Invalid params, one line naming the field
 *                                                    (the SDK gives -32603 with zod's multi-line dump)
 *
 * Everything else goes to the SDK's protocol as it is. A line longer than MAX_LINE_BYTES is a parse
 * error and is skipped up to its newline. The SDK's schemas come from the caller (they live in the
 * SDK's entry point, loaded when the server starts).
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

export const MAX_LINE_BYTES = 10 * 1024 * 1024;

type Issue = { path: PropertyKey[]; message: string };
/** What the transport needs of a zod schema. */
export type Schema = { safeParse(v: unknown): { success: true } | { success: false; error: { issues: Issue[] } } };
export type Schemas = { message: Schema; requests: Record<string, Schema> };

type Id = string | number | null;
const error = (id: Id, code: number, message: string) => ({ jsonrpc: "2.0" as const, id, error: { code, message } });

/**
 * One line for a schema's refusal: the first issue's field and message, and how many more there are.
 * `drop` is a path prefix left unsaid (`params` of a request); `whole` names the checked value when
 * the issue is about all of it.
 */
export function issueLine(issues: readonly Issue[], drop: string[] = [], whole = "the value"): string {
  const first = issues[0];
  if (!first) return "invalid";
  let path = first.path.map(String);
  if (drop.length && drop.every((d, i) => path[i] === d)) path = path.slice(drop.length);
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? "s" : ""})` : "";
  return `${path.length ? `'${path.join(".")}'` : whole}: ${first.message}${more}`.replace(/\s+/g, " ");
}

export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  /** The start of the line being read: chunks that held no newline yet (each byte copied once, when the line ends). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private skipping = false;
  private started = false;
  /** A write the pipe did not take yet: every send waits on this one drain (not a listener each). */
  private drained?: Promise<void>;
  /** Requests handed to the SDK and not answered yet (by id), and who waits for none to be left. */
  private readonly inflight = new Set<string>();
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly schemas: Schemas, private readonly stdin = process.stdin, private readonly stdout = process.stdout) {}

  private readonly onData = (chunk: Buffer) => {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      const size = this.pendingBytes + piece.length;
      const head = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
      if (this.skipping) { this.skipping = false; continue; }
      // A whole line too long (it arrived in one chunk, or the chunk with its newline took it past the limit).
      if (size > MAX_LINE_BYTES) { this.tooLong(); continue; }
      this.lineOf(head.length ? Buffer.concat([...head, piece], size) : piece);
    }
    if (start >= chunk.length || this.skipping) return;
    this.pending.push(chunk.subarray(start));
    this.pendingBytes += chunk.length - start;
    // The start of a line already too long: answered now, the rest dropped up to its newline.
    if (this.pendingBytes > MAX_LINE_BYTES) { this.skipping = true; this.pending = []; this.pendingBytes = 0; this.tooLong(); }
  };
  private tooLong(): void {
    this.reply(error(null, -32700, `Parse error: a message longer than ${MAX_LINE_BYTES} bytes`));
  }
  private readonly onError = (e: Error) => this.onerror?.(e);
  /** Input closed: a last message without its newline is still a message. */
  private readonly onEnd = () => {
    if (this.skipping || this.pendingBytes === 0) return;
    const bytes = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.lineOf(bytes);
  };
  /** A whole line's bytes (without its newline): its text, a trailing \r dropped. */
  private lineOf(bytes: Buffer): void {
    this.line(bytes.toString("utf8").replace(/\r$/, ""));
  }
  /**
   * The client stopped reading (it closed its end of stdout): nothing can be answered any more, so
   * the server ends quietly, with the status it has, as the CLI does on a closed pipe; any other
   * output error is the SDK's to report.
   */
  private readonly onOutputError = (e: Error) => {
    if ((e as NodeJS.ErrnoException).code === "EPIPE") process.exit(process.exitCode ?? 0);
    this.onerror?.(e);
  };

  async start(): Promise<void> {
    if (this.started) throw new Error("the transport is already started");
    this.started = true;
    this.stdin.on("data", this.onData);
    this.stdin.on("end", this.onEnd);
    this.stdin.on("error", this.onError);
    this.stdout.on("error", this.onOutputError);
  }

  private line(text: string): void {
    if (text.trim() === "") return;
    let value: unknown;
    try { value = JSON.parse(text); } catch (e) {
      return this.reply(error(null, -32700, `Parse error: ${(e as Error).message.replace(/^JSON Parse error: /, "")}`.replace(/\s+/g, " ")));
    }
    const obj = value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    const id: Id = obj && (typeof obj.id === "string" || typeof obj.id === "number") ? obj.id : null;
    // A key named `__proto__`, however it is spelled in the text (`"\u005f_proto__"` too: JSON.parse
    // makes it an own key; the SDK's checks copy objects, where it sets the prototype instead):
    // refused, where a tool silently ignored the arguments under it.
    if (hasProtoKey(value)) return this.reply(error(id, -32602, `Invalid params: a key named "__proto__" is not accepted`));
    const parsed = this.schemas.message.safeParse(value);
    if (!parsed.success) {
      const what = Array.isArray(value) ? "batches are not supported" : "not a JSON-RPC 2.0 request, notification or response";
      return this.reply(error(id, -32600, `Invalid Request: ${what}`));
    }
    // A request: its params checked against its method's schema (an unknown method is the SDK's to refuse).
    if (obj && typeof obj.method === "string" && "id" in obj) {
      const schema = this.schemas.requests[obj.method];
      const r = schema?.safeParse(value);
      if (r && !r.success) return this.reply(error(id, -32602, `Invalid params for ${obj.method}: ${issueLine(r.error.issues, ["params"])}`));
    }
    if (obj && typeof obj.method === "string" && "id" in obj) this.inflight.add(JSON.stringify(obj.id));
    // A cancelled request may get no answer (the SDK drops it): not waited for.
    if (obj?.method === "notifications/cancelled") this.answered((obj.params as { requestId?: unknown } | undefined)?.requestId);
    this.onmessage?.(value as JSONRPCMessage);
  }

  /**
   * Resolves once every request handed to the SDK has been answered (so that input closing loses
   * no answer), or after `maxMs` whatever is left.
   */
  idle(maxMs = 30_000): Promise<void> {
    if (this.inflight.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, maxMs);
      this.idleWaiters.push(() => { clearTimeout(t); resolve(); });
    });
  }

  private answered(id: unknown): void {
    if (id === undefined || !this.inflight.delete(JSON.stringify(id)) || this.inflight.size > 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private reply(message: object): void {
    this.send(message as JSONRPCMessage).catch((e) => this.onerror?.(e as Error));
  }

  send(message: JSONRPCMessage): Promise<void> {
    const m = message as { id?: unknown; method?: unknown };
    if (m.method === undefined) this.answered(m.id);
    if (this.stdout.write(JSON.stringify(message) + "\n")) return this.drained ?? Promise.resolve();
    return (this.drained ??= new Promise<void>((resolve) => this.stdout.once("drain", () => { this.drained = undefined; resolve(); })));
  }

  async close(): Promise<void> {
    this.stdin.off("data", this.onData);
    this.stdin.off("end", this.onEnd);
    this.stdin.off("error", this.onError);
    if (this.stdin.listenerCount("data") === 0) this.stdin.pause();
    this.pending = [];
    this.pendingBytes = 0;
    this.onclose?.();
  }
}

/** Whether a parsed JSON value has an own `__proto__` key at any depth (a loop: a line may nest deeper than the call stack). */
function hasProtoKey(value: unknown): boolean {
  const todo: unknown[] = [value];
  while (todo.length) {
    const v = todo.pop();
    if (v === null || typeof v !== "object") continue;
    if (!Array.isArray(v) && Object.hasOwn(v, "__proto__")) return true;
    for (const x of Object.values(v)) if (x !== null && typeof x === "object") todo.push(x);
  }
  return false;
}

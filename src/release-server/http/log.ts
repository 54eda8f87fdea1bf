/**
 * Structured access log: one JSON line per request on stdout. Only the path is logged, never the
 * query string (it may hold a name someone pasted a secret into) and never a header value.
 */
export interface AccessRecord {
  method: string;
  path: string;
  status: number;
  bytes: number;
  duration_ms: number;
  actor: string | null;
  request_id: string;
  error?: string;
}

export type LogSink = (line: string) => void;

export const stdoutSink: LogSink = (line) => process.stdout.write(line + "\n");

export function logAccess(sink: LogSink, rec: AccessRecord): void {
  sink(JSON.stringify({ time: new Date().toISOString(), level: rec.status >= 500 ? "error" : "info", msg: "request", ...rec }));
}

const sizes = new WeakMap<Response, number>();

/** Responses built by this layer record their body size here so the access log can report it. */
export function withSize(res: Response, bytes: number): Response {
  sizes.set(res, bytes);
  return res;
}

export function responseBytes(res: Response, method: string): number {
  if (method === "HEAD" || res.status === 304) return 0;
  return sizes.get(res) ?? Number(res.headers.get("content-length") ?? 0);
}

/**
 * The S3 requests Bun's `S3Client` does not make, or not with the control the blob store needs:
 * multipart uploads step by step (Bun's writer completes the upload even when ended with an error,
 * so a refused upload would become visible; here CompleteMultipartUpload is sent only after the
 * digest matched, and AbortMultipartUpload otherwise), CopyObject (a staged upload moved to its
 * digest key, and a de-duplicated blob's LastModified refreshed), ListMultipartUploads (the sweep
 * of uploads a crashed process left open). Signed with AWS
 * Signature Version 4 from the same credentials Bun reads: `S3_*` or `AWS_*` environment variables,
 * never the config file.
 */

export interface S3Endpoint {
  /** Scheme, host and port, e.g. `http://127.0.0.1:7480` (path-style) or `https://s3.eu-west-1.amazonaws.com`. */
  endpoint: string;
  bucket: string;
  region: string;
  virtualHostedStyle: boolean;
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const env = (name: string): string | undefined => {
  const v = process.env[`S3_${name}`] ?? process.env[`AWS_${name}`];
  return v === undefined || v === "" ? undefined : v;
};

/** The credentials Bun's S3Client would use (S3_* first, then AWS_*), or undefined when none are set. */
export function credentialsFromEnv(): S3Credentials | undefined {
  const accessKeyId = env("ACCESS_KEY_ID");
  const secretAccessKey = env("SECRET_ACCESS_KEY");
  if (!accessKeyId || !secretAccessKey) return undefined;
  return { accessKeyId, secretAccessKey, sessionToken: env("SESSION_TOKEN") };
}

export const envValue = env;

const hmac = (key: string | Uint8Array, data: string): Uint8Array => new Uint8Array(new Bun.CryptoHasher("sha256", key).update(data).digest().buffer);
const sha256Hex = (data: string | Uint8Array): string => new Bun.CryptoHasher("sha256").update(data).digest("hex");

/** RFC 3986 encoding as SigV4 wants it (`/` kept in paths when `keepSlash`). */
function uriEncode(s: string, keepSlash: boolean): string {
  return Array.from(new TextEncoder().encode(s), (b) => {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === "/")) return c;
    return `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }).join("");
}

export const encodeKey = (key: string) => uriEncode(key, true);

/**
 * Signs (payload hash included, so S3 checks the bytes it stores) and sends one request. `signal`
 * cancels it, the body's reading included (a deadline, or an upload given up: its socket and buffer go).
 */
export async function s3Request(
  ep: S3Endpoint,
  creds: S3Credentials,
  req: { method: string; key?: string; query?: Record<string, string>; headers?: Record<string, string>; body?: string | Uint8Array; now?: Date; signal?: AbortSignal },
): Promise<Response> {
  const base = new URL(ep.endpoint);
  const host = ep.virtualHostedStyle ? `${ep.bucket}.${base.host}` : base.host;
  const basePath = base.pathname.replace(/\/+$/, "");
  const path = ep.virtualHostedStyle ? `${basePath}/${encodeKey(req.key ?? "")}` : `${basePath}/${encodeKey(ep.bucket)}${req.key !== undefined ? `/${encodeKey(req.key)}` : ""}`;
  const query = Object.entries(req.query ?? {})
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const now = req.now ?? new Date();
  const amzDate = now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256Hex(req.body ?? "");
  const headers: Record<string, string> = { host, "x-amz-content-sha256": payloadHash, "x-amz-date": amzDate };
  if (creds.sessionToken) headers["x-amz-security-token"] = creds.sessionToken;
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
  const names = Object.keys(headers).sort();
  const canonical = [req.method, path, query, names.map((n) => `${n}:${headers[n]!.trim()}\n`).join(""), names.join(";"), payloadHash].join("\n");
  const scope = `${day}/${ep.region}/s3/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonical)].join("\n");
  let key = hmac(`AWS4${creds.secretAccessKey}`, day);
  for (const part of [ep.region, "s3", "aws4_request"]) key = hmac(key, part);
  const signature = Buffer.from(hmac(key, toSign)).toString("hex");
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  const { host: _host, ...sent } = headers;
  return fetch(`${base.protocol}//${host}${path}${query ? `?${query}` : ""}`, { method: req.method, headers: sent, body: req.body, signal: req.signal });
}

/** The text of one XML element (first match), unescaped; enough for S3's flat responses. */
export function xmlText(xml: string, tag: string): string | undefined {
  const m = xml.match(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`));
  return m ? unescapeXml(m[1]!) : undefined;
}

export function xmlBlocks(xml: string, tag: string): string[] {
  return [...xml.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g"))].map((m) => m[1]!);
}

const unescapeXml = (s: string) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");

/** A failed S3 response as one line: status, S3 error code and message. */
export async function s3Failure(what: string, res: Response): Promise<Error> {
  const text = await res.text().catch(() => "");
  const code = xmlText(text, "Code");
  const message = xmlText(text, "Message");
  return new Error(`${what}: HTTP ${res.status}${code ? ` ${code}` : ""}${message ? `: ${message}` : ""}`);
}

/** Server-side copy of `from` to `to` in the same bucket (up to 5 GiB, S3's single-copy limit). */
export async function copyObject(ep: S3Endpoint, creds: S3Credentials, from: string, to: string, signal?: AbortSignal): Promise<void> {
  const res = await s3Request(ep, creds, {
    method: "PUT",
    key: to,
    signal,
    headers: { "x-amz-copy-source": `/${encodeKey(ep.bucket)}/${encodeKey(from)}`, "x-amz-metadata-directive": "REPLACE", "content-type": "application/octet-stream" },
  });
  const text = res.ok ? await res.text() : "";
  // CopyObject can fail with 200 and an <Error> body.
  if (!res.ok || /<Error>/.test(text)) throw res.ok ? new Error(`copy ${from} → ${to}: ${xmlText(text, "Code") ?? "error"}`) : await s3Failure(`copy ${from} → ${to}`, res);
}

export interface MultipartUpload {
  key: string;
  uploadId: string;
  initiatedMs: number;
}

/** Incomplete multipart uploads under `prefix` (every page). */
export async function listMultipartUploads(ep: S3Endpoint, creds: S3Credentials, prefix: string, signal?: AbortSignal): Promise<MultipartUpload[]> {
  const out: MultipartUpload[] = [];
  let marker: { key: string; id: string } | undefined;
  for (;;) {
    const query: Record<string, string> = { uploads: "", prefix };
    if (marker) Object.assign(query, { "key-marker": marker.key, "upload-id-marker": marker.id });
    const res = await s3Request(ep, creds, { method: "GET", query, signal });
    if (!res.ok) throw await s3Failure("list multipart uploads", res);
    const xml = await res.text();
    for (const block of xmlBlocks(xml, "Upload")) {
      out.push({ key: xmlText(block, "Key") ?? "", uploadId: xmlText(block, "UploadId") ?? "", initiatedMs: Date.parse(xmlText(block, "Initiated") ?? "") });
    }
    if (xmlText(xml, "IsTruncated") !== "true") return out;
    marker = { key: xmlText(xml, "NextKeyMarker") ?? "", id: xmlText(xml, "NextUploadIdMarker") ?? "" };
  }
}

export async function abortMultipartUpload(ep: S3Endpoint, creds: S3Credentials, key: string, uploadId: string, signal?: AbortSignal): Promise<void> {
  const res = await s3Request(ep, creds, { method: "DELETE", key, query: { uploadId }, signal });
  if (!res.ok && res.status !== 404) throw await s3Failure(`abort multipart upload of ${key}`, res);
}

/** PutObject of a body held in memory (a blob smaller than one part). */
export async function putObject(ep: S3Endpoint, creds: S3Credentials, key: string, body: Uint8Array, signal?: AbortSignal): Promise<void> {
  const res = await s3Request(ep, creds, { method: "PUT", key, body, headers: { "content-type": "application/octet-stream" }, signal });
  if (!res.ok) throw await s3Failure(`put ${key}`, res);
  await res.body?.cancel();
}

export async function createMultipartUpload(ep: S3Endpoint, creds: S3Credentials, key: string, signal?: AbortSignal): Promise<string> {
  const res = await s3Request(ep, creds, { method: "POST", key, query: { uploads: "" }, headers: { "content-type": "application/octet-stream" }, signal });
  if (!res.ok) throw await s3Failure(`start multipart upload of ${key}`, res);
  const id = xmlText(await res.text(), "UploadId");
  if (!id) throw new Error(`start multipart upload of ${key}: no UploadId in the answer`);
  return id;
}

/** Uploads one part and returns its ETag. */
export async function uploadPart(ep: S3Endpoint, creds: S3Credentials, key: string, uploadId: string, partNumber: number, body: Uint8Array, signal?: AbortSignal): Promise<string> {
  const res = await s3Request(ep, creds, { method: "PUT", key, query: { partNumber: String(partNumber), uploadId }, body, signal });
  if (!res.ok) throw await s3Failure(`upload part ${partNumber} of ${key}`, res);
  await res.body?.cancel();
  const etag = res.headers.get("etag");
  if (!etag) throw new Error(`upload part ${partNumber} of ${key}: no ETag in the answer`);
  return etag;
}

export async function completeMultipartUpload(ep: S3Endpoint, creds: S3Credentials, key: string, uploadId: string, etags: string[]): Promise<void> {
  const xml = `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</ETag></Part>`).join("")}</CompleteMultipartUpload>`;
  const res = await s3Request(ep, creds, { method: "POST", key, query: { uploadId }, body: xml, headers: { "content-type": "application/xml" } });
  const text = res.ok ? await res.text() : "";
  // CompleteMultipartUpload can fail with 200 and an <Error> body.
  if (!res.ok || /<Error>/.test(text)) throw res.ok ? new Error(`complete multipart upload of ${key}: ${xmlText(text, "Code") ?? "error"}`) : await s3Failure(`complete multipart upload of ${key}`, res);
}

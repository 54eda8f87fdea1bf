/**
 * The OpenAPI 3.1 description of every endpoint, served at `/openapi.json`. A contract test walks it
 * against the running server (each documented operation is called and its status and JSON shape
 * checked), so it cannot drift silently.
 */
import { VERSION } from "../../shared/build-info.ts";

type Obj = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonBody = (schema: Obj, description: string) => ({ description, content: { "application/json": { schema } } });
const err = (description: string) => jsonBody(ref("Error"), description);
const pathParam = (name: string, type: "string" | "integer" = "string") => ({ name, in: "path", required: true, schema: { type } });
const query = (name: string, type: "string" | "integer" | "boolean", description: string) => ({ name, in: "query", required: false, schema: { type }, description });
const nullable = (type: string) => ({ type: [type, "null"] });
const bytes = (description: string) => ({ description, content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } });

const REPO = [pathParam("owner"), pathParam("app")];
const INSTALL_ID = { name: "X-Install-Id", in: "header", required: false, schema: { type: "string" }, description: "Stable client id for staged rollouts (x-user-staging-id is also read)" };
const CHANNEL = query("channel", "string", "Release channel (default: the app's default channel)");
const AUTH = [{ token: [] }];

const download = (summary: string, params: Obj[]) => ({
  get: {
    summary,
    parameters: params,
    responses: {
      "200": bytes("The asset's bytes (ETag is the sha256; HEAD, Range and If-None-Match are honoured)"),
      "206": bytes("The requested byte range"),
      "304": { description: "Not modified (If-None-Match matched)" },
      "404": err("No such app, release or asset"),
      "416": { description: "Range not satisfiable" },
    },
  },
});

/** The seed's own endpoints, mounted at the root for the default app and under /apps/{owner}/{app}. */
function seedPaths(prefix: string, params: Obj[]): Obj {
  return {
    [`${prefix}/upload`]: {
      post: {
        summary: "Upload a package (raw body); creates the release for `version` if needed",
        security: AUTH,
        parameters: [
          ...params,
          { ...query("name", "string", "File name of the asset"), required: true },
          { ...query("version", "string", "The release: its tag, or a semantic version (1.2.3 finds the release tagged 1.2.3, else v1.2.3); a new release is tagged v<version>, or with the tag given (any tag git accepts, such as nightly or release/1.0)"), required: true },
          CHANNEL,
          query("label", "string", "Display label"),
          query("digest", "string", "Declared sha256:<hex>; a mismatch is refused with 422"),
        ],
        requestBody: { required: true, content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } },
        responses: {
          "201": jsonBody(ref("Upload"), "Stored"),
          "400": err("Bad request"),
          "401": err("Missing or invalid token"),
          "403": err("Token lacks the publish scope"),
          "404": err("No such app"),
          "413": err("Larger than the configured maximum"),
          "415": err("Multipart bodies are not accepted; send the raw bytes"),
          "422": err("Invalid name or version, digest mismatch or duplicate asset"),
        },
      },
    },
    [`${prefix}/latest`]: {
      get: {
        summary: "The latest release (honours the channel's staged rollout)",
        parameters: [...params, CHANNEL, INSTALL_ID],
        responses: { "200": jsonBody(ref("Release"), "The release"), "404": err("No published release") },
      },
    },
    [`${prefix}/assets/{filename}`]: {
      ...download("Download the newest release's asset of this name", [...params, pathParam("filename")]),
      delete: {
        summary: "Delete the asset of this name from the newest release that has it (or from `version`)",
        security: AUTH,
        parameters: [...params, pathParam("filename"), query("version", "string", "Release version")],
        responses: { "204": { description: "Deleted" }, "401": err("Missing or invalid token"), "403": err("Token lacks the delete scope"), "404": err("No such asset") },
      },
    },
    [`${prefix}/packages`]: {
      get: {
        summary: "Browse releases and assets: HTML, or JSON with Accept: application/json or ?format=json",
        parameters: [...params, query("format", "string", "json for JSON"), query("page", "integer", "Page"), query("per_page", "integer", "Page size")],
        responses: {
          "200": { description: "The listing", content: { "text/html": { schema: { type: "string" } }, "application/json": { schema: ref("Packages") } } },
          "404": err("No such app"),
          "422": err("page or per_page is not a whole number, or page is above 1000000"),
        },
      },
    },
  };
}

const api = "/api/v3/repos/{owner}/{app}";

export const openapi = {
  openapi: "3.1.0",
  info: { title: "release-server", version: VERSION, description: "GitHub-Releases-compatible release server" },
  components: {
    securitySchemes: { token: { type: "http", scheme: "bearer", description: "`Authorization: Bearer <token>` or `Authorization: token <token>`; never in the query string" } },
    schemas: {
      Error: { type: "object", required: ["message"], properties: { message: { type: "string" }, documentation_url: { type: "string" }, errors: { type: "array" } } },
      Asset: {
        type: "object",
        required: ["url", "browser_download_url", "id", "node_id", "name", "label", "state", "content_type", "size", "digest", "download_count", "created_at", "updated_at"],
        properties: {
          url: { type: "string" }, browser_download_url: { type: "string" }, id: { type: "integer" }, node_id: { type: "string" },
          name: { type: "string" }, label: nullable("string"), state: { type: "string", enum: ["uploaded"] }, content_type: { type: "string" },
          size: { type: "integer" }, digest: { type: "string", pattern: "^sha256:[0-9a-f]{64}$" }, download_count: { type: "integer" },
          created_at: { type: "string" }, updated_at: { type: "string" },
        },
      },
      Release: {
        type: "object",
        required: ["url", "html_url", "assets_url", "upload_url", "id", "node_id", "tag_name", "name", "body", "draft", "prerelease", "created_at", "published_at", "assets"],
        properties: {
          url: { type: "string" }, html_url: { type: "string" }, assets_url: { type: "string" }, upload_url: { type: "string" },
          id: { type: "integer" }, node_id: { type: "string" }, tag_name: { type: "string" }, name: nullable("string"), body: nullable("string"),
          draft: { type: "boolean" }, prerelease: { type: "boolean" }, created_at: { type: "string" }, published_at: nullable("string"),
          assets: { type: "array", items: ref("Asset") },
        },
      },
      ReleasePatch: {
        type: "object",
        properties: { tag_name: { type: "string" }, name: nullable("string"), body: nullable("string"), draft: { type: "boolean" }, prerelease: { type: "boolean" }, channel: nullable("string") },
      },
      AssetPatch: { type: "object", properties: { name: { type: "string" }, label: nullable("string") } },
      ApiRoot: { type: "object", required: ["repository_url", "releases_url", "graphql_url"], properties: { repository_url: { type: "string" }, releases_url: { type: "string" }, graphql_url: { type: "string" } } },
      GraphQLRequest: { type: "object", required: ["query"], properties: { query: { type: "string" }, variables: { type: "object" }, operationName: { type: "string" } } },
      GraphQLResponse: { type: "object", properties: { data: { type: ["object", "null"] }, errors: { type: "array", items: { type: "object", required: ["type", "message"], properties: { type: { type: "string" }, message: { type: "string" } } } } } },
      NewRelease: {
        type: "object",
        required: ["tag_name"],
        properties: { tag_name: { type: "string" }, name: { type: "string" }, body: { type: "string" }, draft: { type: "boolean" }, prerelease: { type: "boolean" }, channel: { type: "string" } },
      },
      Upload: { type: "object", required: ["release", "asset"], properties: { release: ref("Release"), asset: ref("Asset") } },
      Packages: {
        type: "object",
        required: ["owner", "app", "releases", "total"],
        properties: { owner: { type: "string" }, app: { type: "string" }, total: { type: "integer" }, releases: { type: "array", items: ref("Release") } },
      },
      Channel: {
        type: "object",
        required: ["name", "app", "current_release_id", "current_tag", "previous_release_id", "previous_tag", "rollout_percent", "policy", "updated_at"],
        properties: {
          name: { type: "string" }, app: { type: "string" }, current_release_id: nullable("integer"), current_tag: nullable("string"),
          previous_release_id: nullable("integer"), previous_tag: nullable("string"), rollout_percent: { type: "number" }, policy: { type: "object" }, updated_at: { type: "string" },
        },
      },
      Promote: { type: "object", required: ["release_id"], properties: { release_id: { type: "integer" }, rollout_percent: { type: "number" } } },
      Rollout: { type: "object", required: ["rollout_percent"], properties: { rollout_percent: { type: "number" } } },
      Apps: {
        type: "array",
        items: {
          type: "object",
          required: ["owner", "slug", "name", "private", "html_url", "release_count", "latest", "channels"],
          properties: {
            owner: { type: "string" }, slug: { type: "string" }, name: { type: "string" }, private: { type: "boolean" }, html_url: { type: "string" },
            release_count: { type: "integer" },
            latest: { type: ["object", "null"], properties: { tag_name: { type: "string" }, name: { type: "string" }, html_url: { type: "string" }, published_at: { type: ["string", "null"] } } },
            channels: { type: "array", items: { type: "object", properties: { name: { type: "string" }, rollout_percent: { type: "number" }, current: { type: ["object", "null"] }, previous: { type: ["object", "null"] }, updated_at: { type: "string" } } } },
          },
        },
      },
    },
  },
  paths: {
    "/api/v3": {
      get: { summary: "GitHub's API root (what gh reads to log in to an Enterprise host); with a token, its scopes in X-OAuth-Scopes", responses: { "200": jsonBody(ref("ApiRoot"), "URL templates") } },
    },
    "/api/v3/user": {
      get: { summary: "The token's user (GitHub's authenticated user: login, id, node_id, type, name, site_admin)", security: AUTH, responses: { "200": jsonBody({ type: "object", required: ["login", "id", "type"], properties: { login: { type: "string" }, id: { type: "integer" }, node_id: { type: "string" }, type: { type: "string" }, name: { type: "string" }, site_admin: { type: "boolean" } } }, "The user"), "401": err("Missing or invalid token") } },
    },
    "/api/graphql": {
      post: {
        summary: "GitHub GraphQL for releases: viewer { login }, repository(owner, name) { releases(first, after, orderBy), release(tagName), latestRelease, viewerPermission }; anything else is an error in GitHub's shape",
        security: AUTH,
        requestBody: { required: true, content: { "application/json": { schema: ref("GraphQLRequest") } } },
        responses: { "200": jsonBody(ref("GraphQLResponse"), "data, and errors [{type, message}] for what is refused"), "400": jsonBody(ref("GraphQLResponse"), "Not a GraphQL request"), "401": err("Missing or invalid token"), "413": err("Too large"), "415": err("A multipart form (any other Content-Type is read as JSON)") },
      },
    },
    "/healthz": { get: { summary: "Liveness", responses: { "200": jsonBody({ type: "object" }, "Alive") } } },
    "/readyz": { get: { summary: "Readiness: database and blob store usable", responses: { "200": jsonBody({ type: "object" }, "Ready"), "503": err("Not ready") } } },
    "/openapi.json": { get: { summary: "This document", responses: { "200": jsonBody({ type: "object" }, "OpenAPI 3.1") } } },
    "/static/site.css": { get: { summary: "The package browser's stylesheet (cached for good with ?v=<digest>, as the pages link it)", parameters: [query("v", "string", "Content digest")], responses: { "200": { description: "CSS", content: { "text/css": { schema: { type: "string" } } } }, "304": { description: "Not modified" } } } },
    "/": { get: { summary: "The server's root: a redirect to /apps (the query string kept)", responses: { "302": { description: "To /apps" } } } },
    "/apps": { get: { summary: "Every app (HTML, or JSON)", parameters: [query("format", "string", "json for JSON")], responses: { "200": { description: "Apps", content: { "text/html": { schema: { type: "string" } }, "application/json": { schema: ref("Apps") } } } } } },
    "/apps/{owner}/{app}": { get: { summary: "An app's page: install command, channels, releases (as /{owner}/{app}/releases; JSON with ?format=json)", parameters: [...REPO, query("page", "integer", "Page"), query("per_page", "integer", "Page size"), query("format", "string", "json for JSON")], responses: { "200": { description: "Page", content: { "text/html": { schema: { type: "string" } }, "application/json": { schema: ref("Packages") } } }, "404": err("No such app") } } },
    [`${api}/releases`]: {
      get: {
        summary: "List releases, newest first (drafts only with a token)",
        parameters: [...REPO, query("per_page", "integer", "1-100 (larger is 100), default 30"), query("page", "integer", "From 1 to 1000000; past the end is an empty page")],
        responses: { "200": jsonBody({ type: "array", items: ref("Release") }, "A page; Link header when there are more"), "404": err("No such app"), "422": err("page or per_page is not a whole number, or page is above 1000000") },
      },
      post: {
        summary: "Create a release",
        security: AUTH,
        parameters: REPO,
        requestBody: { required: true, content: { "application/json": { schema: ref("NewRelease") } } },
        responses: { "201": jsonBody(ref("Release"), "Created"), "400": err("Malformed JSON"), "401": err("Missing or invalid token"), "403": err("Token lacks the publish scope (for the body's channel)"), "404": err("No such app"), "415": err("A multipart form (any other Content-Type is read as JSON)"), "422": err("Validation failed or tag exists") },
      },
    },
    [`${api}/releases/latest`]: {
      get: {
        summary: "Newest published, non-draft, non-prerelease release (channel- and rollout-aware)",
        parameters: [...REPO, CHANNEL, INSTALL_ID],
        responses: { "200": jsonBody(ref("Release"), "The release"), "404": err("No such app, or no release") },
      },
    },
    [`${api}/channels`]: { get: { summary: "The app's channels: where each points, the release it replaced, the rollout", parameters: REPO, responses: { "200": jsonBody({ type: "array", items: ref("Channel") }, "Channels"), "404": err("No such app") } } },
    [`${api}/channels/{channel}`]: {
      get: { summary: "One channel", parameters: [...REPO, pathParam("channel")], responses: { "200": jsonBody(ref("Channel"), "The channel"), "404": err("No such app or channel") } },
      put: {
        summary: "Promote a release onto the channel (created on first use) at rollout_percent (default 100); the release it replaces becomes the fallback",
        security: AUTH,
        parameters: [...REPO, pathParam("channel")],
        requestBody: { required: true, content: { "application/json": { schema: ref("Promote") } } },
        responses: { "200": jsonBody(ref("Channel"), "The channel"), "400": err("Malformed JSON"), "401": err("Missing or invalid token"), "403": err("Token lacks the promote action for this channel"), "404": err("No such app or release"), "409": err("The promotion gate refused (draft, no files, an invalid file)"), "415": err("A multipart form (any other Content-Type is read as JSON)"), "422": err("Validation failed") },
      },
      patch: {
        summary: "Change the channel's rollout percentage (0 halts it)",
        security: AUTH,
        parameters: [...REPO, pathParam("channel")],
        requestBody: { required: true, content: { "application/json": { schema: ref("Rollout") } } },
        responses: { "200": jsonBody(ref("Channel"), "The channel"), "400": err("Malformed JSON"), "401": err("Missing or invalid token"), "403": err("Token lacks the promote action for this channel"), "404": err("No such app or channel"), "415": err("A multipart form (any other Content-Type is read as JSON)"), "422": err("Validation failed") },
      },
    },
    [`${api}/channels/{channel}/rollback`]: {
      post: { summary: "Put the channel back on its previous release, at 100%", security: AUTH, parameters: [...REPO, pathParam("channel")], responses: { "200": jsonBody(ref("Channel"), "The channel"), "401": err("Missing or invalid token"), "403": err("Token lacks the promote action for this channel"), "404": err("No such app or channel"), "409": err("No previous release") } },
    },
    [`${api}/releases/tags/{tag}`]: { get: { summary: "Release by tag", parameters: [...REPO, pathParam("tag")], responses: { "200": jsonBody(ref("Release"), "The release"), "404": err("Not found") } } },
    [`${api}/releases/{release_id}`]: {
      get: { summary: "Release by id", parameters: [...REPO, pathParam("release_id", "integer")], responses: { "200": jsonBody(ref("Release"), "The release"), "404": err("Not found") } },
      patch: {
        summary: "Edit a release: tag_name, name, body, prerelease, channel; draft: false publishes a draft (sets published_at)",
        security: AUTH,
        parameters: [...REPO, pathParam("release_id", "integer")],
        requestBody: { required: true, content: { "application/json": { schema: ref("ReleasePatch") } } },
        responses: { "200": jsonBody(ref("Release"), "The edited release"), "400": err("Malformed JSON"), "401": err("Missing or invalid token"), "403": err("Token may not publish to the release's (or the new) channel"), "404": err("Not found"), "409": err("A channel's release cannot become a draft"), "415": err("A multipart form (any other Content-Type is read as JSON)"), "422": err("Validation failed or tag exists") },
      },
      delete: { summary: "Delete a release and its assets", security: AUTH, parameters: [...REPO, pathParam("release_id", "integer")], responses: { "204": { description: "Deleted" }, "401": err("Missing or invalid token"), "403": err("Token lacks the delete scope"), "404": err("Not found"), "409": err("The release is a channel's current or previous release") } },
    },
    [`${api}/releases/{release_id}/assets`]: { get: { summary: "A release's assets", parameters: [...REPO, pathParam("release_id", "integer")], responses: { "200": jsonBody({ type: "array", items: ref("Asset") }, "Assets"), "404": err("Not found") } } },
    [`${api}/releases/assets/{asset_id}`]: {
      get: {
        summary: "Asset metadata, or its bytes with Accept: application/octet-stream",
        parameters: [...REPO, pathParam("asset_id", "integer")],
        responses: { "200": { description: "Asset JSON or bytes", content: { "application/json": { schema: ref("Asset") }, "application/octet-stream": { schema: { type: "string", format: "binary" } } } }, "206": bytes("A byte range"), "304": { description: "Not modified" }, "404": err("Not found") },
      },
      patch: {
        summary: "Rename an asset or change its label",
        security: AUTH,
        parameters: [...REPO, pathParam("asset_id", "integer")],
        requestBody: { required: true, content: { "application/json": { schema: ref("AssetPatch") } } },
        responses: { "200": jsonBody(ref("Asset"), "The edited asset"), "400": err("Malformed JSON"), "401": err("Missing or invalid token"), "403": err("Token lacks the publish scope"), "404": err("Not found"), "415": err("A multipart form (any other Content-Type is read as JSON)"), "422": err("Invalid name or label, or the name is taken") },
      },
      delete: { summary: "Delete an asset", security: AUTH, parameters: [...REPO, pathParam("asset_id", "integer")], responses: { "204": { description: "Deleted" }, "401": err("Missing or invalid token"), "403": err("Token lacks the delete scope"), "404": err("Not found") } },
    },
    "/api/uploads/repos/{owner}/{app}/releases/{release_id}/assets": {
      post: {
        summary: "Upload an asset: the raw bytes as the body, as GitHub's uploads host takes them",
        security: AUTH,
        parameters: [...REPO, pathParam("release_id", "integer"), { ...query("name", "string", "File name"), required: true }, query("label", "string", "Display label"), query("digest", "string", "Declared sha256:<hex>")],
        requestBody: { required: true, content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } },
        responses: { "201": jsonBody(ref("Asset"), "Stored"), "400": err("Bad request"), "401": err("Missing or invalid token"), "403": err("Token lacks the publish scope"), "404": err("No such release"), "413": err("Too large"), "415": err("Multipart body"), "422": err("Invalid name, label or Content-Type, or duplicate name (refused before the body is read), or digest mismatch") },
      },
    },
    "/{owner}/{app}/releases/download/{tag}/{asset}": download("Download an asset (browser_download_url)", [...REPO, pathParam("tag"), pathParam("asset")]),
    "/{owner}/{app}/releases/latest/download/{asset}": download("Download an asset of the latest release (rollout-aware)", [...REPO, pathParam("asset"), CHANNEL, INSTALL_ID]),
    "/{owner}/{app}/releases": {
      get: { summary: "HTML page of an app's releases (JSON with ?format=json)", parameters: [...REPO, query("page", "integer", "Page"), query("format", "string", "json for JSON")], responses: { "200": { description: "Page", content: { "text/html": { schema: { type: "string" } }, "application/json": { schema: ref("Packages") } } }, "404": err("No such app") } },
    },
    "/{owner}/{app}/releases/tag/{tag}": {
      get: { summary: "HTML page of one release (html_url; JSON with ?format=json)", parameters: [...REPO, pathParam("tag"), query("format", "string", "json for JSON")], responses: { "200": { description: "Page", content: { "text/html": { schema: { type: "string" } }, "application/json": { schema: ref("Release") } } }, "404": err("Not found") } },
    },
    ...seedPaths("", []),
    ...seedPaths("/apps/{owner}/{app}", REPO),
  },
};

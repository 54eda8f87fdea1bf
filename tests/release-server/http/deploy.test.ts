// Deployment files. The Containerfile is checked for what the image promises; the Helm chart is validated without helm (not installable here): a renderer for the small template
// subset the chart allows (value lookups; if/else/end on a value or on eq, ne, not; quote, b64enc,
// toYaml, nindent, required; `{{-`/`-}}` whitespace trimming as Helm does) turns every template into
// YAML, which is parsed and checked for what a cluster needs. Loops, helpers and other functions are
// deliberately not used in the chart, so this renderer fails on them. deploy/compose.yaml (the local
// trial with PostgreSQL, an S3 server and two replicas) cannot be run here either (no registry access):
// its structure is checked on the parsed file.
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { databaseOf, parseConfig } from "../../../src/release-server/config.ts";

const DEPLOY = join(import.meta.dir, "../../../deploy");
const CHART = join(DEPLOY, "helm/release-server");

type Scope = Record<string, unknown>;

function lookup(scope: Scope, path: string): unknown {
  return path.split(".").filter(Boolean).reduce<unknown>((v, k) => (v as Scope | undefined)?.[k], scope);
}

function evalPipeline(expr: string, scope: Scope): string {
  const stages = expr.split("|").map((s) => s.trim());
  const words = (s: string) => s.match(/"[^"]*"|\S+/g) ?? [];
  const arg = (w: string) => (w.startsWith('"') ? w.slice(1, -1) : w.startsWith(".") ? lookup(scope, w) : Number(w));
  const first = words(stages[0]!);
  let v: unknown;
  if (first[0]!.startsWith(".")) v = arg(first[0]!);
  else if (first[0] === "required") {
    v = arg(first[2]!);
    if (v === undefined || v === null || v === "") throw new Error(`required: ${arg(first[1]!)}`);
  } else if (first[0] === "toYaml") v = YAML.stringify(arg(first[1]!)).trimEnd();
  else throw new Error(`unsupported template function: ${first[0]}`);
  for (const stage of stages.slice(1)) {
    const [fn, n] = words(stage);
    if (fn === "quote") v = JSON.stringify(String(v));
    else if (fn === "b64enc") v = Buffer.from(String(v)).toString("base64");
    else if (fn === "nindent") v = "\n" + String(v).split("\n").map((l) => " ".repeat(Number(n)) + l).join("\n");
    else throw new Error(`unsupported template function: ${fn}`);
  }
  return String(v);
}

/** Evaluates an `if` condition: a value (truthy as in Go templates), or eq/ne/not of values. */
function evalCondition(expr: string, scope: Scope): boolean {
  const words = expr.match(/"[^"]*"|\S+/g) ?? [];
  const arg = (w: string) => (w.startsWith('"') ? w.slice(1, -1) : w.startsWith(".") ? lookup(scope, w) : Number(w));
  const truthy = (v: unknown) => !(v === undefined || v === null || v === false || v === "" || v === 0 || (typeof v === "object" && Object.keys(v as object).length === 0));
  if (words[0] === "eq") return arg(words[1]!) === arg(words[2]!);
  if (words[0] === "ne") return arg(words[1]!) !== arg(words[2]!);
  if (words[0] === "not") return !truthy(arg(words[1]!));
  if (words.length === 1 && words[0]!.startsWith(".")) return truthy(arg(words[0]!));
  throw new Error(`unsupported condition: ${expr}`);
}

/** Renders one template's text: actions, trimming and if/else/end blocks, as Helm would for this subset. */
function renderText(text: string, scope: Scope): string {
  const parts: ({ text: string } | { action: string })[] = [];
  let last = 0;
  for (const m of text.matchAll(/\{\{(-?)\s*(.*?)\s*(-?)\}\}/g)) {
    let before = text.slice(last, m.index);
    if (m[1] === "-") before = before.replace(/\s+$/, "");
    parts.push({ text: before }, { action: m[2]! });
    last = m.index! + m[0].length;
    if (m[3] === "-") last += text.slice(last).match(/^\s*/)![0].length;
  }
  parts.push({ text: text.slice(last) });
  const stack: { on: boolean; outer: boolean; done: boolean }[] = [];
  const active = () => stack.every((f) => f.on);
  let out = "";
  for (const p of parts) {
    if ("text" in p) {
      if (active()) out += p.text;
      continue;
    }
    const a = p.action;
    if (a.startsWith("if ")) {
      const outer = active();
      const on = outer && evalCondition(a.slice(3), scope);
      stack.push({ on, outer, done: on });
    } else if (a === "else") {
      const f = stack.at(-1) ?? fail("else without if");
      f.on = f.outer && !f.done;
      f.done = true;
    } else if (a === "end") {
      stack.pop() ?? fail("end without if");
    } else if (active()) out += evalPipeline(a, scope);
  }
  if (stack.length) throw new Error("if without end");
  return out;
}

function fail(msg: string): never {
  throw new Error(msg);
}

function render(values: Scope): Record<string, any>[] {
  const scope: Scope = {
    Values: values,
    Release: { Name: "rel", Namespace: "default" },
    Chart: YAML.parse(readFileSync(join(CHART, "Chart.yaml"), "utf8")),
  };
  return readdirSync(join(CHART, "templates"))
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => YAML.parse(renderText(readFileSync(join(CHART, "templates", f), "utf8"), scope)))
    .filter((doc) => doc !== null); // a template whose condition is false renders nothing (comments only)
}

const defaults = () => YAML.parse(readFileSync(join(CHART, "values.yaml"), "utf8"));

describe("helm chart deploy/helm/release-server", () => {
  test("Chart.yaml is a v2 application chart", () => {
    const chart = YAML.parse(readFileSync(join(CHART, "Chart.yaml"), "utf8"));
    expect(chart).toMatchObject({ apiVersion: "v2", name: "release-server", type: "application" });
    expect(chart.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test("rendering without an admin token fails like helm's `required`", () => {
    expect(() => render(defaults())).toThrow("adminToken is required");
  });

  const docs = render({ ...defaults(), adminToken: "rls_example" });
  const byKind = (kind: string) => docs.find((d) => d.kind === kind)!;

  test("renders a StatefulSet with a PVC template, a Service and a Secret", () => {
    expect(docs.map((d) => d.kind).sort()).toEqual(["ConfigMap", "Secret", "Service", "StatefulSet"]);
    for (const d of docs) expect(d.metadata.name).toStartWith("rel");
    const claim = byKind("StatefulSet").spec.volumeClaimTemplates[0];
    expect(claim.metadata.name).toBe("data");
    expect(claim.spec.resources.requests.storage).toBe("20Gi");
  });

  test("the Secret holds the admin token and the container reads it from there", () => {
    const secret = byKind("Secret");
    expect(Buffer.from(secret.data["admin-token"], "base64").toString()).toBe("rls_example");
    const env = byKind("StatefulSet").spec.template.spec.containers[0].env;
    const admin = env.find((e: any) => e.name === "RELEASE_SERVER_ADMIN_TOKEN");
    expect(admin.valueFrom.secretKeyRef).toEqual({ name: secret.metadata.name, key: "admin-token" });
  });

  test("non-root, read-only root filesystem, no privilege escalation, data on a volume", () => {
    const pod = byKind("StatefulSet").spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    const c = pod.containers[0];
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    expect(c.volumeMounts.map((m: any) => m.mountPath).sort()).toEqual(["/data", "/etc/release-server", "/tmp"]);
    expect(c.args).toEqual(expect.arrayContaining(["serve", "--data", "/data"]));
  });

  test("the ConfigMap holds a config file the server itself accepts, mounted where --config points", () => {
    const cm = byKind("ConfigMap");
    const config = parseConfig(cm.data["release-server.yaml"], "configmap");
    expect(config.uploads.max_bytes).toBe(defaults().config.uploads.max_bytes);
    const pod = byKind("StatefulSet").spec.template.spec;
    const c = pod.containers[0];
    const file = c.args[c.args.indexOf("--config") + 1];
    const mount = c.volumeMounts.find((m: any) => file.startsWith(m.mountPath + "/"));
    expect(pod.volumes.find((v: any) => v.name === mount.name).configMap.name).toBe(cm.metadata.name);
    expect(() => parseConfig(YAML.stringify({ uploads: { max_bytes: "big" } }), "configmap")).toThrow("uploads.max_bytes");
  });

  test("probes hit /healthz and /readyz on the named port the Service targets; resources are set", () => {
    const c = byKind("StatefulSet").spec.template.spec.containers[0];
    expect(c.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
    expect(c.ports).toEqual([{ name: "http", containerPort: 8080 }]);
    expect(byKind("Service").spec.ports[0].targetPort).toBe("http");
    expect(byKind("Service").spec.selector).toEqual(byKind("StatefulSet").spec.selector.matchLabels);
    expect(c.resources).toEqual(defaults().resources);
  });
});

describe("helm chart with backends: external (PostgreSQL + S3)", () => {
  const external = (extra: Scope = {}) => {
    const d = defaults();
    return { ...d, adminToken: "rls_example", backends: "external", replicas: 3, external: { ...d.external, databaseUrl: "postgres://rs:pw@pg:5432/rs", s3AccessKeyId: "AKID", s3SecretAccessKey: "SECRET", s3: { bucket: "rel", endpoint: "http://s3.internal:9000", region: "eu-west-1" }, ...extra } };
  };
  const docs = render(external());
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
  const deployment = () => byKind("Deployment")[0]!;
  const container = () => deployment().spec.template.spec.containers[0];
  const secretRef = (name: string) => container().env.find((e: any) => e.name === name)?.valueFrom?.secretKeyRef;

  test("a Deployment with `replicas` pods, no StatefulSet, no volume claim", () => {
    expect(docs.map((d) => d.kind).sort()).toEqual(["ConfigMap", "Deployment", "Secret", "Secret", "Service"]);
    expect(deployment().spec.replicas).toBe(3);
    expect(JSON.stringify(docs)).not.toContain("volumeClaimTemplates");
    expect(JSON.stringify(docs)).not.toContain("persistentVolumeClaim");
    const pod = deployment().spec.template.spec;
    expect(pod.volumes.find((v: any) => v.name === "data")).toEqual({ name: "data", emptyDir: {} });
    expect(byKind("Service")[0]!.spec.selector).toEqual(deployment().spec.selector.matchLabels);
    expect(deployment().spec.template.metadata.labels).toMatchObject(deployment().spec.selector.matchLabels);
  });

  test("the database URL and the S3 keys come from a Secret through secretKeyRef, not from the ConfigMap", () => {
    const secret = byKind("Secret").find((s) => s.metadata.name === "rel-backends")!;
    const decoded = Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(String(v), "base64").toString()]));
    expect(decoded).toEqual({ "database-url": "postgres://rs:pw@pg:5432/rs", "s3-access-key-id": "AKID", "s3-secret-access-key": "SECRET" });
    expect(secretRef("RELEASE_SERVER_DATABASE_URL")).toEqual({ name: "rel-backends", key: "database-url" });
    expect(secretRef("S3_ACCESS_KEY_ID")).toEqual({ name: "rel-backends", key: "s3-access-key-id" });
    expect(secretRef("S3_SECRET_ACCESS_KEY")).toEqual({ name: "rel-backends", key: "s3-secret-access-key" });
    expect(secretRef("RELEASE_SERVER_ADMIN_TOKEN")).toEqual({ name: "rel-admin", key: "admin-token" });
    for (const e of container().env) expect(String(e.value ?? "")).not.toMatch(/pw|SECRET|AKID/);
    const cm = JSON.stringify(byKind("ConfigMap")[0]);
    for (const secretText of [":pw@", "SECRET", "AKID"]) expect(cm).not.toContain(secretText);
  });

  test("the ConfigMap's config file selects PostgreSQL and S3 and is accepted by the server", () => {
    const config = parseConfig(byKind("ConfigMap")[0]!.data["release-server.yaml"], "configmap");
    expect(config.storage.blobs).toBe("s3");
    expect(config.storage.database).toStartWith("postgres://");
    expect(config.storage.s3).toMatchObject({ bucket: "rel", endpoint: "http://s3.internal:9000", region: "eu-west-1" });
    expect(config.uploads.max_bytes).toBe(defaults().config.uploads.max_bytes);
    // The server's own rule: the URL from the Secret (the environment) wins over the placeholder.
    expect(databaseOf(config, { RELEASE_SERVER_DATABASE_URL: "postgres://rs:pw@pg:5432/rs" })).toBe("postgres://rs:pw@pg:5432/rs");
  });

  test("the pod keeps the StatefulSet's security context, probes, config mount and scratch /data", () => {
    const pod = deployment().spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    const c = container();
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(c.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
    expect(c.volumeMounts.map((m: any) => m.mountPath).sort()).toEqual(["/data", "/etc/release-server", "/tmp"]);
    const file = c.args[c.args.indexOf("--config") + 1];
    const mount = c.volumeMounts.find((m: any) => file.startsWith(m.mountPath + "/"));
    expect(pod.volumes.find((v: any) => v.name === mount.name).configMap.name).toBe(byKind("ConfigMap")[0]!.metadata.name);
  });

  test("external.existingSecret: no Secret is made for the backends and the env names that one", () => {
    const own = render(external({ databaseUrl: "", s3AccessKeyId: "", s3SecretAccessKey: "", existingSecret: "mine" }));
    expect(own.filter((d) => d.kind === "Secret").map((d) => d.metadata.name)).toEqual(["rel-admin"]);
    const env = own.find((d) => d.kind === "Deployment")!.spec.template.spec.containers[0].env;
    for (const [name, key] of [["RELEASE_SERVER_DATABASE_URL", "database-url"], ["S3_ACCESS_KEY_ID", "s3-access-key-id"], ["S3_SECRET_ACCESS_KEY", "s3-secret-access-key"]])
      expect(env.find((e: any) => e.name === name).valueFrom.secretKeyRef).toEqual({ name: "mine", key });
  });

  test("without a database URL or S3 keys (and no existingSecret) rendering fails like `required`", () => {
    expect(() => render(external({ databaseUrl: "" }))).toThrow("external.databaseUrl is required");
    expect(() => render(external({ s3SecretAccessKey: "" }))).toThrow("external.s3SecretAccessKey is required");
  });

  test("default values: the one-replica StatefulSet with its claim, and nothing of the external mode", () => {
    const local = render({ ...defaults(), adminToken: "rls_example" });
    expect(local.map((d) => d.kind).sort()).toEqual(["ConfigMap", "Secret", "Service", "StatefulSet"]);
    const sts = local.find((d) => d.kind === "StatefulSet")!;
    expect(sts.spec.replicas).toBe(1);
    expect(sts.spec.volumeClaimTemplates).toHaveLength(1);
    expect(sts.spec.template.spec.containers[0].env.map((e: any) => e.name)).toEqual(["RELEASE_SERVER_PUBLIC_URL", "RELEASE_SERVER_ADMIN_TOKEN"]);
    const config = parseConfig(local.find((d) => d.kind === "ConfigMap")!.data["release-server.yaml"], "configmap");
    expect(config.storage).toMatchObject({ database: "sqlite", blobs: "disk" });
    expect(defaults().config.storage).toBeUndefined(); // the chart writes storage itself
  });

  test("the renderer follows Helm's trimming and if/else", () => {
    const scope = { Values: { a: "x", e: "", m: {} } };
    expect(renderText("k: 1\n{{- if eq .Values.a \"x\" }}\nv: {{ if .Values.e }}no{{ else }}yes{{ end }}\n{{- end }}\n", scope)).toBe("k: 1\nv: yes\n");
    expect(renderText("{{- if not .Values.m }}empty{{ end }}", scope)).toBe("empty");
    expect(() => renderText("{{ range .Values.m }}{{ end }}", scope)).toThrow("unsupported");
  });
});

describe("deploy/compose.yaml (local trial: PostgreSQL, S3, two replicas)", () => {
  const text = readFileSync(join(DEPLOY, "compose.yaml"), "utf8");
  const compose = YAML.parse(text, { merge: true });
  const services = compose.services as Record<string, any>;
  const replicas = ["release-server-1", "release-server-2"];
  const env = (name: string) => services[name].environment as Record<string, string>;

  test("services: postgres (official image), an S3 server, a bucket job and two release-server replicas", () => {
    expect(Object.keys(services).sort()).toEqual(["create-bucket", "postgres", "release-server-1", "release-server-2", "s3"]);
    expect(services.postgres.image).toMatch(/^docker\.io\/library\/postgres:\d+/);
    expect(services.s3.image).toContain("minio/minio:RELEASE.");
    for (const name of Object.keys(services)) expect(services[name].image).toMatch(/^(\$\{[A-Z0-9_]+:-)?[a-z0-9.-]+\.[a-z]+\//); // fully qualified, as podman wants
    for (const name of replicas) {
      expect(services[name].image).toContain("ghcr.io/auditgraph/release-server:");
      expect(services[name].command).toEqual(["serve", "--data", "/data", "--host", "0.0.0.0", "--port", "8080"]);
    }
    const ports = replicas.map((n) => services[n].ports[0]);
    expect(new Set(ports).size).toBe(2);
    for (const p of ports) expect(p).toMatch(/^127\.0\.0\.1:\d+:8080$/);
  });

  test("start order: replicas wait for a healthy database and a created bucket; healthchecks exist", () => {
    expect(services["release-server-1"].depends_on).toEqual({ postgres: { condition: "service_healthy" }, "create-bucket": { condition: "service_completed_successfully" } });
    expect(services["release-server-2"].depends_on).toEqual({ "release-server-1": { condition: "service_healthy" } });
    expect(services["create-bucket"].depends_on).toEqual({ s3: { condition: "service_healthy" } });
    expect(services["create-bucket"].command).toEqual(["mb", "--ignore-existing", "s3/releases"]);
    for (const name of ["postgres", "s3", ...replicas]) expect(services[name].healthcheck.test[0]).toBe("CMD");
    expect(services["release-server-1"].healthcheck.test).toEqual(["CMD", "/usr/local/bin/release-server", "serve", "--check", "--port", "8080"]);
  });

  test("the replicas share one database and one bucket; credentials only from the environment", () => {
    for (const name of replicas) {
      const e = env(name);
      expect(e.RELEASE_SERVER_DATABASE_URL).toBe("postgres://release:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}@postgres:5432/release");
      expect(e.S3_ACCESS_KEY_ID).toBe("${S3_ACCESS_KEY_ID:?set S3_ACCESS_KEY_ID}");
      expect(e.S3_SECRET_ACCESS_KEY).toBe("${S3_SECRET_ACCESS_KEY:?set S3_SECRET_ACCESS_KEY}");
      expect(e.RELEASE_SERVER_ADMIN_TOKEN).toStartWith("${RELEASE_SERVER_ADMIN_TOKEN:?");
      expect(e.RELEASE_SERVER_CONFIG).toBe("/etc/release-server/release-server.yaml");
      expect(services[name].volumes).toEqual(["./compose/release-server.yaml:/etc/release-server/release-server.yaml:ro"]);
    }
    expect(env("postgres").POSTGRES_PASSWORD).toBe("${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}");
    expect(env("s3").MINIO_ROOT_USER).toBe("${S3_ACCESS_KEY_ID:?set S3_ACCESS_KEY_ID}");
    expect(env("s3").MINIO_ROOT_PASSWORD).toBe("${S3_SECRET_ACCESS_KEY:?set S3_SECRET_ACCESS_KEY}");
    // Every value that carries a credential is a required variable, never a literal.
    for (const [name, svc] of Object.entries(services))
      for (const [k, v] of Object.entries((svc.environment ?? {}) as Record<string, string>))
        if (/PASSWORD|SECRET|TOKEN|ACCESS_KEY|DATABASE_URL|MC_HOST/.test(k)) expect(`${name}.${k}=${v}`).toMatch(/\$\{[A-Z0-9_]+:\?[^}]*\}/);
  });

  test("the mounted config file selects PostgreSQL and the bucket, holds no secret, and the server accepts it", () => {
    const file = readFileSync(join(DEPLOY, "compose/release-server.yaml"), "utf8");
    const config = parseConfig(file, "compose/release-server.yaml");
    expect(config.storage.blobs).toBe("s3");
    expect(new URL(config.storage.database).password).toBe("");
    expect(new URL(config.storage.database).host).toBe("postgres:5432");
    expect(config.storage.s3).toMatchObject({ bucket: "releases", endpoint: "http://s3:9000" });
    const uncommented = file.replace(/#.*$/gm, "");
    expect(uncommented).not.toMatch(/password|secret|access_key|key_id|credentials|rls_/i);
    expect(services["create-bucket"].command.at(-1)).toBe(`s3/${config.storage.s3.bucket}`);
  });

  test("both replicas: read-only root filesystem, scratch /data, restarted when they exit", () => {
    for (const name of replicas) {
      expect(services[name]).toMatchObject({ read_only: true, restart: "unless-stopped" });
      expect(services[name].tmpfs).toEqual(["/data", "/tmp"]);
    }
    expect(Object.keys(compose.volumes).sort()).toEqual(["pg-data", "s3-data"]);
  });
});

describe("deploy/release-server.Containerfile", () => {
  const text = readFileSync(join(DEPLOY, "release-server.Containerfile"), "utf8");
  const lines = text.replace(/\\\n\s*/g, " ").split("\n").filter((l) => /^[A-Z]+ /.test(l));
  const instr = (name: string) => lines.filter((l) => l.startsWith(name + " "));

  test("distroless glibc base without Node or Bun, non-root, data on /data", () => {
    expect(lines).toContain("ARG BASE=gcr.io/distroless/base-nossl-debian12:nonroot");
    expect(instr("FROM")).toEqual(["FROM ${BASE}"]);
    expect(text).not.toMatch(/\b(node|npm|apt-get|RUN|oven\/bun)\b/);
    expect(instr("USER")).toEqual(["USER 65532:65532"]);
    expect(instr("VOLUME")).toEqual(['VOLUME ["/data"]']);
    expect(lines).toContain("COPY --chown=65532:65532 data/ /data/");
  });

  test("the release binary as entrypoint, probed without a shell, with OCI labels", () => {
    expect(lines).toContain("COPY --chmod=0755 ${TARGETPLATFORM}/release-server /usr/local/bin/release-server");
    expect(instr("HEALTHCHECK")[0]).toContain('CMD ["/usr/local/bin/release-server", "serve", "--check"');
    expect(instr("ENTRYPOINT")).toEqual(['ENTRYPOINT ["/usr/local/bin/release-server"]']);
    expect(instr("STOPSIGNAL")).toEqual(["STOPSIGNAL SIGTERM"]);
    const label = instr("LABEL")[0]!;
    for (const k of ["source", "version", "revision", "licenses"]) expect(label).toContain(`org.opencontainers.image.${k}=`);
  });
});

// Deployment files. The Containerfile is checked for what the image promises; the Helm chart is validated without helm (not installable here): a renderer for the small template
// subset the chart allows (value lookups; quote, b64enc, toYaml, nindent, required) turns every
// template into YAML, which is parsed and checked for what a cluster needs. Conditionals, loops and
// helpers are deliberately not used in the chart, so this renderer fails on them.
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { parseConfig } from "../../../src/release-server/config.ts";

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

function render(values: Scope): Record<string, any>[] {
  const scope: Scope = {
    Values: values,
    Release: { Name: "rel", Namespace: "default" },
    Chart: YAML.parse(readFileSync(join(CHART, "Chart.yaml"), "utf8")),
  };
  return readdirSync(join(CHART, "templates"))
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => {
      const text = readFileSync(join(CHART, "templates", f), "utf8");
      return YAML.parse(text.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_, e: string) => evalPipeline(e, scope)));
    });
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

import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { dynamicConfig, traefikArguments } from "../components/edge";
import { imagesOf } from "../devstack/plan";
import type { ObservedContainer } from "../status/docker-host";
import { renderStatus } from "../status/render";
import { buildStatus } from "../status/report";
import { alertRules, blackboxConfig, PROBE_VALID_STATUS, probeModule } from "../model/monitoring";
import { resolveStack } from "../stacks/definition";
import { loadStackFromFile } from "../stacks/load-from-files";
import { EXAMPLE_TENANTS, exampleTenantsIn, fixtureConfig, PROJECT_ROOT, labelsOf, ofType, runProgram, TYPES, type ProgramRun, type RecordedResource } from "./program-harness";
import { tempDirs } from "./temp-dirs";

// The optional monitoring stack (issue 14): off by default; on, one Prometheus, blackbox and node exporter per host
// on a network no tenant joins, Prometheus on the host's loopback, its config generated from the tenants' routes.

const temp = tempDirs("platform-monitoring-");
const MONITORING = { enabled: true, port: 9091, scrapeInterval: "15s" };

const NEW_TENANT = `name: newco
services:
  web:
    image: registry.example.com/newco/web:1.0.0
    port: 8080
    routes: []
    healthcheck: { path: /health }
`;

function tenantsCopy(extra: Record<string, string> = {}): string {
  return exampleTenantsIn(temp.make(), extra);
}

const withMonitoring = (stack: string, tenantsDir = EXAMPLE_TENANTS) => ({ ...fixtureConfig(stack, tenantsDir), "platform:monitoring": MONITORING });
const containersNamed = (run: ProgramRun, pattern: RegExp) => ofType(run, TYPES.container).filter((c) => pattern.test(c.inputs.name as string));
const networksOf = (c: RecordedResource) => ((c.inputs.networksAdvanced ?? []) as { name: string }[]).map((n) => n.name);
const upload = (c: RecordedResource, file: string) => ((c.inputs.uploads ?? []) as { file: string; content: string }[]).find((u) => u.file === file)?.content;

describe("monitoring off (the default)", () => {
  it.each(["staging", "production"])("%s declares no monitoring resource and Traefik has no metrics entrypoint for it", async (stack) => {
    const run = await runProgram(stack);
    expect(run.error).toBeUndefined();
    expect(run.resources.filter((r) => /monitoring|prometheus|blackbox|node-exporter/.test(`${r.name} ${String(r.inputs.name ?? "")}`))).toEqual([]);
    for (const traefik of containersNamed(run, /-traefik$/)) expect(traefik.inputs.command).not.toContain("--entrypoints.metrics.address=:8083");
    for (const edge of Object.values(run.outputs.edges as Record<string, object>)) expect(edge).not.toHaveProperty("monitoring");
  });
});

describe("monitoring on (production: two hosts)", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram("production", withMonitoring("production"));
  });

  it("runs Prometheus, the blackbox exporter and the node exporter on each host, on the monitoring network only", () => {
    expect(run.error).toBeUndefined();
    for (const pattern of [/-prometheus$/, /-blackbox$/, /-node-exporter$/]) {
      const found = containersNamed(run, pattern);
      expect(found.map((c) => c.provider).sort(), String(pattern)).toEqual([expect.stringContaining("host-eu-1"), expect.stringContaining("host-eu-2")]);
      for (const c of found) expect(networksOf(c)).toEqual(["platform-production-monitoring"]);
    }
    expect(ofType(run, TYPES.network).filter((n) => n.inputs.name === "platform-production-monitoring")).toHaveLength(2);
    const attachments = ofType(run, TYPES.command).filter((c) => /monitoring-attach$/.test(c.name));
    expect(attachments.map((a) => (a.inputs.environment as Record<string, string>).EDGE)).toEqual(["platform-production-edge-pause", "platform-production-edge-pause"]);
  });

  it("Prometheus publishes on the host's loopback only; no exporter publishes anything", () => {
    for (const prometheus of containersNamed(run, /-prometheus$/))
      expect(prometheus.inputs.ports).toEqual([expect.objectContaining({ internal: 9090, external: 9091, ip: "127.0.0.1" })]);
    for (const exporter of [...containersNamed(run, /-blackbox$/), ...containersNamed(run, /-node-exporter$/)]) expect(exporter.inputs.ports ?? []).toEqual([]);
  });

  it("no tenant container joins the monitoring network, and Traefik opens its metrics entrypoint", () => {
    const tenantContainers = ofType(run, TYPES.container).filter((c) => labelsOf(c)["platform.tenant"] !== undefined);
    expect(tenantContainers.length).toBeGreaterThan(3);
    for (const c of tenantContainers) expect(networksOf(c)).not.toContain("platform-production-monitoring");
    for (const traefik of containersNamed(run, /-traefik$/)) expect(traefik.inputs.command).toContain("--entrypoints.metrics.address=:8083");
  });

  it("each host's Prometheus probes exactly the routes of the services placed on that host, and scrapes its Traefik and node exporter", () => {
    const configs = Object.fromEntries(
      containersNamed(run, /-prometheus$/).map((c) => [/host-(eu-\d)/.exec(c.provider)![1]!, parse(upload(c, "/etc/prometheus/prometheus.yml")!)]),
    ) as Record<string, PrometheusConfig>;
    const probed = (host: string) =>
      configs[host]!.scrape_configs.find((j) => j.job_name === "probe")!.static_configs.map((s) => `${s.labels!.tenant}/${s.labels!.service} ${s.labels!.url}`).sort();
    // Production routes on eu-1 and eu-2 (test/fixtures/tenants/examples): every routed service once per route.
    expect([...probed("eu-1"), ...probed("eu-2")].sort()).toEqual(
      expect.arrayContaining(["notes/frontend https://notes.example.org/", "notes/backend https://notes.example.org/api"]),
    );
    expect(probed("eu-1").some((p) => probed("eu-2").includes(p))).toBe(false);
    for (const host of ["eu-1", "eu-2"]) {
      const jobs = configs[host]!.scrape_configs;
      expect(jobs.find((j) => j.job_name === "traefik")!.static_configs[0]!.targets).toEqual(["platform-production-edge-pause:8083"]);
      expect(jobs.find((j) => j.job_name === "node")!.static_configs[0]!.targets).toEqual(["platform-production-node-exporter:9100"]);
      // Through the edge over TLS: the blackbox module sets the route's host as SNI and Host header.
      for (const s of jobs.find((j) => j.job_name === "probe")!.static_configs) expect(s.targets[0]).toMatch(/^https:\/\/platform-production-edge-pause:443\//);
      expect(configs[host]!.global.external_labels).toEqual({ stack: "production", host });
    }
  });

  it("the blackbox config has one module per probed host, with that host as SNI and Host header", () => {
    const blackbox = containersNamed(run, /-blackbox$/).map((c) => parse(upload(c, "/etc/blackbox_exporter/config.yml")!) as { modules: Record<string, BlackboxModule> });
    const notes = blackbox.map((b) => b.modules[probeModule("notes.example.org")]).find(Boolean)!;
    expect(notes.http.headers.Host).toBe("notes.example.org");
    expect(notes.http.tls_config).toEqual({ server_name: "notes.example.org", insecure_skip_verify: false });
    // An app's own 404 (a path route's root) is an answer; Traefik's own 404 (no router: no healthy container) is
    // told apart by the header the edge's first middleware adds to every tenant router's answers.
    expect(notes.http.valid_status_codes).toEqual(expect.arrayContaining([200, 301, 401, 404, 429]));
    expect(notes.http.valid_status_codes.some((code) => code >= 500)).toBe(false);
    expect(notes.http.fail_if_header_not_matches).toEqual([{ header: "X-Frame-Options", regexp: "DENY" }]);
    expect((parse(dynamicConfig([])) as { http: { middlewares: Record<string, { headers?: { frameDeny?: boolean } }> } }).http.middlewares["security-headers"]!.headers!.frameDeny).toBe(true);
  });

  it("adding a tenant changes only the monitoring config of its host: no Traefik, no other tenant, no exporter", async () => {
    const before = await runProgram("production", withMonitoring("production", tenantsCopy()));
    const after = await runProgram("production", withMonitoring("production", tenantsCopy({ "newco.yaml": NEW_TENANT })));
    expect(before.error).toBeUndefined();
    expect(after.error).toBeUndefined();
    const key = (r: RecordedResource) => `${r.type}::${r.name}`;
    const beforeByKey = new Map(before.resources.map((r) => [key(r), r]));
    const changed = after.resources.filter((r) => beforeByKey.has(key(r)) && JSON.stringify(r.inputs) !== JSON.stringify(beforeByKey.get(key(r))!.inputs));
    // newco's one service runs on the default host, eu-1.
    expect(changed.map((r) => r.name).sort()).toEqual(["monitoring-eu-1-blackbox", "monitoring-eu-1-prometheus"]);
    const prometheus = changed.find((r) => r.name === "monitoring-eu-1-prometheus")!;
    expect(upload(prometheus, "/etc/prometheus/prometheus.yml")).toContain("https://newco.apps.example.com/");
    expect(upload(prometheus, "/etc/prometheus/rules.yml")).toBe(upload(beforeByKey.get(key(prometheus))!, "/etc/prometheus/rules.yml"));
    expect(after.resources.filter((r) => !beforeByKey.has(key(r))).every((r) => r.name.startsWith("newco"))).toBe(true);
  });

  it("the stack's edges output names each host's monitoring containers, for npm run status", () => {
    const edges = run.outputs.edges as Record<string, { monitoring?: Record<string, string> }>;
    for (const host of ["eu-1", "eu-2"])
      expect(edges[host]!.monitoring).toEqual({
        prometheus: "platform-production-prometheus",
        blackbox: "platform-production-blackbox",
        "node-exporter": "platform-production-node-exporter",
      });
  });

  it("preview stacks run none: their base's monitoring belongs to the base", async () => {
    const config = { ...withMonitoring("staging"), "platform:preview": { base: "staging", pr: 7, tenants: ["notes"] } };
    const preview = await runProgram("pr-7", config);
    expect(preview.error).toBeUndefined();
    expect(containersNamed(preview, /prometheus|blackbox|node-exporter/)).toEqual([]);
  });
});

describe("the dev stack (Pulumi.dev.yaml)", () => {
  it("names the local Debian builds, keeps monitoring off, and npm run dev asks for those images only once it is on", () => {
    const loaded = loadStackFromFile(PROJECT_ROOT, "dev");
    expect(loaded.diagnostics).toEqual([]);
    const dev = loaded.stack!;
    expect(dev.monitoring.enabled).toBe(false);
    expect(Object.values(dev.monitoring.images)).toEqual(["platform-local/prometheus:2.42", "platform-local/blackbox-exporter:0.23", "platform-local/node-exporter:1.5"]);
    expect(imagesOf({ stack: dev, plans: [] })).not.toContain("platform-local/prometheus:2.42");
    const on = { ...dev, monitoring: { ...dev.monitoring, enabled: true } };
    expect(imagesOf({ stack: on, plans: [] })).toEqual(expect.arrayContaining(Object.values(dev.monitoring.images)));
  });
});

describe("npm run status with monitoring on", () => {
  const observed = (name: string, health: string | null): ObservedContainer => ({
    id: `${name}-id`, name, image: "img", labels: { "platform.stack": "qa" }, state: "running", health, healthOutput: null, restarts: 0, exitCode: 0, startedAt: "2026-11-24T00:00:00Z",
  });
  const input = (containers: ObservedContainer[]) => ({
    stack: "qa",
    deployment: {
      tenants: {},
      edges: { one: { dockerHost: "unix:///x", container: "platform-qa-traefik", monitoring: { prometheus: "platform-qa-prometheus", blackbox: "platform-qa-blackbox" } } },
    },
    // The state holds every container it is shown: none is a stray.
    state: { ids: containers.map((c) => c.id), pendingCreates: [] },
    hosts: { one: { url: "unix:///x", observation: { reachable: true as const, containers } } },
  });
  const edgeContainers = [observed("platform-qa-traefik", "healthy"), observed("platform-qa-edge-pause", null)];

  it("shows the monitoring containers with the edge, not as strays, and a missing one makes the edge unhealthy", () => {
    const report = buildStatus(input([...edgeContainers, observed("platform-qa-prometheus", "healthy"), observed("platform-qa-blackbox", "healthy")]));
    expect(report.strays).toEqual([]);
    expect(report.edges.one!.healthy).toBe(true);
    expect(renderStatus(report)).toMatch(/\(monitoring\)\s+prometheus\s+one\b/);
    const broken = buildStatus(input([...edgeContainers, observed("platform-qa-prometheus", "unhealthy")]));
    expect(broken.edges.one!.healthy).toBe(false);
    expect(broken.problems).toEqual(expect.arrayContaining([expect.stringMatching(/^monitoring on one: platform-qa-prometheus/), "monitoring on one: platform-qa-blackbox missing"]));
  });
});

describe("monitoring configuration pieces", () => {
  it("the stack key is validated and defaults to off with pinned images", () => {
    const base = { domain: "example.com", hosts: { a: { url: "unix:///var/run/docker.sock" } }, tls: "none" };
    const at = { locate: () => ({ line: 1, column: 1 }) };
    const off = resolveStack({ name: "staging", file: "Pulumi.staging.yaml", values: base, ...at });
    expect(off.stack!.monitoring).toMatchObject({ enabled: false, port: 9090, retention: "15d" });
    expect(off.stack!.monitoring.images.prometheus).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    const bad = resolveStack({ name: "staging", file: "Pulumi.staging.yaml", values: { ...base, monitoring: { enabled: true, retention: "two weeks", colour: 1 } }, ...at });
    expect(bad.diagnostics.map((d) => `${d.path}: ${d.message}`)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^platform:monitoring\.retention: "two weeks" is not a duration like 15d/), expect.stringMatching(/^platform:monitoring\.colour: unknown key/)]),
    );
  });

  it("a monitoring port the edge already publishes is refused at validation, not at deploy", () => {
    const values = { domain: "example.com", hosts: { a: { url: "unix:///var/run/docker.sock" } }, tls: "none", edge: { dashboard: { enabled: true, port: 8081 } } };
    const at = { name: "staging", file: "Pulumi.staging.yaml", locate: () => ({ line: 3, column: 5 }) };
    const clash = resolveStack({ ...at, values: { ...values, monitoring: { enabled: true, port: 8081 } } });
    expect(clash.diagnostics.map((d) => `${d.path}: ${d.message}`)).toEqual(["platform:monitoring.port: 8081 is already platform:edge.dashboard.port; pick another port"]);
    expect(resolveStack({ ...at, values: { ...values, monitoring: { enabled: false, port: 8081 } } }).diagnostics).toEqual([]);
    expect(resolveStack({ ...at, values: { ...values, monitoring: { enabled: true, port: 9100 } } }).diagnostics).toEqual([]);
  });

  it("Traefik's metrics router lets only the monitoring subnets in; without them there is none", () => {
    const config = parse(dynamicConfig([], ["10.130.7.0/24"])) as { http: { routers: Record<string, { entryPoints: string[]; service: string; middlewares: string[] }>; middlewares: Record<string, { ipAllowList?: { sourceRange: string[] } }> } };
    expect(config.http.routers.metrics).toMatchObject({ entryPoints: ["metrics"], service: "prometheus@internal", middlewares: ["monitoring-only"] });
    expect(config.http.middlewares["monitoring-only"]!.ipAllowList!.sourceRange).toEqual(["10.130.7.0/24"]);
    expect(dynamicConfig([])).not.toContain("prometheus@internal");
  });

  it("the metrics entrypoint drains like the others when Traefik stops", () => {
    const stack = resolveStack({
      name: "staging",
      file: "Pulumi.staging.yaml",
      values: { domain: "example.com", hosts: { a: { url: "unix:///var/run/docker.sock" } }, tls: "none", monitoring: { enabled: true } },
      locate: () => ({ line: 1, column: 1 }),
    }).stack!;
    expect(traefikArguments(stack)).toEqual(expect.arrayContaining(["--entrypoints.metrics.address=:8083", "--entrypoints.metrics.transport.lifeCycle.graceTimeOut=10s", "--entrypoints.metrics.reusePort=true"]));
  });

  it("the alert rules cover a service down, the 5xx rate, certificate expiry under 14 days and disk space under 10%", () => {
    const rules = (parse(alertRules()) as { groups: { rules: { alert: string; expr: string; for: string }[] }[] }).groups.flatMap((g) => g.rules);
    const expr = (alert: string) => rules.find((r) => r.alert === alert)?.expr ?? "";
    expect(expr("ServiceDown")).toMatch(/probe_success\{job="probe"\} == 0/);
    expect(expr("ServiceErrorRate")).toMatch(/traefik_service_requests_total\{code=~"5\.\."\}/);
    expect(expr("CertificateExpiresSoon")).toMatch(/probe_ssl_earliest_cert_expiry.* < 14 \* 86400/);
    expect(expr("DiskSpaceLow")).toMatch(/node_filesystem_avail_bytes.*< 0\.10/);
    expect(rules.every((r) => /^\d+[mh]$/.test(r.for))).toBe(true);
  });

  it("blackbox: no routed service still gives the exporter a module (it refuses an empty list); TLS off means plain HTTP probes", () => {
    expect(Object.keys((parse(blackboxConfig([], "acme")) as { modules: object }).modules)).toHaveLength(1);
    const plain = parse(blackboxConfig([{ tenant: "t", service: "web", url: "http://t.dev.localhost:8000/", host: "t.dev.localhost", path: "/" }], "none")) as { modules: Record<string, BlackboxModule> };
    expect(plain.modules.edge_t_dev_localhost!.http.tls_config).toBeUndefined();
    expect(PROBE_VALID_STATUS).toEqual(expect.arrayContaining([200, 401, 429]));
  });
});

interface PrometheusConfig {
  global: { external_labels: Record<string, string> };
  scrape_configs: { job_name: string; static_configs: { targets: string[]; labels?: Record<string, string> }[] }[];
}
interface BlackboxModule {
  http: {
    headers: Record<string, string>;
    tls_config?: Record<string, unknown>;
    valid_status_codes: number[];
    fail_if_header_not_matches?: { header: string; regexp: string }[];
  };
}

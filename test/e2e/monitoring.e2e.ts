import { readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { addTenant, addresses, canConnect, containers, docker, edgePauseContainer, expectOk, get, httpFrom, IMAGES, STACK, tenantHost, up, type World } from "./harness";
import { useWorld } from "./world-hooks";

// Issue 14's optional monitoring stack on the real engine: one routed tenant, monitoring on (the dev stack's local
// builds of Debian's Prometheus, blackbox and node exporter), scraping every 2 s so the checks need no long waits.
let world: World;

const TENANT = "watched";
const PROMETHEUS_PORT = 18090;
const PROMETHEUS = `platform-${STACK}-prometheus`;
const MONITORING_NETWORK = `platform-${STACK}-monitoring`;
const TENANT_FILE = `# e2e (issue 14): one routed service the monitoring stack probes through the edge.
name: ${TENANT}
services:
  web:
    image: ${IMAGES.v1}
    port: 8080
    routes: []
    healthcheck: { path: /health, interval: 1s, timeout: 2s, retries: 3, startPeriod: 30s }
`;

useWorld((created) => {
  world = created;
  for (const file of ["alpha.yaml", "beta.yaml"]) rmSync(path.join(world.tenantsDir, file), { force: true });
  addTenant(world, `${TENANT}.yaml`, TENANT_FILE);
  // The e2e stack file is the dev stack's (monitoring off, local images): turn it on, on a port of e2e's own.
  const file = path.join(world.dir, `Pulumi.${STACK}.yaml`);
  const doc = parse(readFileSync(file, "utf8")) as { config: Record<string, Record<string, unknown>> };
  doc.config["platform:monitoring"] = { ...doc.config["platform:monitoring"], enabled: true, port: PROMETHEUS_PORT, scrapeInterval: "2s" };
  writeFileSync(file, stringify(doc));
});

/** Prometheus' HTTP API on the host's loopback. */
async function api<T>(urlPath: string): Promise<T> {
  const answer = await get("localhost", urlPath, 5000, PROMETHEUS_PORT);
  if (answer.status !== 200) throw new Error(`GET ${urlPath}: ${answer.status} ${answer.body.slice(0, 300)}`);
  return (JSON.parse(answer.body) as { data: T }).data;
}

async function query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  return (await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent(promql)}`)).result;
}

/** Polls `check` until it returns a value, for up to `seconds`; the last error says what was missing. */
async function eventually<T>(what: string, seconds: number, check: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + seconds * 1000;
  let last = "";
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > until) throw new Error(`${what}: not within ${seconds}s ${last}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

interface Target {
  labels: Record<string, string>;
  health: string;
  lastError: string;
}

describe("monitoring stack on a real Docker engine (issue 14)", () => {
  it("up: Prometheus is ready on the host's loopback only, its config and alert rules pass promtool and are loaded", async () => {
    expectOk(up(world), "pulumi up");
    expect((await get("localhost", "/-/ready", 5000, PROMETHEUS_PORT)).status).toBe(200);
    // Published on 127.0.0.1 only: nothing listens on the host's other addresses.
    expect(docker(["port", PROMETHEUS]).stdout).toBe(`9090/tcp -> 127.0.0.1:${PROMETHEUS_PORT}`);
    for (const check of [["check", "rules", "/etc/prometheus/rules.yml"], ["check", "config", "/etc/prometheus/prometheus.yml"]]) {
      const run = docker(["exec", PROMETHEUS, "promtool", ...check]);
      expect(run.status, `promtool ${check.join(" ")}: ${run.stdout}\n${run.stderr}`).toBe(0);
    }
    const rules = await api<{ groups: { rules: { name: string; health: string }[] }[] }>("/api/v1/rules");
    const loaded = rules.groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name)).toEqual(expect.arrayContaining(["ServiceDown", "ServiceErrorRate", "CertificateExpiresSoon", "DiskSpaceLow"]));
  });

  it("targets: Traefik, the node exporter and the tenant's probe through the edge are up", async () => {
    const targets = await eventually("every target up", 40, async () => {
      const active = (await api<{ activeTargets: Target[] }>("/api/v1/targets")).activeTargets;
      const wanted = [
        active.find((t) => t.labels.job === "traefik"),
        active.find((t) => t.labels.job === "node"),
        active.find((t) => t.labels.job === "probe" && t.labels.tenant === TENANT && t.labels.service === "web"),
      ];
      if (wanted.some((t) => t?.health !== "up")) throw new Error(JSON.stringify(active.map((t) => [t.labels.job, t.labels.instance, t.health, t.lastError])));
      return wanted;
    });
    expect(targets[2]!.labels.instance).toBe(`http://${tenantHost(TENANT)}:18000/`);
    // The probe itself succeeded (the target is up even when the probed service is not).
    const success = await eventually("probe_success", 20, async () => {
      const result = await query(`probe_success{tenant="${TENANT}"}`);
      return result.length > 0 ? result : undefined;
    });
    expect(success.map((s) => s.value[1])).toEqual(["1"]);
    expect((await query('node_filesystem_avail_bytes{mountpoint="/"}')).length).toBeGreaterThan(0);
  });

  it("after a few requests, Traefik's request counts per router and per tenant are in Prometheus", async () => {
    // The probes count too (one request per scrape): what matters is that ours show up on top of what was there.
    const perRouter = `sum by (router) (traefik_router_requests_total{router=~"${STACK}--${TENANT}-.*"})`;
    const before = Number((await query(perRouter))[0]?.value[1] ?? 0);
    for (let i = 0; i < 20; i++) expect((await get(tenantHost(TENANT))).status).toBe(200);
    const after = await eventually("the 20 requests in traefik_router_requests_total", 20, async () => {
      const result = await query(perRouter);
      return Number(result[0]?.value[1] ?? 0) >= before + 20 ? result : undefined;
    });
    expect(after.map((r) => r.metric.router)).toEqual([`${STACK}--${TENANT}-web-0@docker`]);
    const perTenant = await query(`sum by (tenant, service) (traefik_service_requests_total{tenant="${TENANT}"})`);
    expect(perTenant.map((r) => r.metric.service)).toEqual([`${STACK}--${TENANT}-web@docker`]);
  });

  it("isolation: no tenant container reaches Prometheus or Traefik's metrics entrypoint; Prometheus does, and no tenant joins its network", () => {
    const tenant = containers({ tenant: TENANT, service: "web" })[0]!;
    const prometheusIp = addresses(PROMETHEUS)[MONITORING_NETWORK];
    expect(prometheusIp, JSON.stringify(addresses(PROMETHEUS))).toBeDefined();
    expect(canConnect(tenant, prometheusIp!, 9090), `${TENANT} -> Prometheus ${prometheusIp}:9090`).toBe(false);
    expect(httpFrom(tenant, `http://${PROMETHEUS}:9090/-/ready`).ok, `${TENANT} -> Prometheus by name`).toBe(false);
    // Traefik's metrics entrypoint answers the tenant on its ingress address with 403 (allow-list: the monitoring subnet).
    const edgeIp = addresses(edgePauseContainer())[`platform-${STACK}-${TENANT}-ingress-local`]!;
    expect(canConnect(tenant, edgeIp, 80), `${TENANT} -> Traefik :80 (the probe works)`).toBe(true);
    const fromTenant = httpFrom(tenant, `http://${edgeIp}:8083/metrics`);
    expect(fromTenant.ok, `${TENANT} -> Traefik :8083/metrics: ${fromTenant.output}`).toBe(false);
    expect(fromTenant.output).toMatch(/403/);
    const fromPrometheus = docker(["exec", PROMETHEUS, "wget", "-q", "-O", "-", `http://${edgePauseContainer()}:8083/metrics`]);
    expect(fromPrometheus.stdout).toMatch(/^traefik_/m);
    const members = docker(["network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}", MONITORING_NETWORK]).stdout.split(" ").filter(Boolean).sort();
    expect(members).toEqual([`platform-${STACK}-blackbox`, `platform-${STACK}-edge-pause`, `platform-${STACK}-node-exporter`, PROMETHEUS].sort());
  });

  it("probes: a path route whose app answers 404 is up; a service with no running container is down", async () => {
    // A second service behind `/api` on the same host: the demo app answers 404 there, as many apps do at a prefix.
    addTenant(world, `${TENANT}.yaml`, `${TENANT_FILE}  api:
    image: ${IMAGES.v1}
    port: 8080
    routes: [{ path: /api }]
    healthcheck: { path: /health, interval: 1s, timeout: 2s, retries: 3, startPeriod: 30s }
`);
    expectOk(up(world), "pulumi up (a service behind /api)");
    expect((await get(tenantHost(TENANT), "/api")).status).toBe(404);
    const probes = async () => Object.fromEntries((await query(`probe_success{tenant="${TENANT}"}`)).map((r) => [r.metric.service, r.value[1]]));
    expect(await eventually("both probes succeed", 30, async () => {
      const now = await probes();
      return now.api === "1" && now.web === "1" ? now : undefined;
    })).toEqual({ api: "1", web: "1" });
    // With web's containers stopped, Traefik drops its router and answers 404 itself: the probe fails, api's does not.
    for (const name of containers({ tenant: TENANT, service: "web" })) expectOk(docker(["stop", "-t", "2", name]), `docker stop ${name}`);
    expect(await eventually("web's probe fails", 30, async () => {
      const now = await probes();
      return now.web === "0" ? now : undefined;
    })).toEqual({ api: "1", web: "0" });
  });
});

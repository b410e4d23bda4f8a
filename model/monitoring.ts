/**
 * The optional monitoring stack's configuration, generated from the model (components/monitoring.ts runs it): what
 * Prometheus scrapes on one Docker host, the blackbox exporter's probes of each routed service through the edge, and
 * the alert rules. Pure functions of the plans, so adding a tenant changes these texts and nothing else.
 */
import { stringify } from "yaml";
import { dockerNames } from "./naming";
import type { StackDefinition } from "./stack";
import type { TenantPlan } from "./tenant-plan";
import { traefikServiceName } from "./traefik-labels";
import { routeUrl } from "./urls";

export interface MonitoringSettings {
  enabled: boolean;
  /** Prometheus' UI and API on the host's loopback (127.0.0.1:<port>). */
  port: number;
  /** How long Prometheus keeps samples (`--storage.tsdb.retention.time`). */
  retention: string;
  /** Scrape and rule evaluation interval. */
  scrapeInterval: string;
  images: { prometheus: string; blackboxExporter: string; nodeExporter: string };
}

/** Where Traefik serves its metrics to the monitoring network (an allow-list lets only that network in). */
export const EDGE_METRICS_PORT = 8083;
export const PROMETHEUS_PORT = 9090;
export const BLACKBOX_PORT = 9115;
export const NODE_EXPORTER_PORT = 9100;
export const PROMETHEUS_CONFIG_PATH = "/etc/prometheus/prometheus.yml";
export const PROMETHEUS_RULES_PATH = "/etc/prometheus/rules.yml";
export const BLACKBOX_CONFIG_PATH = "/etc/blackbox_exporter/config.yml";

export const monitoringNames = {
  network: (stack: string) => `platform-${stack}-monitoring`,
  prometheus: (stack: string) => `platform-${stack}-prometheus`,
  prometheusVolume: (stack: string) => `platform-${stack}-prometheus-data`,
  blackbox: (stack: string) => `platform-${stack}-blackbox`,
  nodeExporter: (stack: string) => `platform-${stack}-node-exporter`,
};

/** One routed service's route, probed through its host's edge. */
export interface ProbeTarget {
  tenant: string;
  service: string;
  /** The URL a person types (the alert names it). */
  url: string;
  /** The route's host: the probe's Host header and TLS server name. */
  host: string;
  path: string;
}

/** Every route of the routed services that run on `hostName`, in plan order (stable run to run). */
export function probeTargets(plans: readonly TenantPlan[], stack: Pick<StackDefinition, "tls" | "edge">, hostName: string): ProbeTarget[] {
  const targets: ProbeTarget[] = [];
  for (const plan of plans) {
    if (plan.retiring) continue;
    for (const service of plan.services) {
      if (!service.routed || service.host !== hostName) continue;
      for (const route of service.routes)
        targets.push({ tenant: plan.name, service: service.name, url: routeUrl(route, { tls: stack.tls, httpPort: stack.edge.httpPort, httpsPort: stack.edge.httpsPort }), host: route.host, path: route.path ?? "/" });
    }
  }
  return targets;
}

/**
 * A probe proves the route's router exists, i.e. Traefik holds at least one healthy container for it: Traefik drops
 * an unhealthy container, and with none left it answers 404 itself. The status alone cannot tell that 404 from an
 * app's own (a path route such as `/api` often answers 404 at its root), so any answer below 500 counts, provided
 * it carries the header the edge's `security-headers` middleware adds first on every tenant router
 * (components/edge.ts: `frameDeny`), which Traefik's own 404 has not. Auth (401/403) and rate limits (429) come from
 * the router's later middlewares and carry it too. Down: no router, 5xx, no answer.
 */
export const PROBE_VALID_STATUS: readonly number[] = Array.from({ length: 300 }, (_, i) => 200 + i);
export const ROUTER_ANSWER_HEADER = { header: "X-Frame-Options", regexp: "DENY" } as const;

/** One blackbox module per routed host: the Host header and TLS server name a request through the edge needs. */
export function probeModule(host: string): string {
  return `edge_${host.replace(/[^a-z0-9]/g, "_")}`;
}

/** The blackbox exporter's modules: probes connect to the edge by its container name and ask for each host. */
export function blackboxConfig(targets: readonly ProbeTarget[], tls: StackDefinition["tls"]): string {
  const modules: Record<string, unknown> = {};
  for (const host of [...new Set(targets.map((t) => t.host))].sort())
    modules[probeModule(host)] = {
      prober: "http",
      timeout: "5s",
      http: {
        headers: { Host: host },
        valid_status_codes: [...PROBE_VALID_STATUS],
        fail_if_header_not_matches: [{ ...ROUTER_ANSWER_HEADER }],
        follow_redirects: false,
        preferred_ip_protocol: "ip4",
        ...(tls === "none" ? {} : { tls_config: { server_name: host, insecure_skip_verify: tls === "self-signed" } }),
      },
    };
  // The exporter refuses an empty module list; a host with no routed service still runs it.
  if (Object.keys(modules).length === 0) modules.http_2xx = { prober: "http", timeout: "5s" };
  return stringify({ modules });
}

/** Prometheus' configuration for one host: Traefik, the probes, the node exporter, Prometheus itself. */
export function prometheusConfig(args: {
  stack: Pick<StackDefinition, "name" | "tls">;
  hostName: string;
  scrapeInterval: string;
  targets: readonly ProbeTarget[];
}): string {
  const { stack, targets } = args;
  const edge = dockerNames.edgePause(stack.name);
  const edgeUrl = (path: string) => (stack.tls === "none" ? `http://${edge}:80${path}` : `https://${edge}:443${path}`);
  // Traefik's service label is `<stack>--<tenant>-<service>@docker`; tenant and service names may hold '-', so the
  // program, which knows the pairs, labels each series with its tenant instead of a regular expression guessing.
  const services = [...new Map(targets.map((t) => [`${t.tenant}/${t.service}`, t])).values()];
  const tenantRelabels = services.map((t) => ({
    source_labels: ["service"],
    regex: `${escapeRegex(traefikServiceName(stack.name, t.tenant, t.service))}@docker`,
    target_label: "tenant",
    replacement: t.tenant,
  }));
  const config = {
    global: {
      scrape_interval: args.scrapeInterval,
      evaluation_interval: args.scrapeInterval,
      external_labels: { stack: stack.name, host: args.hostName },
    },
    rule_files: [PROMETHEUS_RULES_PATH],
    scrape_configs: [
      { job_name: "prometheus", static_configs: [{ targets: [`localhost:${PROMETHEUS_PORT}`] }] },
      {
        job_name: "traefik",
        static_configs: [{ targets: [`${edge}:${EDGE_METRICS_PORT}`] }],
        ...(tenantRelabels.length > 0 ? { metric_relabel_configs: tenantRelabels } : {}),
      },
      { job_name: "node", static_configs: [{ targets: [`${monitoringNames.nodeExporter(stack.name)}:${NODE_EXPORTER_PORT}`] }] },
      {
        job_name: "probe",
        metrics_path: "/probe",
        static_configs: targets.map((t) => ({
          targets: [edgeUrl(t.path)],
          labels: { tenant: t.tenant, service: t.service, url: t.url, module: probeModule(t.host) },
        })),
        relabel_configs: [
          { source_labels: ["__address__"], target_label: "__param_target" },
          { source_labels: ["module"], target_label: "__param_module" },
          { source_labels: ["url"], target_label: "instance" },
          { target_label: "__address__", replacement: `${monitoringNames.blackbox(stack.name)}:${BLACKBOX_PORT}` },
        ],
      },
    ],
  };
  return stringify(config);
}

/** The alerts the seeds name: a service down, a 5xx rate, a certificate about to expire, a disk filling up. */
export function alertRules(): string {
  const rule = (alert: string, expr: string, forDuration: string, severity: string, summary: string) => ({
    alert,
    expr,
    for: forDuration,
    labels: { severity },
    annotations: { summary },
  });
  return stringify({
    groups: [
      {
        name: "platform",
        rules: [
          rule(
            "ServiceDown",
            'probe_success{job="probe"} == 0',
            "2m",
            "critical",
            "{{ $labels.tenant }}/{{ $labels.service }} does not answer through the edge at {{ $labels.url }} (no router, so no healthy container; 5xx; or timeout)",
          ),
          rule(
            "ServiceErrorRate",
            'sum by (tenant, service) (rate(traefik_service_requests_total{code=~"5.."}[5m])) / sum by (tenant, service) (rate(traefik_service_requests_total[5m])) > 0.05',
            "5m",
            "warning",
            "{{ $labels.service }} answers more than 5% of its requests with 5xx ({{ $value | humanizePercentage }})",
          ),
          rule(
            "CertificateExpiresSoon",
            'probe_ssl_earliest_cert_expiry{job="probe"} - time() < 14 * 86400',
            "1h",
            "warning",
            "The certificate for {{ $labels.url }} expires in {{ $value | humanizeDuration }}",
          ),
          rule(
            "DiskSpaceLow",
            'node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs|nsfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs|nsfs"} < 0.10',
            "10m",
            "critical",
            "{{ $labels.mountpoint }} on {{ $externalLabels.host }} has less than 10% space left",
          ),
          rule("MonitoringTargetDown", "up == 0", "5m", "warning", "Prometheus cannot scrape {{ $labels.job }} ({{ $labels.instance }})"),
        ],
      },
    ],
  });
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

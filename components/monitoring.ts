import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  alertRules,
  BLACKBOX_CONFIG_PATH,
  BLACKBOX_PORT,
  blackboxConfig,
  monitoringNames,
  NODE_EXPORTER_PORT,
  PROMETHEUS_CONFIG_PATH,
  PROMETHEUS_PORT,
  PROMETHEUS_RULES_PATH,
  prometheusConfig,
  type ProbeTarget,
} from "../model/monitoring";
import { platformLabels, toDockerLabels } from "../model/naming";
import type { StackDefinition } from "../model/stack";
import { containerImage, dockerCpus, MUST_RUN } from "./container-settings";

export interface MonitoringArgs {
  stack: Pick<StackDefinition, "name" | "tls" | "images" | "monitoring">;
  hostName: string;
  provider: docker.Provider;
  /** The edge's monitoring network (components/edge.ts), with the edge's pause container attached. */
  network: pulumi.Input<string>;
  /** What the scrapes need first: the edge's attachment to the network. */
  dependsOn: pulumi.Resource[];
  /** The routed services on this host, probed through the edge. */
  targets: readonly ProbeTarget[];
}

export const MONITORING_COMPONENT_TYPE = "platform:index:Monitoring";

const LIMITS = {
  prometheus: { cpus: 0.5, memoryMb: 512 },
  exporter: { cpus: 0.2, memoryMb: 64 },
};

/**
 * The optional monitoring stack on one Docker host (docs/monitoring.md): Prometheus, the blackbox exporter that
 * probes each routed service through the edge, and the node exporter for the host's disks. All three sit on the
 * edge's monitoring network, which no tenant joins; Prometheus publishes its UI and API on the host's loopback only.
 * Its configuration is generated from the model and uploaded into the containers: a new tenant changes these files
 * (and so replaces Prometheus and the blackbox exporter, keeping the samples in their volume), never Traefik.
 */
export class Monitoring extends pulumi.ComponentResource {
  readonly prometheusName: string;
  /** Container names by role, for the stack's outputs (`npm run status` shows them with the edge). */
  readonly containers: Record<string, string>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super(MONITORING_COMPONENT_TYPE, name, {}, opts);
    const { stack, provider, network } = args;
    const settings = stack.monitoring;
    const labels = toDockerLabels(platformLabels(stack.name));
    const image = (suffix: string, reference: string) =>
      containerImage(`${name}-${suffix}-image`, reference, stack.images.pull, { parent: this, provider });
    const limits = (l: { cpus: number; memoryMb: number }) => ({ cpus: dockerCpus(l.cpus), memory: l.memoryMb, memorySwap: l.memoryMb });
    const basics = {
      networksAdvanced: [{ name: network }],
      restart: "unless-stopped",
      mustRun: MUST_RUN,
      logDriver: "json-file",
      logOpts: { "max-size": "10m", "max-file": "3" },
      labels,
    };
    const health = (url: string) => ({ tests: ["CMD", "wget", "-q", "-O", "/dev/null", url], interval: "10s", timeout: "3s", retries: 3, startPeriod: "20s" });

    // The host's file systems, read-only, for disk space; no host network or PID namespace needed for that.
    const nodeExporter = new docker.Container(
      `${name}-node-exporter`,
      {
        name: monitoringNames.nodeExporter(stack.name),
        image: image("node-exporter", settings.images.nodeExporter),
        command: ["--path.rootfs=/host", `--web.listen-address=:${NODE_EXPORTER_PORT}`],
        mounts: [{ type: "bind", source: "/", target: "/host", readOnly: true }],
        ...limits(LIMITS.exporter),
        ...basics,
      },
      { parent: this, provider, deleteBeforeReplace: true },
    );

    const blackbox = new docker.Container(
      `${name}-blackbox`,
      {
        name: monitoringNames.blackbox(stack.name),
        image: image("blackbox", settings.images.blackboxExporter),
        command: [`--config.file=${BLACKBOX_CONFIG_PATH}`, `--web.listen-address=:${BLACKBOX_PORT}`],
        uploads: [{ file: BLACKBOX_CONFIG_PATH, content: blackboxConfig(args.targets, stack.tls) }],
        healthcheck: health(`http://127.0.0.1:${BLACKBOX_PORT}/-/healthy`),
        ...limits(LIMITS.exporter),
        ...basics,
      },
      { parent: this, provider, deleteBeforeReplace: true, dependsOn: args.dependsOn },
    );

    const volume = new docker.Volume(
      `${name}-prometheus-data`,
      { name: monitoringNames.prometheusVolume(stack.name), labels },
      { parent: this, provider },
    );
    this.prometheusName = monitoringNames.prometheus(stack.name);
    new docker.Container(
      `${name}-prometheus`,
      {
        name: this.prometheusName,
        image: image("prometheus", settings.images.prometheus),
        command: [
          `--config.file=${PROMETHEUS_CONFIG_PATH}`,
          "--storage.tsdb.path=/prometheus",
          `--storage.tsdb.retention.time=${settings.retention}`,
          `--web.listen-address=:${PROMETHEUS_PORT}`,
        ],
        uploads: [
          { file: PROMETHEUS_CONFIG_PATH, content: prometheusConfig({ stack, hostName: args.hostName, scrapeInterval: settings.scrapeInterval, targets: args.targets }) },
          { file: PROMETHEUS_RULES_PATH, content: alertRules() },
        ],
        // The host's loopback only: reach it over an SSH tunnel (docs/monitoring.md).
        ports: [{ internal: PROMETHEUS_PORT, external: settings.port, ip: "127.0.0.1" }],
        mounts: [{ type: "volume", source: volume.name, target: "/prometheus" }],
        healthcheck: health(`http://127.0.0.1:${PROMETHEUS_PORT}/-/ready`),
        wait: true,
        waitTimeout: 90,
        ...limits(LIMITS.prometheus),
        ...basics,
      },
      { parent: this, provider, deleteBeforeReplace: true, dependsOn: [blackbox, nodeExporter, ...args.dependsOn] },
    );
    this.containers = {
      prometheus: this.prometheusName,
      blackbox: monitoringNames.blackbox(stack.name),
      "node-exporter": monitoringNames.nodeExporter(stack.name),
    };
    this.registerOutputs({ containers: this.containers });
  }
}

import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { COMPONENT_TYPES, dockerNames, EDGE_ROLES, LABEL, platformLabels, resourceNames, toDockerLabels } from "../model/naming";
import { EDGE_METRICS_PORT, monitoringNames } from "../model/monitoring";
import { CERT_RESOLVER } from "../model/traefik-labels";
import type { StackDefinition } from "../model/stack";
import { containerImage, dockerCpus, MUST_RUN, stopSettings } from "./container-settings";
import { EDGE_INTERNAL_ADDRESS } from "./edge-address";
import { edgeHandover } from "./edge-handover";
import { EDGE_KEEPER_SCRIPT } from "./edge-keeper-script";
import { edgeSocketProxy } from "./edge-socket-proxy";
import { PIN_LISTENERS_SCRIPT } from "./listener-pin-script";
import { SOCKET_PROXY_ENDPOINT } from "./socket-proxy";
import { resourceOptions } from "./resource-options";

export interface EdgeArgs {
  stack: Pick<StackDefinition, "name" | "tls" | "acme" | "edge" | "images" | "monitoring">;
  /** The Docker host's URL: the monitoring network is attached with the docker CLI. */
  hostUrl: string;
  hostName: string;
  provider: docker.Provider;
  /** The host's engine runs health probes every `startInterval` while a container starts (Engine 25+). */
  healthcheckStartInterval: boolean;
}

const DYNAMIC_CONFIG_PATH = "/etc/traefik/dynamic/platform.yml";
const ACME_STORAGE = "/acme/acme.json";
const EDGE_LIMITS = { cpus: 1, memoryMb: 512 };

/** Linux 5.14+: a closed listener's queued connections move to another listener of its SO_REUSEPORT group. */
const TCP_MIGRATE_REQ = "net.ipv4.tcp_migrate_req";
/** The dashboard entrypoint, published on the host's loopback only when the stack enables it. */
const DASHBOARD_ENTRYPOINT_PORT = 8080;
/** How long Traefik's Docker provider waits before applying the next change (Traefik's default is 2s). */
export const EDGE_THROTTLE = "500ms";

/** The pause container barely runs: it needs no more than this. */
const PAUSE_LIMITS = { cpus: 0.1, memoryMb: 16 };
/** The keeper runs a shell loop and a few docker CLI calls per event. */
const KEEPER_LIMITS = { cpus: 0.2, memoryMb: 64 };
/** How often the keeper looks without an event to wake it (events wake it at once). */
const KEEPER_TICK_SECONDS = 2;

/**
 * Traefik's health check: its ping answers, and its network namespace has an interface besides `lo`. The second half
 * fails when Traefik runs in a namespace its pause container no longer holds (the pause container restarted: the
 * engine removed every interface of the old namespace, and Traefik, still alive in it, would answer its ping on
 * `lo` forever). Docker then reports Traefik unhealthy, and the edge keeper restarts it into the new namespace.
 */
function edgeHealthTest(): string[] {
  return [
    "CMD-SHELL",
    `traefik healthcheck --ping --entrypoints.traefik.address=${EDGE_INTERNAL_ADDRESS} >/dev/null && grep -Eq '^ *eth[0-9]+:' /proc/net/dev || { echo 'not in its pause container network namespace, or ping failed'; exit 1; }`,
  ];
}

/**
 * One Traefik per host. It learns routes from container labels (Docker provider, nothing exposed by default) and
 * is never changed when tenants come and go: tenants attach the edge to their ingress networks themselves.
 *
 * Two containers, like a Kubernetes pod: a pause container holds the network namespace (the published ports, the
 * edge network, every tenant's ingress network) and Traefik joins that namespace. Replacing Traefik (new image,
 * new arguments) is then only a process restart: the engine tears down and re-creates no network endpoint, and no
 * tenant re-attaches, so the outage does not grow with the number of tenants (bench/REAL-ENGINE.md).
 */
export class Edge extends pulumi.ComponentResource implements EdgeRef {
  /** Traefik itself: `docker exec` into it reaches its API and ping on the namespace's loopback. */
  readonly container: docker.Container;
  /** The namespace holder tenants attach their ingress networks to. */
  readonly pause: docker.Container;
  readonly pauseName: string;
  readonly stack: string;
  readonly pauseId: pulumi.Output<string>;
  /** Restarts Traefik into its pause container's current namespace (components/edge-keeper-script.ts). */
  readonly keeper: docker.Container;
  /** Traefik's only way to the Docker API: reads it needs, nothing else (components/socket-proxy.ts). */
  readonly socketProxy: docker.Container;
  readonly resources: pulumi.Resource[];
  /** With monitoring on: the network Prometheus scrapes Traefik on (the pause container attached), and its attachment. */
  readonly monitoring?: { network: pulumi.Output<string>; attachment: pulumi.Resource };

  constructor(name: string, args: EdgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.edge, name, {}, opts);
    const { stack, hostName, provider } = args;
    const labels = toDockerLabels(platformLabels(stack.name));
    // The rollout gate and `npm run status` find Traefik and the keeper by their role, not by name.
    const roleLabels = (role: string) => toDockerLabels({ ...platformLabels(stack.name), [LABEL.role]: role });
    this.pauseName = dockerNames.edgePause(stack.name);

    const acmeVolume = new docker.Volume(
      resourceNames.edgeVolume(hostName),
      { name: dockerNames.edgeVolume(stack.name), labels },
      { parent: this, provider, ...resourceOptions.edgeVolume() },
    );
    // Traefik's own network: the host's published ports lead here, and no tenant container ever joins it. Its
    // gateway is where the host's loopback reaches Traefik from, which is what the dashboard allows.
    const edgeNetwork = new docker.Network(
      resourceNames.edgeNetwork(hostName),
      { name: dockerNames.edgeNetwork(stack.name), driver: "bridge", labels },
      { parent: this, provider },
    );
    const image = containerImage(resourceNames.edgeImage(hostName), stack.edge.image, stack.images.pull, { parent: this, provider });

    const ports = [{ internal: 80, external: stack.edge.httpPort }];
    if (stack.tls !== "none") ports.push({ internal: 443, external: stack.edge.httpsPort });
    const dashboardPorts = stack.edge.dashboard.enabled
      ? [{ internal: DASHBOARD_ENTRYPOINT_PORT, external: stack.edge.dashboard.port, ip: "127.0.0.1" }]
      : [];
    const gateways = edgeNetwork.ipamConfigs.apply((configs) => configs.map((c) => c.gateway).filter((g): g is string => !!g));
    // The monitoring network: Prometheus and its exporters, and the pause container so Prometheus reaches Traefik's
    // metrics entrypoint. No tenant joins it, and Traefik lets only its subnet in on that entrypoint.
    const monitoringNetwork = stack.monitoring.enabled
      ? new docker.Network(
          `${resourceNames.edge(hostName)}-monitoring-network`,
          { name: monitoringNames.network(stack.name), driver: "bridge", labels },
          { parent: this, provider },
        )
      : undefined;
    const monitoringSubnets = monitoringNetwork
      ? monitoringNetwork.ipamConfigs.apply((configs) => configs.map((c) => c.subnet).filter((s): s is string => !!s))
      : pulumi.output([] as string[]);

    const pauseImage = containerImage(resourceNames.edgePauseImage(hostName), stack.edge.pauseImage, stack.images.pull, { parent: this, provider });
    this.pause = new docker.Container(
      resourceNames.edgePause(hostName),
      {
        name: this.pauseName,
        image: pauseImage,
        ports: [...ports, ...dashboardPorts],
        networksAdvanced: [{ name: edgeNetwork.name }],
        // When a replaced Traefik closes its listeners, the connections still queued on them move to the new one's
        // (both bind the same ports with SO_REUSEPORT) instead of being reset. A per-namespace setting: this
        // container owns the namespace.
        sysctls: { [TCP_MIGRATE_REQ]: "1" },
        restart: "unless-stopped",
        mustRun: MUST_RUN,
        ...stopSettings("edge"),
        cpus: dockerCpus(PAUSE_LIMITS.cpus),
        memory: PAUSE_LIMITS.memoryMb,
        memorySwap: PAUSE_LIMITS.memoryMb,
        labels: roleLabels(EDGE_ROLES.pause),
      },
      { parent: this, provider, ...resourceOptions.edgePause() },
    );

    const socketProxy = edgeSocketProxy(
      {
        stack: stack.name,
        hostName,
        image: stack.edge.socketProxyImage,
        pull: stack.images.pull,
        healthcheckStartInterval: args.healthcheckStartInterval,
        labels,
        containerLabels: roleLabels(EDGE_ROLES.socketProxy),
        provider,
      },
      this,
    );
    this.socketProxy = socketProxy.container;

    // No fixed name: a new Traefik starts beside the old one (create-before-delete), and the handover below decides
    // when the old one may go. Pulumi names it `edge-<host>-traefik-<suffix>`, anew at each replacement.
    this.container = new docker.Container(
      resourceNames.edgeContainer(hostName),
      {
        image,
        command: traefikArguments(stack),
        // By id: the engine reports the mode back with the id, and a new pause container must replace Traefik too.
        networkMode: pulumi.interpolate`container:${this.pause.id}`,
        mounts: [
          // Not the engine's socket: the proxy's (SOCKET_PROXY_ENDPOINT), which lets only reads through.
          socketProxy.traefikMount,
          { type: "volume", source: acmeVolume.name, target: "/acme" },
        ],
        uploads: [
          {
            file: DYNAMIC_CONFIG_PATH,
            content: pulumi.all([gateways, monitoringSubnets]).apply(([g, m]) => dynamicConfig(stack.edge.dashboard.enabled ? g : [], m)),
          },
        ],
        // Probed every second: a replaced Traefik must be seen healthy within seconds.
        healthcheck: {
          tests: edgeHealthTest(),
          interval: "1s",
          timeout: "3s",
          retries: 3,
          startPeriod: "10s",
          ...(args.healthcheckStartInterval ? { startInterval: "500ms" } : {}),
        },
        wait: true,
        waitTimeout: 60,
        restart: "unless-stopped",
        mustRun: MUST_RUN,
        ...stopSettings("edge"),
        cpus: dockerCpus(EDGE_LIMITS.cpus),
        memory: EDGE_LIMITS.memoryMb,
        memorySwap: EDGE_LIMITS.memoryMb,
        logDriver: "json-file",
        logOpts: { "max-size": "20m", "max-file": "5" },
        labels: roleLabels(EDGE_ROLES.traefik),
      },
      { parent: this, provider, dependsOn: [this.socketProxy], ...resourceOptions.edgeContainer() },
    );
    edgeHandover(`${resourceNames.edgeContainer(hostName)}-handover`, { hostUrl: args.hostUrl, traefik: this.container }, { parent: this });
    // The edge keeper: Docker does not restart a container whose network namespace went away with its pause
    // container, nor retry one whose start failed because the pause container was not running yet (an engine
    // restart starts both at once). Without it a pause restart is a total outage that never ends.
    this.keeper = new docker.Container(
      resourceNames.edgeKeeper(hostName),
      {
        name: dockerNames.edgeKeeper(stack.name),
        image: containerImage(resourceNames.edgeKeeperImage(hostName), stack.edge.keeperImage, stack.images.pull, { parent: this, provider }),
        entrypoints: ["/bin/sh", "-c", EDGE_KEEPER_SCRIPT],
        envs: [
          `PAUSE=${this.pauseName}`,
          `STACK=${stack.name}`,
          `TICK_SECONDS=${KEEPER_TICK_SECONDS}`,
          // The image is pulled (or checked) here, so the keeper's `docker run` of it never waits on a registry.
          pulumi.interpolate`PIN_IMAGE=${containerImage(resourceNames.edgePinImage(hostName), stack.edge.pinImage, stack.images.pull, { parent: this, provider })}`,
          `PIN_SCRIPT=${PIN_LISTENERS_SCRIPT}`,
        ],
        // It restarts containers, so it holds the Docker API's write calls: no network at all, nothing can reach it.
        networkMode: "none",
        mounts: [{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock" }],
        restart: "unless-stopped",
        mustRun: MUST_RUN,
        // It keeps no state worth a grace period.
        stopTimeout: 1,
        destroyGraceSeconds: 1,
        cpus: dockerCpus(KEEPER_LIMITS.cpus),
        memory: KEEPER_LIMITS.memoryMb,
        memorySwap: KEEPER_LIMITS.memoryMb,
        logDriver: "json-file",
        logOpts: { "max-size": "1m", "max-file": "2" },
        labels: roleLabels(EDGE_ROLES.keeper),
      },
      { parent: this, provider },
    );
    if (monitoringNetwork) {
      // Attached from outside, like a tenant's ingress network: turning monitoring on does not replace the pause
      // container (its networks are fixed at creation), so no tenant's attachment is redone.
      const attachment = attachToEdge(
        `${resourceNames.edge(hostName)}-monitoring-attach`,
        { hostUrl: args.hostUrl, network: monitoringNetwork.name, pauseName: this.pauseName, pauseId: this.pause.id },
        { parent: this, dependsOn: [this.pause] },
      );
      this.monitoring = { network: monitoringNetwork.name, attachment };
    }
    this.stack = stack.name;
    this.pauseId = this.pause.id;
    this.resources = [this.pause];
    this.registerOutputs({ pauseName: this.pauseName });
  }
}

/** What a tenant needs of its host's edge: the stack it routes for, its two containers' names, the pause's id. */
export interface EdgeRef {
  /** Traefik routes the containers labelled with this stack (components/service.ts). */
  stack: string;
  pauseName: string;
  /** A new pause container (new id) makes every attachment connect again. */
  pauseId: pulumi.Input<string>;
  /** What attachments wait for: nothing for an edge another stack declares. */
  resources: pulumi.Resource[];
}

/**
 * A preview's edge on a host: its base stack's, which the preview does not declare (ports 80/443 are taken) but
 * reaches by name. `pauseId` is the base's pause container as `npm run preview` found it, when known.
 */
export function baseStackEdge(baseStack: string, pauseId: string | undefined): EdgeRef {
  return {
    stack: baseStack,
    pauseName: dockerNames.edgePause(baseStack),
    pauseId: pauseId ?? "",
    resources: [],
  };
}

/**
 * Joins the edge's pause container (which holds Traefik's network namespace) to a network from outside, so the
 * network's owner (a tenant's ingress, the monitoring stack) adds or removes it without changing the edge's
 * resources, and replacing Traefik leaves it in place. The pause container's id is an input: should it be replaced
 * (new ports), the attachment is updated (connects again; no disconnect, the old container is gone).
 */
export function attachToEdge(
  name: string,
  args: { hostUrl: string; network: pulumi.Input<string>; pauseName: string; pauseId: pulumi.Input<string> },
  opts: { parent: pulumi.Resource; dependsOn: pulumi.Input<pulumi.Resource>[] },
): command.local.Command {
  return new command.local.Command(
    name,
    {
      create: 'docker network connect "$NETWORK" "$EDGE" 2>/dev/null || docker inspect -f "{{json .NetworkSettings.Networks}}" "$EDGE" | grep -q "\\"$NETWORK\\""',
      delete: 'docker network disconnect --force "$NETWORK" "$EDGE" 2>/dev/null || true',
      environment: { DOCKER_HOST: args.hostUrl, NETWORK: args.network, EDGE: args.pauseName, EDGE_ID: args.pauseId },
    },
    { ...opts, ...resourceOptions.ingressAttachment() },
  );
}

/** Traefik's static configuration, as command-line flags (no config file to keep in sync with the container). */
export function traefikArguments(stack: EdgeArgs["stack"]): string[] {
  const args = [
    "--global.checkNewVersion=false",
    "--global.sendAnonymousUsage=false",
    "--providers.docker=true",
    // Through the socket proxy (components/socket-proxy.ts): Traefik never holds the engine's socket.
    `--providers.docker.endpoint=${SOCKET_PROXY_ENDPOINT}`,
    "--providers.docker.exposedByDefault=false",
    // Several stacks may share a Docker host; each Traefik routes only the containers labelled with its stack as
    // their edge: its own stack's and its previews' (a preview declares no edge and names its base's).
    `--providers.docker.constraints=Label(\`${LABEL.edge}\`,\`${stack.name}\`)`,
    // A stopped container must leave the load balancer at once, not up to 2s later (zero-downtime updates).
    `--providers.providersThrottleDuration=${EDGE_THROTTLE}`,
    `--providers.file.filename=${DYNAMIC_CONFIG_PATH}`,
    "--entrypoints.web.address=:80",
    // A backend whose address vanished mid-update hangs rather than refusing: fail fast so `retry` picks another.
    "--serversTransport.forwardingTimeouts.dialTimeout=1s",
    // API and ping on the container's loopback only (see EDGE_INTERNAL_ADDRESS).
    "--api=true",
    "--api.insecure=true",
    "--api.dashboard=true",
    `--entrypoints.traefik.address=${EDGE_INTERNAL_ADDRESS}`,
    "--ping=true",
    // Prometheus metrics per entrypoint, router and service (request counts, durations, status codes) on the same
    // loopback entrypoint as the API: a host's scraper reaches them with `docker exec`, no tenant network can.
    "--metrics.prometheus=true",
    "--metrics.prometheus.entryPoint=traefik",
    "--metrics.prometheus.addRoutersLabels=true",
    "--log.level=INFO",
  ];
  // JSON, so they can be shipped as they are; the container's json-file log rotation (below) keeps them bounded.
  if (stack.edge.accessLog) args.push("--accesslog=true", "--accesslog.format=json");
  if (stack.tls !== "none") {
    args.push(
      "--entrypoints.websecure.address=:443",
      "--entrypoints.web.http.redirections.entrypoint.to=websecure",
      "--entrypoints.web.http.redirections.entrypoint.scheme=https",
    );
  }
  if (stack.tls === "acme" && stack.acme) {
    const resolver = `--certificatesresolvers.${CERT_RESOLVER}.acme`;
    args.push(`${resolver}.email=${stack.acme.email}`, `${resolver}.storage=${ACME_STORAGE}`, `${resolver}.caserver=${stack.acme.caServer}`);
    args.push(stack.acme.challenge === "http" ? `${resolver}.httpchallenge.entrypoint=web` : `${resolver}.tlschallenge=true`);
  }
  if (stack.edge.dashboard.enabled) args.push(`--entrypoints.dashboard.address=:${DASHBOARD_ENTRYPOINT_PORT}`);
  // The monitoring stack's Prometheus scrapes this entrypoint from the monitoring network (dynamicConfig's allow-list).
  if (stack.monitoring.enabled) args.push(`--entrypoints.metrics.address=:${EDGE_METRICS_PORT}`);
  // A stopping Traefik closes its listeners at once (a replacement's new one already listens beside it) and lets
  // in-flight requests finish for up to the grace time, then exits by itself, before the engine's stop timeout.
  for (const entrypoint of entrypointsOf(args)) args.push(`--entrypoints.${entrypoint}.transport.lifeCycle.graceTimeOut=${EDGE_GRACE_TIMEOUT}`);
  // A new Traefik binds every port beside the old one (SO_REUSEPORT) while both run during a replacement. The keeper
  // pins each public port to its oldest listener (components/listener-pin-script.ts), so the old one takes every new
  // connection until it closes its listeners; the loopback API stays spread over both (components/edge-handover.ts).
  for (const entrypoint of entrypointsOf(args)) args.push(`--entrypoints.${entrypoint}.reusePort=true`);
  return args;
}

/** How long a stopping Traefik lets in-flight requests finish (Traefik's default; STOP_GRACE_SECONDS.edge is above it). */
export const EDGE_GRACE_TIMEOUT = "10s";

function entrypointsOf(args: readonly string[]): string[] {
  return args.map((arg) => /^--entrypoints\.([a-z]+)\.address=/.exec(arg)?.[1]).filter((name): name is string => name !== undefined);
}

/**
 * Middlewares every tenant router uses (security headers, and a retry that hides a replica being replaced) and,
 * when the dashboard is on, its router: only connections from the edge network's gateway (the host's loopback
 * through the published port) get through; a tenant reaching Traefik's address on its ingress network gets 403.
 */
export function dynamicConfig(dashboardSources: readonly string[], monitoringSubnets: readonly string[] = []): string {
  const http: Record<string, unknown> = {
    middlewares: {
      "security-headers": {
        headers: {
          stsSeconds: 31536000,
          stsIncludeSubdomains: true,
          contentTypeNosniff: true,
          frameDeny: true,
          referrerPolicy: "strict-origin-when-cross-origin",
        },
      },
      retry: { retry: { attempts: 3, initialInterval: "100ms" } },
      ...(dashboardSources.length > 0
        ? { "host-loopback-only": { ipAllowList: { sourceRange: [...dashboardSources.map((ip) => `${ip}/32`), "127.0.0.1/32"] } } }
        : {}),
      ...(monitoringSubnets.length > 0 ? { "monitoring-only": { ipAllowList: { sourceRange: [...monitoringSubnets] } } } : {}),
    },
  };
  const routers: Record<string, unknown> = {};
  if (dashboardSources.length > 0)
    routers.dashboard = {
      entryPoints: ["dashboard"],
      rule: "PathPrefix(`/api`) || PathPrefix(`/dashboard`)",
      service: "api@internal",
      middlewares: ["host-loopback-only"],
    };
  // Traefik's metrics (prometheus@internal, also on the loopback entrypoint) for the monitoring network only: a
  // tenant reaching this port on its ingress network gets 403.
  if (monitoringSubnets.length > 0)
    routers.metrics = { entryPoints: ["metrics"], rule: "PathPrefix(`/metrics`)", service: "prometheus@internal", middlewares: ["monitoring-only"] };
  if (Object.keys(routers).length > 0) http.routers = routers;
  return stringify({ http });
}

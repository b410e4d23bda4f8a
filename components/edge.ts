import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { COMPONENT_TYPES, dockerNames, platformLabels, resourceNames, toDockerLabels } from "../model/naming";
import { CERT_RESOLVER } from "../model/traefik-labels";
import type { StackDefinition } from "../stacks/definition";
import { containerImage } from "./container-settings";
import { resourceOptions } from "./resource-options";

export interface EdgeArgs {
  stack: Pick<StackDefinition, "name" | "tls" | "acme" | "edge" | "images">;
  hostName: string;
  provider: docker.Provider;
}

const DYNAMIC_CONFIG_PATH = "/etc/traefik/dynamic/platform.yml";
const ACME_STORAGE = "/acme/acme.json";
const EDGE_LIMITS = { cpus: "1", memoryMb: 512 };

/**
 * One Traefik per host. It learns routes from container labels (Docker provider, nothing exposed by default) and
 * is never changed when tenants come and go: tenants attach it to their ingress networks themselves.
 */
export class Edge extends pulumi.ComponentResource {
  readonly container: docker.Container;
  readonly containerName: string;

  constructor(name: string, args: EdgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.edge, name, {}, opts);
    const { stack, hostName, provider } = args;
    const labels = toDockerLabels(platformLabels(stack.name));
    this.containerName = dockerNames.edgeContainer(stack.name);

    const acmeVolume = new docker.Volume(
      resourceNames.edgeVolume(hostName),
      { name: dockerNames.edgeVolume(stack.name), labels },
      { parent: this, provider, ...resourceOptions.edgeVolume() },
    );
    const image = containerImage(resourceNames.edgeImage(hostName), stack.edge.image, stack.images.pull, { parent: this, provider });

    const ports = [{ internal: 80, external: stack.edge.httpPort }];
    if (stack.tls !== "none") ports.push({ internal: 443, external: stack.edge.httpsPort });
    const dashboardPorts = stack.edge.dashboard.enabled
      ? [{ internal: 8080, external: stack.edge.dashboard.port, ip: "127.0.0.1" }]
      : [];

    this.container = new docker.Container(
      resourceNames.edgeContainer(hostName),
      {
        name: this.containerName,
        image,
        command: traefikArguments(stack),
        ports: [...ports, ...dashboardPorts],
        mounts: [
          // Read-only stops Traefik replacing the socket file; it does not limit the API (see README: socket proxy).
          { type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true },
          { type: "volume", source: acmeVolume.name, target: "/acme" },
        ],
        uploads: [{ file: DYNAMIC_CONFIG_PATH, content: dynamicConfig() }],
        healthcheck: { tests: ["CMD", "traefik", "healthcheck", "--ping"], interval: "10s", timeout: "5s", retries: 3, startPeriod: "5s" },
        wait: true,
        waitTimeout: 60,
        restart: "unless-stopped",
        cpus: EDGE_LIMITS.cpus,
        memory: EDGE_LIMITS.memoryMb,
        logDriver: "json-file",
        logOpts: { "max-size": "20m", "max-file": "5" },
        labels,
      },
      { parent: this, provider, ...resourceOptions.edgeContainer() },
    );
    this.registerOutputs({ containerName: this.containerName });
  }
}

/** Traefik's static configuration, as command-line flags (no config file to keep in sync with the container). */
export function traefikArguments(stack: EdgeArgs["stack"]): string[] {
  const args = [
    "--providers.docker=true",
    "--providers.docker.exposedByDefault=false",
    // Several stacks may share a Docker host; each Traefik only routes its own stack's containers.
    `--providers.docker.constraints=Label(\`platform.stack\`,\`${stack.name}\`)`,
    `--providers.file.filename=${DYNAMIC_CONFIG_PATH}`,
    "--entrypoints.web.address=:80",
    "--ping=true",
    "--log.level=INFO",
  ];
  if (stack.edge.accessLog) args.push("--accesslog=true");
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
  if (stack.edge.dashboard.enabled) {
    // Published on the host's loopback only: reach it through an SSH tunnel, never from the internet.
    args.push("--api.dashboard=true", "--api.insecure=true", "--entrypoints.traefik.address=:8080");
  }
  return args;
}

/** Middlewares every tenant router uses: security headers, and a retry that hides a replica being replaced. */
export function dynamicConfig(): string {
  return stringify({
    http: {
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
      },
    },
  });
}

import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import { dockerNames, resourceNames } from "../model/naming";
import { containerImage, dockerCpus, MUST_RUN } from "./container-settings";
import {
  SOCKET_PROXY_CONFIG_PATH,
  SOCKET_PROXY_DIR,
  socketProxyConfig,
  socketProxyHealthTest,
} from "./socket-proxy";

/** HAProxy with a handful of connections (components/socket-proxy.ts): a few MB. */
const SOCKET_PROXY_LIMITS = { cpus: 0.25, memoryMb: 32 };

export interface EdgeSocketProxyArgs {
  stack: string;
  hostName: string;
  image: string;
  pull: boolean;
  healthcheckStartInterval: boolean;
  /** The stack's labels (the volume), and the container's, which name its role too. */
  labels: docker.types.input.VolumeLabel[];
  containerLabels: docker.types.input.ContainerLabel[];
  provider: docker.Provider;
}

/**
 * The edge's Docker socket proxy (components/socket-proxy.ts): the only container on the host that Traefik reaches
 * the engine through. It has no network (`network_mode: none`) and listens on a unix socket in a volume of its own,
 * which Traefik mounts read-only (`traefikMount`). It mounts the engine's socket (read-only, which does not limit the
 * API: the allow-list does) and runs as root, the socket's owner, with every capability dropped.
 */
export function edgeSocketProxy(args: EdgeSocketProxyArgs, parent: pulumi.Resource): { container: docker.Container; traefikMount: docker.types.input.ContainerMount } {
  const { stack, hostName, provider } = args;
  const volume = new docker.Volume(
    resourceNames.edgeSocketProxyVolume(hostName),
    { name: dockerNames.edgeSocketProxyVolume(stack), labels: args.labels },
    { parent, provider },
  );
  const container = new docker.Container(
    resourceNames.edgeSocketProxy(hostName),
    {
      name: dockerNames.edgeSocketProxy(stack),
      image: containerImage(resourceNames.edgeSocketProxyImage(hostName), args.image, args.pull, { parent, provider }),
      // The official haproxy image's entrypoint script and the Debian build's differ: name the program itself.
      entrypoints: ["haproxy", "-db", "-f", SOCKET_PROXY_CONFIG_PATH],
      uploads: [{ file: SOCKET_PROXY_CONFIG_PATH, content: socketProxyConfig() }],
      networkMode: "none",
      mounts: [
        { type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true },
        { type: "volume", source: volume.name, target: SOCKET_PROXY_DIR },
      ],
      // The engine's socket is root's (mode 0660, group docker): as its owner, root connects without any capability.
      // The official image runs as haproxy (uid 99), which the socket refuses.
      user: "0:0",
      capabilities: { drops: ["ALL"] },
      securityOpts: ["no-new-privileges:true"],
      healthcheck: {
        tests: socketProxyHealthTest(),
        interval: "5s",
        timeout: "2s",
        retries: 3,
        startPeriod: "5s",
        ...(args.healthcheckStartInterval ? { startInterval: "500ms" } : {}),
      },
      // Traefik is created after it is healthy, so its provider's first connection finds the socket.
      wait: true,
      waitTimeout: 30,
      restart: "unless-stopped",
      mustRun: MUST_RUN,
      // SIGTERM stops at once (the official image's SIGUSR1 would wait for Traefik's event stream to end); Traefik's
      // provider reconnects by itself and keeps its routes meanwhile.
      stopSignal: "SIGTERM",
      stopTimeout: 2,
      destroyGraceSeconds: 2,
      cpus: dockerCpus(SOCKET_PROXY_LIMITS.cpus),
      memory: SOCKET_PROXY_LIMITS.memoryMb,
      memorySwap: SOCKET_PROXY_LIMITS.memoryMb,
      logDriver: "json-file",
      logOpts: { "max-size": "1m", "max-file": "2" },
      labels: args.containerLabels,
    },
    { parent, provider },
  );
  return { container, traefikMount: { type: "volume", source: volume.name, target: SOCKET_PROXY_DIR, readOnly: true } };
}

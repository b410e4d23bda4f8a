import * as command from "@pulumi/command";
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { EDGE_INTERNAL_ADDRESS } from "./edge";

export interface RolloutGateArgs {
  /** The Docker host (DOCKER_HOST) Traefik runs on. */
  hostUrl: string;
  edgeContainerName: string;
  /** Traefik's name for the service's load balancer, with its provider (`acme-web@docker`). */
  traefikService: string;
  /** The service's current containers and the network Traefik reaches them on. */
  containers: docker.Container[];
  ingressNetworkName: string;
  port: number;
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** How long the gate waits for Traefik to route to new containers before failing the deployment. */
export const ROLLOUT_GATE_TIMEOUT_SECONDS = 60;
/**
 * Traefik applies the first change after a quiet period at once, and later ones only after its provider throttle.
 * Waiting a little longer than the throttle after the new containers went live means the old containers' stop is
 * applied as soon as it happens.
 */
export const ROLLOUT_SETTLE_SECONDS = "0.6";

/**
 * Zero-downtime switch for a routed service. Its inputs are the addresses of the service's current containers, so
 * Pulumi updates it after creating replacements and before deleting the replaced containers (create-before-delete
 * deletes last). It waits until Traefik's load balancer contains every new container: only then may the old ones
 * stop. Without it, an old container could stop before Traefik knew of its replacement.
 */
export function rolloutGate(name: string, args: RolloutGateArgs, opts: { parent: pulumi.Resource }): command.local.Command {
  const servers = pulumi
    .all(args.containers.map((container) => container.networkDatas))
    .apply((all) =>
      all
        .flatMap((networks) => networks.filter((n) => n.networkName === args.ingressNetworkName).map((n) => `http://${n.ipAddress}:${args.port}`))
        .sort()
        .join(" "),
    );
  return new command.local.Command(
    name,
    {
      create: WAIT_FOR_TRAEFIK,
      environment: {
        DOCKER_HOST: args.hostUrl,
        EDGE: args.edgeContainerName,
        INTERNAL: EDGE_INTERNAL_ADDRESS,
        SERVICE: args.traefikService,
        SERVERS: servers,
        TIMEOUT: String(ROLLOUT_GATE_TIMEOUT_SECONDS),
        SETTLE: ROLLOUT_SETTLE_SECONDS,
      },
    },
    // No triggers: a change of addresses is an in-place update (the script runs again), never a replacement.
    { parent: opts.parent, dependsOn: args.dependsOn },
  );
}

/** Polls Traefik's API (on its loopback, through `docker exec`) until the service lists every server in SERVERS. */
export const WAIT_FOR_TRAEFIK = `set -u
deadline=$(( $(date +%s) + TIMEOUT ))
while :; do
  body=$(docker exec "$EDGE" wget -qO- "http://$INTERNAL/api/http/services/$SERVICE" 2>/dev/null) || body=""
  missing=""
  for server in $SERVERS; do
    case "$body" in *"\\"$server\\""*) ;; *) missing="$missing $server" ;; esac
  done
  [ -z "$missing" ] && break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "Traefik ($EDGE) does not route $SERVICE to$missing after \${TIMEOUT}s" >&2
    exit 1
  fi
  sleep 0.2
done
sleep "$SETTLE"`;

import * as command from "@pulumi/command";
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { EDGE_ROLES, LABEL } from "../model/naming";
import { EDGE_INTERNAL_ADDRESS } from "./edge-address";

export interface RolloutGateArgs {
  /** The Docker host (DOCKER_HOST) Traefik runs on. */
  hostUrl: string;
  /** Labels that find every container of this service, current or replaced. */
  owner: { stack: string; tenant: string; service: string };
  /**
   * The stack whose edge routes the service (a preview's base). The gate finds that edge's Traefik by its labels when
   * it runs: Traefik's container is named anew at each replacement, and during one two of them run.
   */
  edgeStack: string;
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
 * Zero-downtime switch for a routed service. Its inputs are the IDs of the service's current containers, so
 * Pulumi updates it after creating replacements and before deleting the replaced containers (create-before-delete
 * deletes last). It
 * 1. waits until Traefik's load balancer holds every new container;
 * 2. drains the replaced ones: Traefik's Docker provider learns of a stopped container only after its address is
 *    gone, and requests dialled in between hang. So the gate pauses each replaced container (Traefik skips
 *    containers that are not running), makes Traefik re-read the engine (any container start does), waits until the
 *    load balancer no longer lists it and unpauses it: requests that reached it meanwhile were only delayed. When
 *    Pulumi then stops it, nothing is routed there any more and its in-flight requests finish.
 */
export function rolloutGate(name: string, args: RolloutGateArgs, opts: { parent: pulumi.Resource }): command.local.Command {
  // Container IDs, not addresses: an engine restart may give a container another address, and a refresh afterwards
  // must not plan a change. The script reads the addresses when it runs.
  const containerIds = pulumi.all(args.containers.map((container) => container.id)).apply((ids) => [...ids].sort().join(" "));
  return new command.local.Command(
    name,
    {
      create: WAIT_FOR_TRAEFIK,
      environment: {
        DOCKER_HOST: args.hostUrl,
        EDGE_FILTER: `label=${LABEL.role}=${EDGE_ROLES.traefik},label=${LABEL.stack}=${args.edgeStack}`,
        OWNER: `label=${LABEL.stack}=${args.owner.stack},label=${LABEL.tenant}=${args.owner.tenant},label=${LABEL.service}=${args.owner.service}`,
        NETWORK: args.ingressNetworkName,
        PORT: String(args.port),
        INTERNAL: EDGE_INTERNAL_ADDRESS,
        SERVICE: args.traefikService,
        CONTAINERS: containerIds,
        TIMEOUT: String(ROLLOUT_GATE_TIMEOUT_SECONDS),
        SETTLE: ROLLOUT_SETTLE_SECONDS,
      },
    },
    // No triggers: a change of addresses is an in-place update (the script runs again), never a replacement.
    { parent: opts.parent, dependsOn: args.dependsOn },
  );
}

/**
 * Polls Traefik's API (on its loopback, through `docker exec`) until the service lists every container in CONTAINERS
 * (by its address on NETWORK), then drains the service's other containers (see rolloutGate).
 */
export const WAIT_FOR_TRAEFIK = `set -u
deadline=$(( $(date +%s) + TIMEOUT ))
edge_filters=""; for f in $(echo "$EDGE_FILTER" | tr , ' '); do edge_filters="$edge_filters --filter $f"; done
# Looked up at every poll: on a stack's first up the services may be ready before Traefik is, and a replacement
# renames it.
EDGE=""
find_edge() { EDGE=$(docker ps -q --filter status=running $edge_filters | head -n 1); }
routes() { [ -z "$EDGE" ] || docker exec "$EDGE" wget -qO- "http://$INTERNAL/api/http/services/$SERVICE" 2>/dev/null || true; }
# until_routed <yes|no> <servers...>: waits until Traefik lists all (yes) or none (no) of the servers.
until_routed() {
  want="$1"; shift
  while :; do
    find_edge; body=$(routes); pending=""
    for server in "$@"; do
      case "$body" in *"\"$server\""*) listed=yes ;; *) listed=no ;; esac
      [ "$listed" = "$want" ] || pending="$pending $server"
    done
    [ -z "$pending" ] && return 0
    if [ "$(date +%s)" -ge "$deadline" ]; then
      [ -n "$EDGE" ] || { echo "no Traefik of this stack runs on this host ($EDGE_FILTER) after \${TIMEOUT}s" >&2; exit 1; }
      echo "Traefik ($EDGE) still $( [ "$want" = yes ] && echo "does not route" || echo "routes" ) $SERVICE to$pending after \${TIMEOUT}s" >&2
      exit 1
    fi
    sleep 0.2
  done
}
address_of() { docker inspect -f "{{with index .NetworkSettings.Networks \\"$NETWORK\\"}}{{.IPAddress}}{{end}}" "$1" 2>/dev/null; }
servers=""
for id in $CONTAINERS; do
  ip=$(address_of "$id")
  [ -n "$ip" ] || { echo "container $id of $SERVICE has no address on $NETWORK: it is not running" >&2; exit 1; }
  servers="$servers http://$ip:$PORT"
done
until_routed yes $servers

filters=""; for f in $(echo "$OWNER" | tr , ' '); do filters="$filters --filter $f"; done
replaced=""; drained=""
for id in $(docker ps -q --no-trunc $filters); do
  case " $CONTAINERS " in *" $id "*) continue ;; esac
  ip=$(address_of "$id")
  [ -n "$ip" ] && replaced="$replaced $id" && drained="$drained http://$ip:$PORT"
done
if [ -n "$replaced" ]; then
  docker pause $replaced >/dev/null
  trap 'docker unpause $replaced >/dev/null 2>&1' EXIT
  # Traefik re-reads the engine on container events; a throw-away container of its own image makes one.
  docker run --rm --network none "$(docker inspect -f '{{.Config.Image}}' "$EDGE")" version >/dev/null
  until_routed no $drained
fi
sleep "$SETTLE"`;

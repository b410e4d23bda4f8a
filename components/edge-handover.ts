import * as command from "@pulumi/command";
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { EDGE_INTERNAL_ADDRESS } from "./edge-address";

/** How long a new Traefik gets to load every router before the deployment fails (and the old one keeps serving). */
export const EDGE_HANDOVER_TIMEOUT_SECONDS = 120;
/**
 * Answers in a row that must all list the full set of routers. Both Traefiks listen on the same ports (SO_REUSEPORT)
 * and the kernel spreads connections over them by a hash of each connection's addresses, so any one answer comes
 * from either: 20 full answers in a row leave a one-in-a-million chance that the new Traefik was never asked.
 */
export const EDGE_HANDOVER_SAMPLES = 20;

/**
 * Zero-downtime Traefik replacement. A new Traefik (new image or arguments) starts beside the old one in the pause
 * container's network namespace, binding the same ports (`reusePort`), and Pulumi deletes the old one only after
 * every resource that depends on the new one is done: this command, whose input is the new container's id. It waits
 * until the new Traefik has loaded every router the Docker provider gives (a fresh Traefik answers 404 until its
 * provider has run). The old Traefik then stops: it closes its listeners, the kernel moves the connections still
 * queued on them to the new one (`net.ipv4.tcp_migrate_req`, set on the pause container), and it finishes its
 * in-flight requests within its grace time.
 */
export function edgeHandover(
  name: string,
  args: { hostUrl: string; traefik: docker.Container },
  opts: { parent: pulumi.Resource },
): command.local.Command {
  return new command.local.Command(
    name,
    {
      create: WAIT_FOR_EVERY_ROUTER,
      environment: {
        DOCKER_HOST: args.hostUrl,
        NEW: args.traefik.id,
        INTERNAL: EDGE_INTERNAL_ADDRESS,
        SAMPLES: String(EDGE_HANDOVER_SAMPLES),
        TIMEOUT: String(EDGE_HANDOVER_TIMEOUT_SECONDS),
      },
    },
    // A new Traefik is an update of this command (the script runs again), never a replacement.
    { parent: opts.parent, dependsOn: [args.traefik] },
  );
}

/**
 * Counts the Docker provider's routers in Traefik's API (through `docker exec` into the new Traefik; its loopback is
 * shared with the old one, so an answer comes from either) until SAMPLES answers in a row list as many as the most
 * ever seen. The old Traefik has them all, so an answer from a new one still loading breaks the run.
 */
export const WAIT_FOR_EVERY_ROUTER = `set -u
deadline=$(( $(date +%s) + TIMEOUT ))
count() { docker exec "$NEW" wget -qO- "http://$INTERNAL/api/http/routers?per_page=1000000" 2>/dev/null | grep -o '"provider":"docker"' | wc -l; }
most=0; streak=0
while [ "$streak" -lt "$SAMPLES" ]; do
  n=$(count)
  if [ "$n" -gt "$most" ]; then most=$n; streak=1
  elif [ "$n" -eq "$most" ]; then streak=$(( streak + 1 ))
  else streak=0
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "the new Traefik ($NEW) did not load every router within \${TIMEOUT}s ($n of $most): the old one keeps serving" >&2
    exit 1
  fi
  [ "$streak" -lt "$SAMPLES" ] && sleep 0.1
done
echo "the new Traefik routes all $most routers"`;

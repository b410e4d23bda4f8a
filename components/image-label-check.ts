import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { LABEL } from "../model/naming";

/**
 * Docker merges an image's own labels into every container made from it, and Traefik's Docker provider honours every
 * `traefik.*` label of a container the platform routes (and `platform.edge` decides which containers it routes). A
 * tenant image carrying such labels could add routers for other tenants' hosts, or point a service at the edge's
 * loopback (Traefik's API). So before a service's containers are created from an image, this command reads the
 * image's labels on the service's host and fails the deployment, naming tenant, service and labels, when any is one
 * the platform sets itself. It runs again whenever the image changes; the old containers keep serving when it fails.
 */
export function imageLabelCheck(
  name: string,
  args: { hostUrl: string; hostName: string; image: pulumi.Input<string>; owner: string },
  opts: { parent: pulumi.Resource; dependsOn: pulumi.Input<pulumi.Resource>[] },
): command.local.Command {
  return new command.local.Command(
    name,
    {
      create: REFUSE_ROUTING_LABELS,
      environment: { DOCKER_HOST: args.hostUrl, HOST_NAME: args.hostName, IMAGE: args.image, OWNER: args.owner },
    },
    { parent: opts.parent, dependsOn: opts.dependsOn },
  );
}

/**
 * Label names an image may not carry: Traefik's, and the ones the platform gives its containers (`platform.edge`
 * decides which containers an edge routes). Other `platform.*` labels (e.g. `platform.local-image` on the dev
 * stack's builds) decide nothing.
 */
export const RESERVED_LABEL_PATTERN = `^(traefik\\.|(${Object.values(LABEL).map((l) => l.replace(/\./g, "\\.")).join("|")})$)`;

export const REFUSE_ROUTING_LABELS = `set -u
labels=$(docker image inspect -f '{{range $name, $value := .Config.Labels}}{{println $name}}{{end}}' "$IMAGE") || {
  # An engine that does not answer is the usual cause (a host down): say which host, and that nothing changed there.
  if ! docker version >/dev/null 2>&1; then
    echo "host $HOST_NAME ($DOCKER_HOST) does not answer: $OWNER is left as it is there; the next pulumi up deploys it once the host answers" >&2
  else
    echo "$OWNER: cannot read the labels of image $IMAGE on host $HOST_NAME ($DOCKER_HOST)" >&2
  fi
  exit 1; }
reserved=$(printf '%s\\n' "$labels" | grep -E '${RESERVED_LABEL_PATTERN}' | head -n 5 | tr '\\n' ' ' | sed 's/ *$//')
if [ -n "$reserved" ]; then
  echo "$OWNER: image $IMAGE carries labels that decide routing ($reserved): the platform routes only what the tenant file says; rebuild the image without them" >&2
  exit 1
fi`;

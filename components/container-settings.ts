import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import type { Resources } from "../stacks/definition";

/** Settings every platform container shares: limits in Docker's units, restart policy and bounded logs. */
export function containerBasics(resources: Resources) {
  return {
    cpus: String(resources.cpus),
    memory: Math.max(6, Math.ceil(resources.memoryBytes / 1024 ** 2)),
    restart: "unless-stopped",
    logDriver: "json-file",
    logOpts: { "max-size": "10m", "max-file": "3" },
  };
}

/**
 * The image a container runs. Where the stack pulls images, a RemoteImage pulls the reference and the container runs
 * its id, so a new image behind the same tag replaces the container. The image stays on the host when the resource
 * goes (keepLocally): another tenant may run it. Where the stack does not pull (local images), the reference is used.
 */
export function containerImage(
  resourceName: string,
  reference: string,
  pull: boolean,
  opts: { parent: pulumi.Resource; provider: docker.Provider },
): pulumi.Input<string> {
  return pull ? new docker.RemoteImage(resourceName, { name: reference, keepLocally: true }, opts).imageId : reference;
}

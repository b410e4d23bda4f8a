import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import type { HealthcheckPlan } from "../model/tenant-plan";
import { parseDurationMs } from "../model/units";
import type { Resources } from "../model/stack";

/**
 * Declared explicitly (it is the provider's default) so that a container stopped by hand shows as a change: a refresh
 * records it as not running (`mustRun: false`), and the next `pulumi up --refresh` starts it again. Left to the default,
 * the refreshed state and the program agree and the stopped container stays stopped.
 */
export const MUST_RUN = true;

/**
 * Settings every platform container shares: limits in Docker's units, restart policy and bounded logs. No swap
 * (`memorySwap` = `memory`): Docker's default of twice the memory would let a tenant page past its limit, and the
 * provider reads the engine's value back, so leaving it unset shows as a change on every preview.
 */
export function containerBasics(resources: Resources) {
  const memory = Math.max(6, Math.ceil(resources.memoryBytes / 1024 ** 2));
  return {
    cpus: dockerCpus(resources.cpus),
    memory,
    memorySwap: memory,
    restart: "unless-stopped",
    mustRun: MUST_RUN,
    logDriver: "json-file",
    logOpts: { "max-size": "10m", "max-file": "3" },
  };
}

/**
 * CPUs as the docker provider reads them back from the engine (1 → "1.0", 0.25 → "0.25"). `cpus` forces a
 * replacement when it changes, so writing "1" would replace the container on every `pulumi up`.
 */
export function dockerCpus(cpus: number): string {
  const nano = Math.round(cpus * 1e9);
  if (nano % 1e9 === 0) return `${nano / 1e9}.0`;
  return (nano / 1e9).toFixed(9).replace(/0+$/, "");
}

/**
 * Seconds a container gets between its stop signal and SIGKILL, per kind. The provider stops a container it deletes
 * with `destroyGraceSeconds` (unset: killed at once), and Docker uses `stopTimeout` for every other stop (restart,
 * daemon shutdown): both are set, to the same value, so no path skips the graceful stop.
 * - database: a checkpoint on a busy Postgres can take long; SIGKILL means crash recovery on the next start.
 * - app: in-flight requests finish after Traefik has stopped sending new ones.
 * - cache: Redis here keeps no data.
 * - edge: a replaced Traefik stops after its successor routes everything; it drains in-flight requests for up to
 *   EDGE_GRACE_TIMEOUT (10 s) and exits by itself; this is only the backstop.
 */
export const STOP_GRACE_SECONDS = { database: 60, app: 30, cache: 5, edge: 15 } as const;

export function stopSettings(kind: keyof typeof STOP_GRACE_SECONDS) {
  return { stopTimeout: STOP_GRACE_SECONDS[kind], destroyGraceSeconds: STOP_GRACE_SECONDS[kind] };
}

/**
 * A Docker health check. Where the host's engine supports it (Engine 25+), probes run every second during the start
 * period, so `wait` sees a healthy replacement within about a second instead of after one full `interval`.
 */
export function healthcheckSettings(plan: HealthcheckPlan, startInterval: boolean): docker.types.input.ContainerHealthcheck {
  return {
    tests: plan.test,
    interval: plan.interval,
    timeout: plan.timeout,
    retries: plan.retries,
    startPeriod: plan.startPeriod,
    ...(startInterval ? { startInterval: "1s" } : {}),
  };
}

/**
 * How long `wait` gives a new container to report healthy: its start period plus every probe Docker makes before
 * it would call it unhealthy, and a margin. A broken image fails the deployment in about that time instead of a
 * fixed few minutes (the provider does not stop waiting when the container turns unhealthy).
 */
export function healthGateSeconds(plan: HealthcheckPlan): number {
  const seconds = (duration: string) => parseDurationMs(duration) / 1000;
  const probes = (plan.retries + 1) * (seconds(plan.interval) + seconds(plan.timeout));
  return Math.ceil(seconds(plan.startPeriod) + probes + 15);
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

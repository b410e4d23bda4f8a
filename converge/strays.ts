import { LABEL } from "../model/naming";
import type { ObservedContainer } from "../status/docker-host";
import { oneOffKind, type OneOff } from "../status/report";

/**
 * What a killed `pulumi up` leaves beside the state, found from `pulumi stack export` and the Docker hosts; pure.
 *
 * The engine records an operation as pending before it asks the provider, and as done once the provider answers. A
 * run killed in between leaves the pending operation in the checkpoint and, for a create, a container the state has
 * no id for. A pending create is never cleared by a later `up` (it keeps it, and warns), and its container still holds
 * its name: a fixed-name container (Postgres, Redis, Traefik) makes the next create fail with "Conflict. The container
 * name … is already in use", and an app container keeps running, labelled for Traefik, serving requests.
 */

export const CONTAINER_TYPE = "docker:index/container:Container";

export interface PendingOperation {
  /** creating, updating, deleting, reading, importing */
  type: string;
  urn: string;
  resourceType: string;
  /** The Docker name the operation's inputs give, when it has one. */
  name?: string;
}

export interface StateView {
  /** Ids of every Docker container the state knows: its resources, and pending operations that have an id. */
  containerIds: Set<string>;
  pending: PendingOperation[];
}

type ExportedResource = { urn?: unknown; type?: unknown; id?: unknown; inputs?: unknown };

/** Reads `pulumi stack export`'s JSON; throws with one line when it is not a deployment. */
export function readState(json: unknown): StateView {
  const deployment = (json as { deployment?: { resources?: unknown; pending_operations?: unknown } } | null)?.deployment;
  if (!deployment || typeof deployment !== "object") throw new Error("pulumi stack export printed no deployment");
  const resources = Array.isArray(deployment.resources) ? (deployment.resources as ExportedResource[]) : [];
  const operations = Array.isArray(deployment.pending_operations) ? (deployment.pending_operations as { type?: unknown; resource?: ExportedResource }[]) : [];
  const containerIds = new Set<string>();
  const known = [...resources, ...operations.map((op) => op.resource ?? {})];
  for (const r of known) if (r.type === CONTAINER_TYPE && typeof r.id === "string" && r.id) containerIds.add(r.id);
  const pending = operations.map((op): PendingOperation => {
    const name = (op.resource?.inputs as { name?: unknown } | undefined)?.name;
    return {
      type: typeof op.type === "string" ? op.type : "unknown",
      urn: typeof op.resource?.urn === "string" ? op.resource.urn : "?",
      resourceType: typeof op.resource?.type === "string" ? op.resource.type : "?",
      ...(typeof name === "string" ? { name } : {}),
    };
  });
  return { containerIds, pending };
}

/** The same export without its pending operations: what `pulumi stack import` gets back. */
export function withoutPendingOperations(json: unknown): unknown {
  const copy = structuredClone(json) as { deployment: Record<string, unknown> };
  delete copy.deployment["pending_operations"];
  return copy;
}

export interface HostContainers {
  host: string;
  url: string;
  containers: ObservedContainer[];
}

export interface Stray {
  host: string;
  url: string;
  container: ObservedContainer;
  /** The state has a pending create of this name: the killed run was creating exactly this container. */
  pendingCreate: boolean;
}

export interface StrayPlan {
  /** Labelled for the stack, not in the state: removed. */
  remove: Stray[];
  /**
   * A deploy step's own one-off container, run by the docker CLI inside the step and never a resource (a release
   * task's, a Postgres upgrade's throw-away server; status/report.ts's oneOffKind): left to that step, which removes
   * one a killed run left before it starts its own.
   */
  leave: { host: string; container: ObservedContainer; kind: OneOff }[];
}

/**
 * Containers labelled `platform.managed=true` and `platform.stack=<stack>` whose id the state does not know. A
 * container the state knows (by id, pending operations included) is never touched, whatever its state.
 */
export function findStrays(stack: string, state: StateView, hosts: readonly HostContainers[]): StrayPlan {
  const pendingCreates = new Set(state.pending.filter((op) => op.type === "creating" && op.resourceType === CONTAINER_TYPE && op.name).map((op) => op.name!));
  const plan: StrayPlan = { remove: [], leave: [] };
  for (const { host, url, containers } of hosts) {
    for (const container of [...containers].sort((a, b) => a.name.localeCompare(b.name))) {
      if (container.labels[LABEL.managed] !== "true" || container.labels[LABEL.stack] !== stack) continue;
      if (state.containerIds.has(container.id)) continue;
      const kind = oneOffKind(stack, container);
      if (kind) plan.leave.push({ host, container, kind });
      else plan.remove.push({ host, url, container, pendingCreate: pendingCreates.has(container.name) });
    }
  }
  return plan;
}

/** What a stray is, for its line: "alpha/web", "alpha/postgres (fixed name: its volume stays)". */
export function describeStray(stray: Stray): string {
  const c = stray.container;
  const tenant = c.labels[LABEL.tenant];
  const service = c.labels[LABEL.service];
  const owner = tenant ? `${tenant}${service ? `/${service}` : ""}` : "the edge";
  return `${c.name} (${c.id.slice(0, 12)}, ${owner}, ${c.state}) on ${stray.host}`;
}

import type { PreviewStep, ResourceState } from "./digest";
import { COMPONENT_PREFIX, TENANT_LABEL, TYPES } from "./platform";
import { parseUrn } from "./urn";

export type Owner =
  | { kind: "tenant"; name: string }
  | { kind: "edge"; host: string }
  | { kind: "host"; host: string }
  /** Under a Tenant component that the JSON does not name (see `ownerResolver`). */
  | { kind: "unresolved-tenant" }
  | { kind: "stack" };

export function ownerKey(owner: Owner): string {
  switch (owner.kind) {
    case "tenant": return `tenant ${owner.name}`;
    case "edge": return `edge ${owner.host}`;
    case "host": return `host ${owner.host}`;
    case "unresolved-tenant": return "tenant (unresolved)";
    case "stack": return "stack";
  }
}

const OWNER_ORDER: Record<Owner["kind"], number> = { tenant: 0, "unresolved-tenant": 1, edge: 2, host: 3, stack: 4 };

/** Tenants first, then edges, hosts and the stack; by name within a kind. */
export function compareOwners(a: Owner, b: Owner): number {
  return OWNER_ORDER[a.kind] - OWNER_ORDER[b.kind] || ownerKey(a).localeCompare(ownerKey(b));
}

/** The owner a platform component URN names by itself, if it is a Tenant, Edge or Host component. */
function componentOwner(urn: string): Owner | undefined {
  const { type, name } = parseUrn(urn);
  if (type === TYPES.tenant) return { kind: "tenant", name };
  if (type === TYPES.edge) return { kind: "edge", host: stripPrefix(name, COMPONENT_PREFIX.edge) };
  if (type === TYPES.host) return { kind: "host", host: stripPrefix(name, COMPONENT_PREFIX.host) };
  return undefined;
}

function stripPrefix(name: string, prefix: string): string {
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

export function tenantLabel(state: ResourceState | undefined): string | undefined {
  const labels = state?.inputs?.["labels"];
  if (!Array.isArray(labels)) return undefined;
  for (const entry of labels as unknown[]) {
    if (typeof entry !== "object" || entry === null) continue;
    const { label, value } = entry as Record<string, unknown>;
    if (label === TENANT_LABEL && typeof value === "string") return value;
  }
  return undefined;
}

/**
 * Finds the Tenant, Edge or Host component a resource belongs to by walking `parent` links through every state in
 * the preview. Without `--show-sames` an unchanged parent (a Postgres or Service component) is absent from the
 * JSON and the walk stops there; then the `platform.tenant` Docker label of a resource below that parent decides.
 * Resource names are never parsed for a tenant.
 */
export function ownerResolver(steps: readonly PreviewStep[]): (urn: string) => Owner {
  const parents = new Map<string, string | undefined>();
  for (const step of steps) {
    for (const state of [step.oldState, step.newState]) {
      if (state && !parents.get(state.urn)) parents.set(state.urn, state.parent);
    }
  }
  const ancestors = (urn: string): string[] => {
    const chain: string[] = [];
    for (let current: string | undefined = urn; current && !chain.includes(current); current = parents.get(current)) chain.push(current);
    return chain;
  };
  // Tenant named by a Docker label, for each resource carrying it and each of its known ancestors.
  const labelled = new Map<string, string>();
  for (const step of steps) {
    const state = step.newState ?? step.oldState;
    const tenant = tenantLabel(step.newState) ?? tenantLabel(step.oldState);
    if (!state || !tenant) continue;
    for (const urn of ancestors(state.urn)) if (!labelled.has(urn)) labelled.set(urn, tenant);
  }

  return (urn) => {
    const chain = ancestors(urn);
    for (const current of chain) {
      const owner = componentOwner(current);
      if (owner) return owner;
    }
    // Edge and Host children name their component as `parent`, so only tenant resources get this far.
    if (parseUrn(urn).typeChain[0] !== TYPES.tenant) return { kind: "stack" };
    for (const current of chain) {
      const tenant = labelled.get(current);
      if (tenant) return { kind: "tenant", name: tenant };
    }
    return { kind: "unresolved-tenant" };
  };
}

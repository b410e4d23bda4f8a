import { UNKNOWN_VALUE, type PreviewDigest, type PreviewStep, type ResourceState } from "./digest";
import { compareOwners, ownerResolver, type Owner } from "./ownership";
import { TYPES } from "./platform";
import { parseUrn } from "./urn";

export type ChangeKind = "create" | "update" | "replace" | "delete";
export const CHANGE_KINDS: readonly ChangeKind[] = ["create", "update", "replace", "delete"];

/** Step ops (pkg/resource/deploy/step.go) and what they do to a resource; reads, refreshes and `same` change nothing. */
const OP_KIND: Record<string, ChangeKind> = {
  create: "create",
  import: "create",
  update: "update",
  replace: "replace",
  "create-replacement": "replace",
  "delete-replaced": "replace",
  "import-replacement": "replace",
  delete: "delete",
};
const NO_CHANGE = new Set(["same", "read", "refresh", "read-replacement", "discard", "discard-replaced", "remove-pending-replace", "diff"]);

/** One resource the preview changes (a replacement's create/replace/delete steps fold into one). */
export interface ResourceChange {
  urn: string;
  name: string;
  type: string;
  /** Ancestor component types from the URN, outermost first, ending with `type`. */
  typeChain: string[];
  kind: ChangeKind;
  owner: Owner;
  /** Properties causing it: `replaceReasons` for a replacement, `diffReasons` otherwise, else `detailedDiff` keys. */
  reasons: string[];
  /** `detailedDiff` entries as `path (kind)`. */
  details: string[];
  /** The image reference before and after, where the resource's image reference changes. */
  image?: { from: string; to: string };
  old?: ResourceState;
  new?: ResourceState;
}

export interface PreviewChanges {
  stack?: string;
  changes: ResourceChange[];
  /** Steps whose op this summary does not know (a newer CLI): listed, never counted. */
  unknownOps: { op: string; urn: string }[];
}

export function collectChanges(digest: PreviewDigest): PreviewChanges {
  const steps = digest.steps ?? [];
  const ownerOf = ownerResolver(steps);
  const byUrn = new Map<string, ResourceChange>();
  const unknownOps: PreviewChanges["unknownOps"] = [];
  for (const step of steps) {
    const kind = OP_KIND[step.op];
    if (!kind) {
      if (!NO_CHANGE.has(step.op)) unknownOps.push({ op: step.op, urn: step.urn });
      continue;
    }
    const existing = byUrn.get(step.urn);
    if (existing) {
      if (kind === "replace") merge(existing, step);
      continue;
    }
    const { type, typeChain, name } = parseUrn(step.urn);
    byUrn.set(step.urn, {
      urn: step.urn, name, type, typeChain, kind, owner: ownerOf(step.urn), reasons: [], details: [],
      ...(step.oldState ? { old: step.oldState } : {}),
      ...(step.newState ? { new: step.newState } : {}),
    });
    merge(byUrn.get(step.urn)!, step);
  }
  for (const change of byUrn.values()) {
    const image = imageChange(change);
    if (image) change.image = image;
  }
  const someUrn = steps[0]?.urn ?? digest.diagnostics?.find((d) => d.urn)?.urn;
  const stack = someUrn ? parseUrn(someUrn).stack : undefined;
  // Steps arrive in the engine's (concurrent, varying) order; owner then name gives a stable comment.
  const changes = [...byUrn.values()].sort((a, b) => compareOwners(a.owner, b.owner) || a.name.localeCompare(b.name) || a.urn.localeCompare(b.urn));
  return { ...(stack ? { stack } : {}), changes, unknownOps };
}

function merge(change: ResourceChange, step: PreviewStep): void {
  const kind = OP_KIND[step.op];
  if (kind === "replace") change.kind = "replace";
  if (step.oldState && !change.old) change.old = step.oldState;
  if (step.newState && (!change.new || step.op === "replace")) change.new = step.newState;
  const reasons = (change.kind === "replace" ? step.replaceReasons : undefined) ?? step.diffReasons ?? Object.keys(step.detailedDiff ?? {});
  change.reasons = unique([...change.reasons, ...reasons]);
  const details = Object.entries(step.detailedDiff ?? {}).map(([path, diff]) => `${path} (${diff.kind})`);
  change.details = unique([...change.details, ...details]);
}

/**
 * A pulled image's reference is the RemoteImage's `name`; a container names its image itself where the stack runs
 * local images. A container's image id (`sha256:...`, unknown until the new image is pulled) says nothing to a
 * reviewer: the RemoteImage it comes from shows the reference.
 */
function imageChange(change: ResourceChange): ResourceChange["image"] {
  const key = change.type === TYPES.remoteImage ? "name" : change.type === TYPES.container ? "image" : undefined;
  if (!key || (change.kind !== "replace" && change.kind !== "update")) return undefined;
  const reference = (state: ResourceState | undefined) => {
    const value = state?.inputs?.[key];
    return typeof value === "string" && value !== UNKNOWN_VALUE && !value.startsWith("sha256:") ? value : undefined;
  };
  const from = reference(change.old);
  const to = reference(change.new);
  return from && to && from !== to ? { from, to } : undefined;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

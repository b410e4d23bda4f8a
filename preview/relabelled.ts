import type { ResourceChange } from "./changes";
import type { ResourceState } from "./digest";
import { TYPES } from "./platform";

/**
 * Routed app containers a preview replaces only because their labels change. Docker cannot change a container's
 * labels, so a platform change to Traefik's labels (router names, a middleware every router gets) replaces every routed
 * app container once: a long list of replacements that looks alarming but touches no image, setting or data. The
 * summary names them as one note with the count and the cause, read from the labels before and after.
 */
export interface Relabelling {
  containers: ResourceChange[];
  tenants: string[];
  /** What changed in the labels, each with how many of the containers it applies to, most common first. */
  causes: { cause: string; containers: number; example?: string }[];
}

const SECRET = "[secret]";
const ROUTER_RULE = /^traefik\.http\.routers\.([^.]+)\.rule$/;
const MIDDLEWARE = /^traefik\.http\.middlewares\.([^.]+)\./;
const code = (text: string) => `\`${text}\``;

export function findRelabelling(changes: readonly ResourceChange[]): Relabelling | undefined {
  const containers = changes.filter(isRelabelledAppContainer);
  if (containers.length === 0) return undefined;
  const found = new Map<string, { cause: string; containers: number; example?: string }>();
  for (const change of containers)
    for (const { cause, example } of labelCauses(change.old, change.new)) {
      const seen = found.get(cause);
      if (seen) seen.containers += 1;
      else found.set(cause, { cause, containers: 1, ...(example ? { example } : {}) });
    }
  const causes = [...found.values()].sort((a, b) => b.containers - a.containers || a.cause.localeCompare(b.cause));
  const tenants = [...new Set(containers.map((c) => (c.owner.kind === "tenant" ? c.owner.name : "")))].sort();
  return { containers, tenants, causes };
}

/** A tenant's app container (not its database or cache), routed by Traefik, replaced for `labels` and nothing else. */
export function isRelabelledAppContainer(change: ResourceChange): boolean {
  if (change.type !== TYPES.container || change.kind !== "replace" || change.owner.kind !== "tenant") return false;
  if (!change.typeChain.includes(TYPES.service)) return false;
  if (change.reasons.length === 0 || !change.reasons.every((reason) => /^labels(\[|\.|$)/.test(reason))) return false;
  return [change.old, change.new].some((state) => labelsOf(state)?.get("traefik.enable") === "true");
}

/** The note for a reviewer: how many containers, why, and what their replacement costs. */
export function relabellingMessage(relabelling: Relabelling, edgeReplaced: boolean): string {
  const n = relabelling.containers.length;
  const t = relabelling.tenants.length;
  const causes = relabelling.causes
    .map(({ cause, containers, example }) => `${cause}${example ? ` (e.g. ${example})` : ""}${containers === n ? "" : ` (${containers} of them)`}`)
    .join("; ");
  return [
    `**${n} routed app container${n === 1 ? " is" : "s are"} replaced only because ${n === 1 ? "its" : "their"} labels change** (${t} tenant${t === 1 ? "" : "s"}): ${causes}.`,
    "No image, setting or data changes. Docker cannot relabel a running container, so each is replaced start-first behind its health check and its service's rollout gate: the service keeps answering.",
    "The cost is time (each container starts, becomes healthy and is drained before the old one stops, so this deployment takes longer) and what lived only in the old containers: in-memory sessions, and sticky-session cookies, which then pick a replica anew.",
    ...(edgeReplaced ? ["Traefik's own replacement in the same deployment is under the dangerous changes."] : []),
  ].join(" ");
}

/** Human causes of one container's label change: routers renamed, middlewares added or removed, else the keys. */
export function labelCauses(before: ResourceState | undefined, after: ResourceState | undefined): { cause: string; example?: string }[] {
  const old = labelsOf(before);
  const now = labelsOf(after);
  if (!old || !now || [...old.values(), ...now.values()].includes(SECRET)) return [{ cause: "labels that the preview keeps secret" }];
  const causes: { cause: string; example?: string }[] = [];
  const oldRouters = names(old, ROUTER_RULE);
  const newRouters = names(now, ROUTER_RULE);
  const renamed = oldRouters.length === newRouters.length && oldRouters.some((r) => !newRouters.includes(r));
  if (renamed) causes.push({ cause: "Traefik router names change", example: `${code(oldRouters[0]!)} → ${code(newRouters[0]!)}` });
  const oldKinds = new Set(names(old, MIDDLEWARE).map(middlewareKind));
  const newKinds = new Set(names(now, MIDDLEWARE).map(middlewareKind));
  const added = [...newKinds].filter((k) => !oldKinds.has(k)).sort();
  const removed = [...oldKinds].filter((k) => !newKinds.has(k)).sort();
  if (added.length > 0) causes.push({ cause: `Traefik middleware ${added.map(code).join(", ")} added` });
  if (removed.length > 0) causes.push({ cause: `Traefik middleware ${removed.map(code).join(", ")} removed` });
  if (!renamed && oldRouters.join() !== newRouters.join()) causes.push({ cause: `Traefik routers ${newRouters.length > oldRouters.length ? "added" : "removed"}` });
  if (causes.length > 0) return causes;
  // Anything else: which labels change, with router, middleware and service names generalised.
  const keys = new Set([...old.keys(), ...now.keys()].filter((k) => old.get(k) !== now.get(k)).map(generalKey));
  return [{ cause: `labels ${[...keys].sort().map(code).join(", ")} change` }];
}

/** A container's labels from a preview state: the provider keeps them as a list of `{ label, value }`. */
function labelsOf(state: ResourceState | undefined): Map<string, string> | undefined {
  const raw = state?.inputs?.["labels"];
  if (!Array.isArray(raw)) return undefined;
  const labels = new Map<string, string>();
  for (const entry of raw as unknown[]) {
    const { label, value } = (entry ?? {}) as { label?: unknown; value?: unknown };
    if (typeof label === "string") labels.set(label, typeof value === "string" ? value : SECRET);
  }
  return labels;
}

function names(labels: Map<string, string>, pattern: RegExp): string[] {
  return [...new Set([...labels.keys()].flatMap((key) => pattern.exec(key)?.[1] ?? []))].sort();
}

/** The platform names a router's middlewares `<router>__<kind>` (model/traefik-middlewares.ts); `allow-0` → `allow`. */
function middlewareKind(name: string): string {
  const kind = name.includes("__") ? name.slice(name.lastIndexOf("__") + 2) : name;
  return kind.replace(/-\d+$/, "");
}

function generalKey(key: string): string {
  return key.replace(/^(traefik\.http\.(?:routers|middlewares|services))\.[^.]+\./, "$1.<name>.");
}

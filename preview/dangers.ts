import type { ResourceChange } from "./changes";
import type { ResourceState } from "./digest";
import { DOCS, PRE_REPLACE_DUMP, TYPES, UPGRADE_STEP, VOLUME_MAJOR } from "./platform";

export type DangerKind = "database-volume" | "database-container" | "edge" | "tenant-removed" | "postgres-major";

export interface Danger {
  kind: DangerKind;
  /** Tenant name, or host name for the edge. */
  subject: string;
  /** One Markdown sentence or two, for a reviewer. */
  message: string;
}

export interface DangerOptions {
  /** Prefix for documentation links (e.g. the repository's blob URL); "" for repository-relative links. */
  docsBase: string;
}

/**
 * What a Traefik replacement costs the tenants, as measured by the platform e2e (test/e2e/platform.e2e.ts, step 10;
 * bench/REAL-ENGINE.md, "Traefik replaced beside the old one"): update both when the figures there change.
 */
export const EDGE_REPLACEMENT_COST = {
  failed: "0 of 600 requests",
  measuredWith: "3 tenants under load",
} as const;
const EDGE_FIGURES = "bench/REAL-ENGINE.md";

/**
 * How long a Postgres major upgrade keeps a tenant's writes blocked and its database down, as measured by the
 * upgrade e2e (test/e2e/upgrade.e2e.ts; bench/REAL-ENGINE.md, "Postgres major upgrade downtime"): update both together.
 */
export const POSTGRES_UPGRADE_DOWNTIME = {
  writesBlocked: "about 9 s for a small database and 19 s for one of 105 MB (measured), growing with its size (dump and restore)",
  switch: "about 2 s",
} as const;

const under = (change: ResourceChange, component: string) => change.typeChain.slice(0, -1).includes(component);
const ownerName = (change: ResourceChange) =>
  change.owner.kind === "tenant" ? change.owner.name : change.owner.kind === "unresolved-tenant" ? "(unresolved)" : "";
const code = (text: string) => `\`${text}\``;
const because = (change: ResourceChange) => (change.reasons.length > 0 ? ` (because ${change.reasons.map(code).join(", ")} changed)` : "");

function dockerName(state: ResourceState | undefined): string | undefined {
  const name = state?.outputs?.["name"] ?? state?.inputs?.["name"];
  return typeof name === "string" ? name : undefined;
}

/** Major version of a Postgres image reference (`postgres:16.6` → 16), or of a data volume name (`...-pg16`). */
function imageMajor(state: ResourceState | undefined): string | undefined {
  const ref = state?.inputs?.["name"] ?? state?.inputs?.["image"];
  if (typeof ref !== "string" || ref.startsWith("sha256:")) return undefined;
  return /:(\d+)(?:[.\-@][^/]*)?$/.exec(ref)?.[1];
}
function volumeMajor(state: ResourceState | undefined): string | undefined {
  const name = dockerName(state);
  return name ? VOLUME_MAJOR.exec(name)?.[1] : undefined;
}

export function detectDangers(changes: readonly ResourceChange[], options: DangerOptions): Danger[] {
  const dangers: Danger[] = [];
  const removedTenants = new Set(
    changes.filter((c) => c.type === TYPES.tenant && c.kind === "delete").map((c) => c.name),
  );
  const majorChanges = new Map<string, { from: string; to: string }>();

  for (const change of changes) {
    const tenant = ownerName(change);
    const destructive = change.kind === "delete" || change.kind === "replace";

    if (change.type === TYPES.tenant && change.kind === "delete") {
      const volumes = changes
        .filter((c) => c.type === TYPES.volume && under(c, TYPES.postgres) && ownerName(c) === change.name && c.kind === "delete")
        .map((c) => dockerName(c.old) ?? c.name);
      const kept = volumes.length > 0
        ? `Its database volume ${volumes.map(code).join(", ")} is retained on the host and orphaned: nothing runs or manages it any more (list: ${code(`docker volume ls --filter label=platform.tenant=${change.name}`)}).`
        : "All its containers and networks are deleted.";
      dangers.push({ kind: "tenant-removed", subject: change.name, message: `**Tenant ${code(change.name)} is removed.** ${kept}` });
      continue;
    }

    if (destructive && change.type === TYPES.volume && under(change, TYPES.postgres)) {
      if (change.kind === "delete" && removedTenants.has(tenant)) continue;
      const retained = change.old?.retainOnDelete === true;
      const oldName = dockerName(change.old) ?? change.name;
      const message = change.kind === "delete"
        ? retained
          ? `**Tenant ${code(tenant)} loses its database volume** ${code(oldName)}: it leaves the stack and is retained on the host, orphaned (no database uses it any more).`
          : `**The database volume of tenant ${code(tenant)} is deleted** (${code(oldName)}): its data is lost.`
        : `**The database volume of tenant ${code(tenant)} is replaced**${because(change)}: Postgres starts on a new, empty volume ${code(dockerName(change.new) ?? change.name)}; the old data ${retained ? `stays in ${code(oldName)} on the host` : `in ${code(oldName)} is deleted`}.`;
      dangers.push({ kind: "database-volume", subject: tenant, message });
      const from = volumeMajor(change.old);
      const to = volumeMajor(change.new);
      if (change.kind === "replace" && from && to && from !== to) majorChanges.set(tenant, { from, to });
      continue;
    }

    if (destructive && change.type === TYPES.container && under(change, TYPES.postgres)) {
      if (change.kind === "delete" && removedTenants.has(tenant)) continue;
      const message = change.kind === "replace"
        ? `**The database of tenant ${code(tenant)} restarts**: its Postgres container ${code(change.name)} is replaced${because(change)} and the database is down until the new one is healthy. ${preReplaceDump(change, changes)}`
        : `**The database container of tenant ${code(tenant)} is deleted** (${code(change.name)}): the tenant's database stops.`;
      dangers.push({ kind: "database-container", subject: tenant, message });
    }

    if (change.kind === "replace" && under(change, TYPES.postgres) && (change.type === TYPES.remoteImage || change.type === TYPES.container)) {
      const from = imageMajor(change.old) ?? VOLUME_MAJOR.exec(mountedVolume(change.old) ?? "")?.[1];
      const to = imageMajor(change.new) ?? VOLUME_MAJOR.exec(mountedVolume(change.new) ?? "")?.[1];
      if (from && to && from !== to && !majorChanges.has(tenant)) majorChanges.set(tenant, { from, to });
    }

    if (destructive && change.type === TYPES.container && under(change, TYPES.edge) && change.owner.kind === "edge") {
      const host = change.owner.host;
      // The pause container holds the ports and every tenant's network attachment: replacing it (new ports) also
      // replaces Traefik and re-runs each tenant's attachment, so that outage grows with the tenants on the host.
      const isPause = /-pause$/.test(change.name);
      const message = change.kind !== "replace"
        ? `**Every tenant on host ${code(host)} becomes unreachable**: ${isPause ? "the edge's pause container" : "Traefik"} (${code(change.name)}) is deleted.`
        : isPause
          ? `**Every tenant on host ${code(host)} drops**: the edge's pause container (${code(change.name)}: published ports and tenant networks) is replaced${because(change)}, with Traefik, and every tenant re-attaches its network; the outage grows with the number of tenants on the host.`
          : `**Every tenant on host ${code(host)} moves to a new Traefik**: Traefik (${code(change.name)}) is replaced${because(change)}. The new one starts beside the old one on the same ports and takes requests only once it routes everything and the old one stops listening (measured: ${EDGE_REPLACEMENT_COST.failed} failed with ${EDGE_REPLACEMENT_COST.measuredWith}; see [${EDGE_FIGURES}](${options.docsBase}${EDGE_FIGURES})).`;
      dangers.push({ kind: "edge", subject: host, message });
    }
  }

  for (const [tenant, { from, to }] of majorChanges)
    dangers.push({ kind: "postgres-major", subject: tenant, message: majorChangeMessage(tenant, from, to, changes, options) });
  // The engine runs steps concurrently, so its order varies between runs: sort, so a re-posted comment only changes
  // when the plan does.
  return dangers.sort((a, b) => DANGER_ORDER.indexOf(a.kind) - DANGER_ORDER.indexOf(b.kind) || a.subject.localeCompare(b.subject));
}

const DANGER_ORDER: readonly DangerKind[] = ["postgres-major", "tenant-removed", "database-volume", "database-container", "edge"];

/**
 * Whether the program takes a dump before this replace (components/named-dump.ts: the container's pre-replace dump
 * runs in the same update whenever an input that replaces the container changes), and where it lands.
 */
function preReplaceDump(container: ResourceChange, changes: readonly ResourceChange[]): string {
  const parent = container.urn.slice(0, container.urn.lastIndexOf("$"));
  const dump = changes.find((c) => c.type === TYPES.command && c.name === `${container.name}${PRE_REPLACE_DUMP.suffix}` && c.kind !== "delete" && c.urn.startsWith(`${parent}$`));
  const env = dump?.new?.inputs?.["environment"] as Record<string, unknown> | undefined;
  const volume = typeof env?.["BACKUPS_VOLUME"] === "string" ? code(env["BACKUPS_VOLUME"]) : "the tenant's backups volume";
  const id = `<time>-${PRE_REPLACE_DUMP.reason}`;
  return dump
    ? `A dump ${code(`${id}.dump`)} is taken first into ${volume}; a failed dump stops the deployment before the replace (restore: ${code(`npm run db -- restore ${ownerName(container)} --at ${id}`)}).`
    : "**No dump is taken first** (this stack keeps no backups of it).";
}

/** The tenant's database container's volume before and after (`mounts[0].source`), where the preview knows it. */
function mountedVolume(state: ResourceState | undefined): string | undefined {
  const mounts = state?.inputs?.["mounts"];
  const source = Array.isArray(mounts) ? (mounts[0] as { source?: unknown } | undefined)?.source : undefined;
  return typeof source === "string" && VOLUME_MAJOR.test(source) ? source : undefined;
}

/**
 * What a change of major does, from the steps the program planned (model/database-volumes.ts): an upgrade has its
 * data step; a change back to a retained volume (down, or up again) has none and loses what was written since; with
 * neither, the stack has no record of the volumes yet and the volume is replaced (the database-volume danger).
 */
function majorChangeMessage(tenant: string, from: string, to: string, changes: readonly ResourceChange[], options: DangerOptions): string {
  const ofTenant = changes.filter((c) => ownerName(c) === tenant && under(c, TYPES.postgres));
  const container = ofTenant.find((c) => c.type === TYPES.container && c.kind === "replace");
  const oldVolume = mountedVolume(container?.old);
  const created = ofTenant.find((c) => c.type === TYPES.volume && c.kind === "create" && volumeMajor(c.new) === to);
  const newVolume = dockerName(created?.new) ?? mountedVolume(container?.new);
  const vol = (name: string | undefined, major: string) => (name ? code(name) : `the volume of Postgres ${major}`);
  const guide = `[the major-version upgrade](${options.docsBase}${DOCS.majorUpgrade})`;
  const upgrade = ofTenant.find((c) => c.type === TYPES.command && c.kind === "create" && UPGRADE_STEP.exec(c.name)?.[1] === to);
  if (upgrade)
    return [
      `**Postgres major upgrade for tenant ${code(tenant)}: ${from} → ${to}**, in this order (${guide}):`,
      `(1) writes to Postgres ${from} are blocked (reads go on) and a dump \`<time>-upgrade-pg${from}-to-pg${to}\` is taken into the tenant's backups volume;`,
      `(2) the new volume ${vol(newVolume, to)} is created and (3) a throw-away Postgres ${to} restores the dump into it, every table's row count compared with ${from}'s;`,
      `(4) the database container switches to it: the database is down until Postgres ${to} is healthy;`,
      `(5) the old volume ${vol(oldVolume, from)} stays declared, retained and protected: setting the version back to ${from} re-attaches it, with the data as of this upgrade.`,
      `Expected downtime: writes are blocked ${POSTGRES_UPGRADE_DOWNTIME.writesBlocked}; reads only while the container switches, ${POSTGRES_UPGRADE_DOWNTIME.switch} (see [${EDGE_FIGURES}](${options.docsBase}${DOCS.upgradeFigures})).`,
      `A failure at any step stops the deployment with Postgres ${from} serving as before.`,
    ].join(" ");
  const reattach = container && !changes.some((c) => c.type === TYPES.volume && ownerName(c) === tenant && c.kind === "replace");
  if (reattach && Number(to) < Number(from))
    return `**Postgres major version decrease for tenant ${code(tenant)}: ${from} → ${to}.** The database goes back to the retained volume ${vol(mountedVolume(container.new), to)}, with its data as it was when Postgres ${to} last ran: everything written on ${from} since is not carried over (it stays in ${vol(oldVolume, from)}, retained). See ${guide}.`;
  if (reattach)
    return `**Postgres ${from} → ${to} for tenant ${code(tenant)} re-attaches the retained volume ${vol(mountedVolume(container.new), to)}**, with its data as it was when Postgres ${to} last ran: everything written on ${from} since is not carried over (it stays in ${vol(oldVolume, from)}). To upgrade the current data instead, remove the old ${to} volume first (${guide}).`;
  return `**Postgres major version change for tenant ${code(tenant)}: ${from} → ${to}.** The stack has no record of this tenant's volumes yet (its first deployment by this version of the platform), so this is not an upgrade: the data volume is replaced. Deploy once without the version change, then change it: see ${guide}.`;
}

/**
 * Every name the platform derives from a tenant, in one place: Pulumi resource names (start with the tenant so
 * previews read naturally), Docker object names (prefixed by stack so stacks sharing a host never collide),
 * generated hosts, and the labels operators filter on.
 */

/** Service names that would collide with the tenant-level resources below. */
export const RESERVED_SERVICE_NAMES = ["postgres", "redis", "pgdata", "db", "data", "apps", "ingress", "net", "edge", "backup", "backups"] as const;
/** Tenant names the platform itself uses. */
export const RESERVED_TENANT_NAMES = ["platform", "traefik", "edge", "www", "default", "host"] as const;

export const resourceNames = {
  tenant: (tenant: string) => tenant,
  dataNetwork: (tenant: string) => `${tenant}-data`,
  appsNetwork: (tenant: string, host: string) => `${tenant}-apps-${host}`,
  ingressNetwork: (tenant: string, host: string) => `${tenant}-ingress-${host}`,
  ingressAttachment: (tenant: string, host: string) => `${tenant}-ingress-${host}-attach`,
  dataVolume: (tenant: string) => `${tenant}-pgdata`,
  restoredDataVolume: (tenant: string, n: number) => `${tenant}-pgdata-r${n}`,
  /** The volume of a major other than the one `<tenant>-pgdata` was created with (model/database-volumes.ts). */
  majorDataVolume: (tenant: string, major: string) => `${tenant}-pgdata-pg${major}`,
  /** The one-off step that fills a new major's volume from the running database (components/postgres-upgrade.ts). */
  databaseUpgrade: (tenant: string, major: string) => `${tenant}-postgres-upgrade-pg${major}`,
  databasePassword: (tenant: string) => `${tenant}-postgres-password`,
  databaseContainer: (tenant: string) => `${tenant}-postgres`,
  databaseImage: (tenant: string) => `${tenant}-postgres-image`,
  cacheContainer: (tenant: string) => `${tenant}-redis`,
  backups: (tenant: string) => `${tenant}-backups`,
  backupsVolume: (tenant: string) => `${tenant}-backups-volume`,
  backupContainer: (tenant: string) => `${tenant}-backup`,
  backupImage: (tenant: string) => `${tenant}-backup-image`,
  cacheImage: (tenant: string) => `${tenant}-redis-image`,
  service: (tenant: string, service: string) => `${tenant}-${service}`,
  serviceImage: (tenant: string, service: string) => `${tenant}-${service}-image`,
  serviceContainer: (tenant: string, service: string, index: number) => `${tenant}-${service}-${index}`,
  rolloutGate: (tenant: string, service: string) => `${tenant}-${service}-rollout`,
  imageLabelCheck: (tenant: string, service: string) => `${tenant}-${service}-image-labels`,
  releaseTask: (tenant: string, service: string) => `${tenant}-${service}-release`,
  placeholderSecret: (tenant: string, secret: string) => `${tenant}-secret-${secret}-placeholder`,
  host: (host: string) => `host-${host}`,
  edge: (host: string) => `edge-${host}`,
  edgeVolume: (host: string) => `edge-${host}-acme`,
  edgeNetwork: (host: string) => `edge-${host}-network`,
  edgeImage: (host: string) => `edge-${host}-image`,
  edgeContainer: (host: string) => `edge-${host}-traefik`,
  edgePause: (host: string) => `edge-${host}-pause`,
  edgePauseImage: (host: string) => `edge-${host}-pause-image`,
  edgeKeeper: (host: string) => `edge-${host}-keeper`,
  edgeKeeperImage: (host: string) => `edge-${host}-keeper-image`,
  edgePinImage: (host: string) => `edge-${host}-pin-image`,
  edgeSocketProxy: (host: string) => `edge-${host}-socket-proxy`,
  edgeSocketProxyImage: (host: string) => `edge-${host}-socket-proxy-image`,
  edgeSocketProxyVolume: (host: string) => `edge-${host}-socket-proxy-volume`,
};

export const dockerNames = {
  network: (stack: string, tenant: string, purpose: string) => `platform-${stack}-${tenant}-${purpose}`,
  /** Tied to the Postgres major version: a major change means a new volume, which protection stops in production. */
  dataVolume: (stack: string, tenant: string, major: string) => `platform-${stack}-${tenant}-pgdata-pg${major}`,
  databaseContainer: (stack: string, tenant: string) => `platform-${stack}-${tenant}-postgres`,
  cacheContainer: (stack: string, tenant: string) => `platform-${stack}-${tenant}-redis`,
  /** The release task's one-off container: a fixed name, so one left by an interrupted run is removed first. */
  releaseContainer: (stack: string, tenant: string, service: string) => `platform-${stack}-${tenant}-${service}-release`,
  /** The tenant's pg_dump files and their run log; retained and protected like the data volume. */
  backupsVolume: (stack: string, tenant: string) => `platform-${stack}-${tenant}-backups`,
  backupContainer: (stack: string, tenant: string) => `platform-${stack}-${tenant}-backup`,
  /** A restore's new data volume (`npm run db -- restore`): never the live one. */
  restoredDataVolume: (stack: string, tenant: string, major: string, n: number) => `platform-${stack}-${tenant}-pgdata-pg${major}-r${n}`,
  /** The throw-away Postgres of the new major that an upgrade restores into: a fixed name, so a leftover is removed first. */
  upgradeContainer: (stack: string, tenant: string, major: string) => `platform-${stack}-${tenant}-upgrade-pg${major}`,
  /** Holds the edge's network namespace; tenants attach their ingress networks to it by this name. */
  edgePause: (stack: string) => `platform-${stack}-edge-pause`,
  /** Restarts Traefik into its pause container's namespace when that namespace is renewed (components/edge-keeper-script.ts). */
  edgeKeeper: (stack: string) => `platform-${stack}-edge-keeper`,
  /** Traefik's only way to the Docker API: a filtering proxy (components/socket-proxy.ts). */
  edgeSocketProxy: (stack: string) => `platform-${stack}-edge-socket-proxy`,
  /** Holds the socket proxy's unix socket; Traefik mounts it read-only. */
  edgeSocketProxyVolume: (stack: string) => `platform-${stack}-edge-socket-proxy`,
  edgeVolume: (stack: string) => `platform-${stack}-traefik-acme`,
  /** Traefik's own network (published ports); no tenant container joins it. */
  edgeNetwork: (stack: string) => `platform-${stack}-edge`,
};

/** `<tenant><suffix>.<domain>` for the primary service, `<tenant>-<service><suffix>.<domain>` for the others. */
export function generatedHost(tenant: string, service: string | undefined, hostSuffix: string, domain: string): string {
  return `${tenant}${service ? `-${service}` : ""}${hostSuffix}.${domain}`;
}

/** Type tokens of the platform's components; the preview summary finds tenants and edges by them. */
export const COMPONENT_TYPES = {
  tenant: "platform:index:Tenant",
  edge: "platform:index:Edge",
  host: "platform:index:Host",
  postgres: "platform:index:Postgres",
  redis: "platform:index:Redis",
  backups: "platform:index:Backups",
  service: "platform:index:Service",
} as const;

export const LABEL = {
  managed: "platform.managed",
  stack: "platform.stack",
  tenant: "platform.tenant",
  service: "platform.service",
  /** On routed containers: the stack whose edge (Traefik) routes them. A preview's containers name its base stack. */
  edge: "platform.edge",
  /** On a release task's container, in place of `platform.service` (it is none of the service's containers): the service. */
  release: "platform.release",
  /** On the edge's containers: which part of the edge it is (EDGE_ROLES). Traefik is found by it, not by name. */
  role: "platform.role",
} as const;

/** Values of LABEL.role. */
export const EDGE_ROLES = { traefik: "traefik", keeper: "edge-keeper", socketProxy: "edge-socket-proxy", pause: "edge-pause" } as const;

export function platformLabels(stack: string, owner?: { tenant: string; service?: string }): Record<string, string> {
  const labels: Record<string, string> = { [LABEL.managed]: "true", [LABEL.stack]: stack };
  if (owner) labels[LABEL.tenant] = owner.tenant;
  if (owner?.service) labels[LABEL.service] = owner.service;
  return labels;
}

/** Docker's API takes labels as a list; a stable order keeps resource inputs identical run to run. */
export function toDockerLabels(labels: Record<string, string>): { label: string; value: string }[] {
  return Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, value]) => ({ label, value }));
}

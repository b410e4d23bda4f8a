/**
 * The validated stack definition: what a stack file means once every default is applied. Loading and validating it
 * from Pulumi config is stacks/'s job; everything downstream (model, components) sees only this.
 */
import type { MonitoringSettings } from "./monitoring";
import { parseSize } from "./units";

export interface Resources {
  cpus: number;
  memoryBytes: number;
}

export interface DockerHost {
  name: string;
  url: string;
  sshOpts: string[];
  /** Docker Engine 25+: health probes run every second during a container's start period. */
  healthcheckStartInterval: boolean;
}

/** Stand-ins that let a local stack run tenants whose images and secrets exist only in staging and production. */
export interface DevSettings {
  /** The image app services run when their reference has no `images.replace` entry. */
  fallbackImage: string;
  /** Secrets not set in this stack get a generated value instead of failing validation. */
  placeholderSecrets: boolean;
}

/** A validated stack with every default applied: the only view of stack config the rest of the program sees. */
export interface StackDefinition {
  name: string;
  /** The stack file errors point at, e.g. Pulumi.staging.yaml. */
  file: string;
  domain: string;
  hostSuffix: string;
  hosts: Record<string, DockerHost>;
  defaultHost: string;
  tls: "acme" | "self-signed" | "none";
  acme?: { email: string; caServer: string; challenge: "http" | "tls" };
  edge: {
    image: string;
    pauseImage: string;
    keeperImage: string;
    /** python3, for the listener pin that makes a Traefik upgrade drop nothing (components/listener-pin-script.ts). */
    pinImage: string;
    /** HAProxy, filtering Traefik's Docker API calls (components/socket-proxy.ts). */
    socketProxyImage: string;
    httpPort: number;
    httpsPort: number;
    accessLog: boolean;
    dashboard: { enabled: boolean; port: number };
  };
  images: { postgres: string; redis: string; replace: Record<string, string>; pull: boolean };
  defaults: { resources: Resources; databaseResources: Resources };
  protectData: boolean;
  pinnedImages: boolean;
  customDomains: boolean;
  /** Access control on every tenant router (basicAuth: secret names under `secrets.platform`). */
  access?: { basicAuth?: string[]; ipAllowList?: string[] };
  /** Scheduled backups of every tenant database (a tenant's `database.backups` overrides every/keep*). */
  backups: BackupDefaults;
  /** The optional monitoring stack on every host (model/monitoring.ts); never on a preview (its base's edge serves it). */
  monitoring: MonitoringSettings;
  tenantsDir: string;
  /** Secret values by tenant and name. The CLI sees only placeholders here; the program sees values to wrap as secrets. */
  secrets: Record<string, Record<string, string>>;
  registries: { server: string; username: string; password: string }[];
  /** Only on stacks whose hosts are all local sockets (the schema refuses it elsewhere). */
  dev?: DevSettings;
  /** Only on a preview stack (`pr-<n>`, `app-<repo>-pr-<n>`), which `npm run preview` writes from its base's file. */
  preview?: PreviewSettings;
}

export interface BackupDefaults {
  every: string;
  keepDaily: number;
  keepWeekly: number;
  /** Image template for the backup container ({version}, {major}); absent: the tenant's own Postgres image. */
  image?: string;
  /** The secret under `secrets.platform` holding the webhook URL a failed run calls. */
  hookSecret?: string;
  /** Off-host copies of every good dump to S3-compatible storage. */
  offsite?: OffsiteBackups;
}

/**
 * Where the backup container copies its dumps with rclone's S3 backend: `<bucket>/<prefix>/<stack>/<tenant>/`.
 * Copies are never deleted by the platform (the bucket's lifecycle rule expires them), so a wiped host volume cannot
 * wipe the off-host copies too.
 */
export interface OffsiteBackups {
  endpoint: string;
  bucket: string;
  region?: string;
  /** "" for the bucket's root. */
  prefix: string;
  /** Names of the secrets under `secrets.platform` holding the S3 keys. */
  accessKeyIdSecret: string;
  secretAccessKeySecret: string;
}

export const OFFSITE_SECRET_DEFAULTS = { accessKeyId: "BACKUP_S3_ACCESS_KEY_ID", secretAccessKey: "BACKUP_S3_SECRET_ACCESS_KEY" } as const;

/**
 * A stack that runs some tenants of its base stack for a pull request: it declares no edge (its services are routed
 * by the base's), takes each tenant's view of the base (its `environments` entry and `overrides.<base>`), runs with
 * small limits and keeps no data (model/preview-stack.ts).
 */
export interface PreviewSettings {
  base: string;
  pr: number;
  /** The tenants it runs; the program refuses one that does not run on the base. */
  tenants: string[];
  /** An application repository's preview: its one tenant runs `image` for `service`. */
  app?: { repo: string; service: string; image: string };
  /** The base's edge pause container per host, as `npm run preview` found it: a new one re-attaches the networks. */
  edgePauseIds: Record<string, string>;
  /** Where `platform:preview` is written (the preview's own file), for errors about the preview itself. */
  source: { file: string; line: number; column: number };
}

/** The stack a tenant is seen and routed as: a preview's base, otherwise the stack itself. */
export function servingStack(stack: Pick<StackDefinition, "name" | "preview">): string {
  return stack.preview?.base ?? stack.name;
}

/** Limits from a tenant or stack file, with anything left out taken from `fallback`. */
export function resolveResources(spec: { cpus?: number; memory?: string } | undefined, fallback: Resources): Resources {
  return {
    cpus: spec?.cpus ?? fallback.cpus,
    memoryBytes: spec?.memory ? parseSize(spec.memory) : fallback.memoryBytes,
  };
}

import { formatPath, type Diagnostic, type PathSegment } from "../model/diagnostics";
import { capResources, PREVIEW_LIMITS, previewHostSuffix, previewStackName } from "../model/preview-stack";
import { OFFSITE_SECRET_DEFAULTS, resolveResources, type OffsiteBackups, type PreviewSettings, type StackDefinition } from "../model/stack";
import { parseSize } from "../model/units";
import { issuesToDiagnostics } from "../model/zod-diagnostics";
import { stackConfigSchema, type StackConfig } from "./schema";

// The validated stack is model (model/stack.ts); this module loads and validates it from config values.
export type { DevSettings, DockerHost, PreviewSettings, Resources, StackDefinition } from "../model/stack";
export { resolveResources } from "../model/stack";

const ACME_CA: Record<string, string> = {
  staging: "https://acme-staging-v02.api.letsencrypt.org/directory",
  production: "https://acme-v02.api.letsencrypt.org/directory",
};

// Production is the stack where mistakes cost data and customers; its safety switches default to on.
const isProductionName = (stack: string) => stack === "production";

export interface StackInput {
  name: string;
  /** The file errors name: a preview's base stack file (see previewLocations). */
  file: string;
  /** Config values under the `platform` namespace, keyed without the prefix. */
  values: Record<string, unknown>;
  locate(path: readonly PathSegment[]): { line: number; column: number };
  /** A preview stack's own file, where `platform:preview` is written; errors about that key name it. */
  previewFile?: Pick<StackInput, "file" | "locate">;
}

export function resolveStack(input: StackInput): { stack?: StackDefinition; diagnostics: Diagnostic[] } {
  const parsed = stackConfigSchema.safeParse(input.values, { reportInput: true });
  const previewFile = input.previewFile ?? input;
  const previewAt = { file: previewFile.file, ...previewFile.locate(["config", "platform:preview"]) };
  if (!parsed.success) {
    const diagnostics = issuesToDiagnostics(stackConfigSchema, parsed.error.issues, {
      file: input.file,
      locate: input.locate,
      filePath: (path) => (path.length === 0 ? ["config"] : ["config", `platform:${String(path[0])}`, ...path.slice(1)]),
      displayPath: (path) => (path.length === 0 ? "platform" : `platform:${formatPath(path)}`),
    });
    return { diagnostics: diagnostics.map((d) => (/^platform:preview\b/.test(d.path) ? { ...d, ...previewAt } : d)) };
  }
  const preview = parsed.data.preview;
  if (preview) {
    const expected = previewStackName(preview.app ? { pr: preview.pr, repo: preview.app.repo } : { pr: preview.pr });
    if (input.name !== expected)
      return { diagnostics: [{ ...previewAt, path: "platform:preview", message: `describes the preview stack ${expected}, but this stack is ${input.name}` }] };
  }
  return { stack: withDefaults(input.name, input.file, parsed.data, previewAt), diagnostics: [] };
}

/**
 * Where a stack's config errors point. A preview's file is a copy of its base stack's that `npm run preview` writes
 * (untracked) with `platform:preview` added: errors in the copied values name the base's file, the one to fix.
 */
export function previewLocations(
  own: Pick<StackInput, "file" | "locate">,
  values: Record<string, unknown>,
  readBase: (stack: string) => Pick<StackInput, "file" | "locate"> | undefined,
): Pick<StackInput, "file" | "locate" | "previewFile"> {
  const base = (values.preview as { base?: unknown } | null | undefined)?.base;
  const baseFile = typeof base === "string" ? readBase(base) : undefined;
  if (!baseFile) return { file: own.file, locate: own.locate };
  return { file: baseFile.file, locate: baseFile.locate, previewFile: { file: own.file, locate: own.locate } };
}

function withDefaults(name: string, file: string, config: StackConfig, previewAt: PreviewSettings["source"]): StackDefinition {
  if (config.preview) return asPreview(withDefaults(name, file, { ...config, preview: undefined }, previewAt), config.preview, previewAt);
  const production = isProductionName(name);
  const hosts = Object.fromEntries(
    Object.entries(config.hosts).map(([hostName, host]) => [
      hostName,
      { name: hostName, url: host.url, sshOpts: host.sshOpts ?? [], healthcheckStartInterval: host.healthcheckStartInterval ?? false },
    ]),
  );
  return {
    name,
    file,
    domain: config.domain,
    hostSuffix: config.hostSuffix ?? (production ? "" : `-${name}`),
    hosts,
    defaultHost: config.defaultHost ?? Object.keys(hosts)[0]!,
    tls: config.tls ?? "acme",
    acme: config.acme && {
      email: config.acme.email,
      caServer: ACME_CA[config.acme.ca] ?? config.acme.ca,
      challenge: config.acme.challenge,
    },
    edge: {
      image: config.edge?.image ?? "traefik:v3.6.12",
      // Holds the edge's ports and networks (see components/edge.ts); Kubernetes' pause image is made for exactly this.
      pauseImage: config.edge?.pauseImage ?? "registry.k8s.io/pause:3.10",
      // Keeps Traefik in its pause container's namespace (components/edge-keeper-script.ts): it needs only sh and the
      // docker CLI, which Docker's own CLI image is made for.
      keeperImage: config.edge?.keeperImage ?? "docker:27.5.1-cli",
      // Runs the listener pin (components/listener-pin-script.ts) with python3's standard library: the official
      // Python image, by its minor-version tag (the script needs nothing newer than 3.3; pin a digest in the stack
      // file for byte-for-byte repeatable deploys).
      pinImage: config.edge?.pinImage ?? "python:3.13-alpine",
      // Traefik's only way to the Docker API (components/socket-proxy.ts): the official HAProxy image, 3.2 LTS.
      socketProxyImage: config.edge?.socketProxyImage ?? "haproxy:3.2.24",
      httpPort: config.edge?.httpPort ?? 80,
      httpsPort: config.edge?.httpsPort ?? 443,
      accessLog: config.edge?.accessLog ?? true,
      dashboard: { enabled: config.edge?.dashboard?.enabled ?? false, port: config.edge?.dashboard?.port ?? 8080 },
    },
    images: {
      postgres: config.images?.postgres ?? "postgres:{version}",
      redis: config.images?.redis ?? "redis:{version}-alpine",
      replace: config.images?.replace ?? {},
      pull: config.images?.pull ?? true,
    },
    defaults: {
      resources: resolveResources(config.defaults?.resources, { cpus: 0.5, memoryBytes: parseSize("256Mi") }),
      databaseResources: resolveResources(config.defaults?.databaseResources, { cpus: 1, memoryBytes: parseSize("512Mi") }),
    },
    protectData: config.protectData ?? production,
    pinnedImages: config.pinnedImages ?? production,
    customDomains: config.customDomains ?? production,
    ...(config.access ? { access: config.access } : {}),
    backups: {
      every: config.backups?.every ?? "24h",
      keepDaily: config.backups?.keepDaily ?? 7,
      keepWeekly: config.backups?.keepWeekly ?? 4,
      ...(config.backups?.image ? { image: config.backups.image } : {}),
      ...(config.backups?.hookSecret ? { hookSecret: config.backups.hookSecret } : {}),
      ...(config.backups?.offsite ? { offsite: offsiteBackups(config.backups.offsite) } : {}),
    },
    monitoring: {
      enabled: config.monitoring?.enabled ?? false,
      port: config.monitoring?.port ?? 9090,
      retention: config.monitoring?.retention ?? "15d",
      scrapeInterval: config.monitoring?.scrapeInterval ?? "30s",
      // Pinned like the edge's image; the dev stack names its local builds of Debian's packages.
      images: {
        prometheus: config.monitoring?.images?.prometheus ?? "prom/prometheus:v2.55.1",
        blackboxExporter: config.monitoring?.images?.blackboxExporter ?? "prom/blackbox-exporter:v0.25.0",
        nodeExporter: config.monitoring?.images?.nodeExporter ?? "prom/node-exporter:v1.8.2",
      },
    },
    tenantsDir: config.tenantsDir ?? "tenants",
    secrets: config.secrets ?? {},
    registries: config.registries ?? [],
    ...(config.dev ? { dev: { fallbackImage: config.dev.fallbackImage, placeholderSecrets: config.dev.placeholderSecrets ?? false } } : {}),
  };
}

function offsiteBackups(offsite: NonNullable<NonNullable<StackConfig["backups"]>["offsite"]>): OffsiteBackups {
  return {
    endpoint: offsite.endpoint,
    bucket: offsite.bucket,
    ...(offsite.region ? { region: offsite.region } : {}),
    prefix: offsite.prefix ?? "",
    accessKeyIdSecret: offsite.accessKeyIdSecret ?? OFFSITE_SECRET_DEFAULTS.accessKeyId,
    secretAccessKeySecret: offsite.secretAccessKeySecret ?? OFFSITE_SECRET_DEFAULTS.secretAccessKey,
  };
}

/**
 * A preview keeps its base's hosts, domain, TLS, images and secrets, and differs where a preview must: its own
 * generated hosts, no custom domains (they are the base's), small limits, and data that goes with the preview.
 */
function asPreview(base: StackDefinition, preview: NonNullable<StackConfig["preview"]>, source: PreviewSettings["source"]): StackDefinition {
  const name = preview.app ? { pr: preview.pr, repo: preview.app.repo } : { pr: preview.pr };
  return {
    ...base,
    hostSuffix: previewHostSuffix(name),
    protectData: false,
    customDomains: false,
    defaults: {
      resources: capResources(base.defaults.resources, PREVIEW_LIMITS.service),
      databaseResources: capResources(base.defaults.databaseResources, PREVIEW_LIMITS.database),
    },
    preview: {
      base: preview.base,
      pr: preview.pr,
      tenants: preview.tenants,
      ...(preview.app ? { app: preview.app } : {}),
      edgePauseIds: preview.edgePauseIds ?? {},
      source,
    },
  };
}

/** Keys whose values are text; every other key holds a number, boolean, list or map. */
const STRING_CONFIG_KEYS = new Set(["domain", "hostSuffix", "defaultHost", "tls", "tenantsDir"]);

/**
 * Pulumi keeps top-level config values as strings: `pulumi config set` (and any edit of the stack file through the
 * CLI) turns `protectData: true` into `"true"`, and the program receives structured values as JSON text. Both
 * loaders decode values the same way so the program and the CLI agree.
 */
export function decodeConfigValue(key: string, value: unknown): unknown {
  if (typeof value !== "string" || STRING_CONFIG_KEYS.has(key)) return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

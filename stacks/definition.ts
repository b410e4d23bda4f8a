import { formatPath, type Diagnostic, type PathSegment } from "../model/diagnostics";
import { resolveResources, type StackDefinition } from "../model/stack";
import { parseSize } from "../model/units";
import { issuesToDiagnostics } from "../model/zod-diagnostics";
import { stackConfigSchema, type StackConfig } from "./schema";

// The validated stack is model (model/stack.ts); this module loads and validates it from config values.
export type { DevSettings, DockerHost, Resources, StackDefinition } from "../model/stack";
export { resolveResources } from "../model/stack";

const ACME_CA: Record<string, string> = {
  staging: "https://acme-staging-v02.api.letsencrypt.org/directory",
  production: "https://acme-v02.api.letsencrypt.org/directory",
};

// Production is the stack where mistakes cost data and customers; its safety switches default to on.
const isProductionName = (stack: string) => stack === "production";

export interface StackInput {
  name: string;
  file: string;
  /** Config values under the `platform` namespace, keyed without the prefix. */
  values: Record<string, unknown>;
  locate(path: readonly PathSegment[]): { line: number; column: number };
}

export function resolveStack(input: StackInput): { stack?: StackDefinition; diagnostics: Diagnostic[] } {
  const parsed = stackConfigSchema.safeParse(input.values, { reportInput: true });
  if (!parsed.success) {
    const diagnostics = issuesToDiagnostics(stackConfigSchema, parsed.error.issues, {
      file: input.file,
      locate: input.locate,
      filePath: (path) => (path.length === 0 ? ["config"] : ["config", `platform:${String(path[0])}`, ...path.slice(1)]),
      displayPath: (path) => (path.length === 0 ? "platform" : `platform:${formatPath(path)}`),
    });
    return { diagnostics };
  }
  return { stack: withDefaults(input.name, input.file, parsed.data), diagnostics: [] };
}

function withDefaults(name: string, file: string, config: StackConfig): StackDefinition {
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
    tenantsDir: config.tenantsDir ?? "tenants",
    secrets: config.secrets ?? {},
    registries: config.registries ?? [],
    ...(config.dev ? { dev: { fallbackImage: config.dev.fallbackImage, placeholderSecrets: config.dev.placeholderSecrets ?? false } } : {}),
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

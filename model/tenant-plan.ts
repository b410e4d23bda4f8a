import { capResources, MAX_DNS_LABEL, PREVIEW_LIMITS } from "./preview-stack";
import { resolveResources, servingStack, type Resources, type StackDefinition } from "./stack";
import type { PathSegment } from "./diagnostics";
import { isPinned, parseImageRef } from "./image-ref";
import { generatedHost } from "./naming";
import { CACHE_VARIABLES, isPlatformVariable, variablesFor, type PlatformVariable } from "./platform-env";
import type { DatabaseVolumes } from "./database-volumes";
import type { HealthcheckSpec, OldVolumeStep, ServiceSpec, TenantFile } from "./tenant-schema";
import { checkAccessSecrets, planRedirects, routeTraffic, serviceTraffic, type RedirectPlan, type RouteTraffic, type ServiceTraffic } from "./traffic-plan";
import { durationToDockerString, parseDurationMs } from "./units";

/** A tenant as it runs in one stack: overrides merged, defaults applied, names and hosts resolved. */
export interface TenantPlan {
  name: string;
  file: string;
  stack: string;
  homeHost: string;
  retiring: boolean;
  services: ServicePlan[];
  database?: DatabasePlan;
  cache?: CachePlan;
  /** Secrets the tenant's services use that this (dev) stack does not set: the program generates stand-ins. */
  placeholderSecrets: string[];
}

export interface RoutePlan {
  host: string;
  path?: string;
  /** Index in the service's `routes` list; absent for the service's own generated host. */
  customIndex?: number;
  /** A `path` route without `host`: served under that path on the tenant's main generated host. */
  onMainHost?: true;
  /** Rate limit and body size for this router (model/traffic-plan.ts); absent when neither is set. */
  traffic?: RouteTraffic;
}

export interface HealthcheckPlan {
  test: string[];
  interval: string;
  timeout: string;
  retries: number;
  startPeriod: string;
}

export interface ServicePlan {
  name: string;
  /** The reference the tenant file names (what previews and outputs show). */
  image: string;
  /** What Docker runs: the stack may map references to local images (dev). */
  runImage: string;
  /** True when a dev stack runs its fallback image in place of `image`: told its port, started without `command`. */
  standIn: boolean;
  port?: number;
  replicas: number;
  host: string;
  /** Routed services are reachable through Traefik; internal ones only from their own tenant. */
  routed: boolean;
  routes: RoutePlan[];
  healthcheck?: HealthcheckPlan;
  resources: Resources;
  command?: string[];
  /** A release task (components/release-task.ts); a dev stand-in has none, as it has no `command`. */
  release?: { command: string[] };
  env: Record<string, string>;
  /** Platform variables this service also receives under another name: target name → platform variable. */
  envFrom?: Record<string, PlatformVariable>;
  secretNames: string[];
  /** Sticky sessions and compression (routed services). */
  traffic?: ServiceTraffic;
  /** Redirects whose target host this service serves: its containers carry their routers. */
  redirects?: RedirectPlan[];
}

export interface DatabasePlan {
  version: string;
  major: string;
  image: string;
  resources: Resources;
  /** Runs on the restored volume `…-pgdata-pg<major>-r<n>` (`npm run db -- restore`), the original kept declared. */
  restore?: number;
  /** Scheduled dumps; absent on a preview (its data goes with it). */
  backups?: BackupPlan;
  /** Previous majors' volumes being removed (`database.postgres.oldVolumes`). */
  oldVolumes?: Record<string, OldVolumeStep>;
  /**
   * The data volumes across majors, from what the stack remembers deploying (model/database-volumes.ts, set by
   * index.ts); absent: one volume, named after `major` (freshVolumes).
   */
  volumes?: DatabaseVolumes;
}

export interface BackupPlan {
  every: string;
  everySeconds: number;
  keepDaily: number;
  keepWeekly: number;
  /** What the backup container runs: pg_dump of at least the server's major, curl (or wget) for the hook, rclone for offsite. */
  image: string;
  hookSecret?: string;
  /** Off-host copies: the stack's settings with the tenant's own folder in the bucket. */
  offsite?: OffsitePlan;
}

export interface OffsitePlan {
  endpoint: string;
  region?: string;
  /** `<bucket>/<prefix>/<stack>/<tenant>`: rclone's path on the S3 remote, this tenant's only. */
  path: string;
  /** Secret names under `secrets.platform`. */
  accessKeyIdSecret: string;
  secretAccessKeySecret: string;
}

export interface CachePlan {
  version: string;
  image: string;
  resources: Resources;
}

export type StackScopedTenant = Omit<TenantFile, "overrides" | "environments">;
export type Report = (path: readonly PathSegment[], message: string) => void;

const HEALTHCHECK_DEFAULTS = { interval: "10s", timeout: "5s", retries: 3, startPeriod: "10s" };

export function planTenant(tenant: StackScopedTenant, file: string, stack: StackDefinition, report: Report): TenantPlan {
  const hostNames = Object.keys(stack.hosts);
  const homeHost = placeHost(tenant.host, stack.defaultHost, stack);
  if (!stack.hosts[homeHost])
    report(["host"], `host "${homeHost}" is not a host of stack ${stack.name} (hosts: ${hostNames.join(", ")})`);

  const serviceEntries = Object.entries(tenant.services);
  const primaries = serviceEntries.filter(([, s]) => s.primary).map(([name]) => name);
  if (primaries.length > 1) report(["services", primaries[1]!, "primary"], `only one service may be primary (also: ${primaries[0]})`);
  const primary = primaries[0] ?? serviceEntries.find(([, s]) => s.routes !== undefined)?.[0];
  const main: MainHost | undefined = primary === undefined
    ? undefined
    : {
        service: primary,
        host: generatedHost(tenant.name, undefined, stack.hostSuffix, stack.domain),
        dockerHost: placeHost(tenant.services[primary]!.host, homeHost, stack),
      };

  const dataServices: DataServices = { database: tenant.database?.postgres !== undefined, cache: tenant.cache?.redis !== undefined, homeHost };
  const services = serviceEntries.map(([name, spec]) =>
    planService(tenant.name, name, spec, main, dataServices, stack, (path, message) =>
      report(["services", name, ...path], message),
    ),
  );

  const served = services.flatMap((service) =>
    service.routes.map((route) => ({
      host: route.host,
      service: service.name,
      path: ["services", service.name, "routes", ...(route.customIndex === undefined ? [] : [route.customIndex])],
    })),
  );
  for (const { service, redirect } of planRedirects(tenant.redirects, served, stack, (path, message) => report(["redirects", ...path], message)))
    (services.find((s) => s.name === service)!.redirects ??= []).push(redirect);

  const postgres = tenant.database?.postgres;
  const redis = tenant.cache?.redis;
  const runningMajor = postgres?.version.split(".")[0];
  if (runningMajor !== undefined && postgres?.oldVolumes?.[runningMajor] !== undefined)
    report(
      ["database", "postgres", "oldVolumes", runningMajor],
      `Postgres ${runningMajor} is the version this tenant runs (database.postgres.version); only a previous major's volume can be removed`,
    );
  return {
    name: tenant.name,
    file,
    stack: stack.name,
    homeHost,
    retiring: tenant.retiring ?? false,
    services,
    placeholderSecrets: unsetSecrets(tenant, stack),
    database: postgres && {
      version: postgres.version,
      major: postgres.version.split(".")[0]!,
      image: localImage(stack, versionedImage(stack.images.postgres, postgres.version)),
      resources: sized(resolveResources(postgres.resources, stack.defaults.databaseResources), stack, PREVIEW_LIMITS.database),
      ...(postgres.restore !== undefined ? { restore: postgres.restore } : {}),
      ...(postgres.oldVolumes && Object.keys(postgres.oldVolumes).length > 0 ? { oldVolumes: postgres.oldVolumes } : {}),
      ...(stack.preview ? {} : { backups: backupPlan(tenant.database?.backups, stack, postgres.version, tenant.name) }),
    },
    cache: redis && {
      version: redis.version,
      image: localImage(stack, versionedImage(stack.images.redis, redis.version)),
      resources: sized(resolveResources(redis.resources, stack.defaults.resources), stack, PREVIEW_LIMITS.service),
    },
  };
}

/** The tenant's main generated host, `<tenant><suffix>.<domain>`: the primary service's, shared by path routes. */
interface MainHost {
  service: string;
  host: string;
  /** The Docker host whose Traefik the main host's DNS points at. */
  dockerHost: string;
}

/** What runs on the tenant's home host for its services there. */
interface DataServices {
  database: boolean;
  cache: boolean;
  homeHost: string;
}

function planService(
  tenant: string,
  name: string,
  fileSpec: ServiceSpec,
  main: MainHost | undefined,
  data: DataServices,
  stack: StackDefinition,
  report: Report,
): ServicePlan {
  const { homeHost } = data;
  // An application repository's preview runs its pull request's image for this one service, as given.
  const app = stack.preview?.app;
  const previewImage = app && stack.preview!.tenants[0] === tenant && app.service === name ? app.image : undefined;
  const spec = previewImage === undefined ? fileSpec : { ...fileSpec, image: previewImage };
  if (previewImage !== undefined && !parseImageRef(previewImage))
    report(["image"], `"${previewImage}" (the image preview ${stack.name} runs for this service) is not an image reference`);
  const routed = spec.routes !== undefined;
  const host = placeHost(spec.host, homeHost, stack);
  if (spec.host !== undefined && !stack.hosts[host]) report(["host"], `host "${host}" is not a host of stack ${stack.name} (hosts: ${Object.keys(stack.hosts).join(", ")})`);
  else if (stack.hosts[host] && host !== homeHost && !routed)
    report(["host"], `only routed services may run away from the home host "${homeHost}" (add routes, or remove host)`);
  if (routed && spec.port === undefined) report(["routes"], "a routed service needs `port` (the port its container listens on)");

  const ref = parseImageRef(spec.image);
  if (ref && stack.pinnedImages && !isPinned(ref))
    report(["image"], `"${spec.image}" is not pinned: stack ${stack.name} requires a tag other than latest, or a digest`);

  const tenantSecrets = stack.secrets[tenant] ?? {};
  // A preview has its base's secrets: they are set there.
  const secretsStack = servingStack(stack);
  (spec.secrets ?? []).forEach((secret, index) => {
    if (tenantSecrets[secret] === undefined && !stack.dev?.placeholderSecrets)
      report(
        ["secrets", index],
        `secret "${secret}" is not set in stack ${secretsStack}; run: pulumi config set --secret --path 'secrets.${tenant}.${secret}' <value> --stack ${secretsStack}`,
      );
    if (spec.env?.[secret] !== undefined) report(["secrets", index], `"${secret}" is also set in env; a name is either plain env or a secret`);
  });

  checkPlatformVariables(spec, variablesFor(data, host === homeHost), { host, homeHost }, report);

  // A dev stack runs its fallback image for references it has no local image for.
  const standIn = stack.dev !== undefined && previewImage === undefined && stack.images.replace[spec.image] === undefined;
  const routes: RoutePlan[] = [];
  // A preview is seen as its base: routes listing the base's name are its routes.
  const view = servingStack(stack);
  if (routed && main) {
    const generated = generatedHost(tenant, main.service === name ? undefined : name, stack.hostSuffix, stack.domain);
    const label = generated.split(".")[0]!;
    if (label.length > MAX_DNS_LABEL)
      report(
        [],
        `generated host ${generated} in stack ${stack.name} begins with a label of ${label.length} characters; DNS allows at most ${MAX_DNS_LABEL} (shorten the tenant or service name${stack.preview?.app ? ", or the repository's" : ""})`,
      );
    routes.push({ host: generated });
    (spec.routes ?? []).forEach((route, customIndex) => {
      if (route.host !== undefined) {
        // Custom domains are the base's: a preview answers only on its own generated hosts.
        const served = !stack.preview && (route.environments ? route.environments.includes(view) : stack.customDomains);
        if (served) routes.push({ host: route.host, ...(route.path ? { path: route.path } : {}), customIndex });
        return;
      }
      if (route.environments && !route.environments.includes(view)) return;
      // Requests for the main host reach the Traefik of the Docker host its DNS points at, and only that Traefik.
      if (stack.hosts[host] && stack.hosts[main.dockerHost] && host !== main.dockerHost)
        report(
          ["routes", customIndex, "path"],
          `a path on the tenant's main host ${main.host} is served by host "${main.dockerHost}" (where service "${main.service}" runs), but this service runs on "${host}"; give the route a custom \`host\` or run the service on "${main.dockerHost}"`,
        );
      routes.push({ host: main.host, path: route.path!, customIndex, onMainHost: true });
    });
  }

  if (routed) checkAccessSecrets(spec, tenant, stack, report);
  for (const route of routes) {
    const traffic = routeTraffic(spec, route.customIndex, tenant, stack.access);
    if (Object.keys(traffic).length > 0) route.traffic = traffic;
  }

  return {
    name,
    image: spec.image,
    runImage: standIn && stack.dev ? stack.dev.fallbackImage : localImage(stack, spec.image),
    standIn,
    ...(spec.port !== undefined ? { port: spec.port } : {}),
    replicas: stack.preview ? Math.min(spec.replicas ?? 1, PREVIEW_LIMITS.replicas) : (spec.replicas ?? 1),
    host,
    routed,
    routes,
    ...(spec.healthcheck
      ? { healthcheck: planHealthcheck(standIn ? { ...spec.healthcheck, command: undefined, path: STAND_IN_HEALTH_PATH } : spec.healthcheck, spec.port, report) }
      : {}),
    resources: sized(resolveResources(spec.resources, stack.defaults.resources), stack, PREVIEW_LIMITS.service),
    ...(spec.command && !standIn ? { command: spec.command } : {}),
    ...(spec.release && !standIn ? { release: { command: spec.release.command } } : {}),
    env: Object.fromEntries(Object.entries(spec.env ?? {}).map(([key, value]) => [key, String(value)])),
    ...(spec.envFrom && Object.keys(spec.envFrom).length > 0 ? { envFrom: spec.envFrom } : {}),
    secretNames: spec.secrets ?? [],
    ...(routed ? { traffic: serviceTraffic(spec) } : {}),
  };
}

/**
 * The platform's variables are fixed names: a service's own `env`, `secrets` and `envFrom` targets may not reuse
 * one it receives, and `envFrom` may only copy one it receives.
 */
function checkPlatformVariables(
  spec: ServiceSpec,
  provided: readonly PlatformVariable[],
  where: { host: string; homeHost: string },
  report: Report,
): void {
  const taken = (name: string) => provided.includes(name as PlatformVariable);
  const setByPlatform = (name: string) => `"${name}" is set by the platform for this service; use another name (or envFrom to copy it)`;
  for (const name of Object.keys(spec.env ?? {})) if (taken(name)) report(["env", name], setByPlatform(name));
  (spec.secrets ?? []).forEach((name, index) => taken(name) && report(["secrets", index], setByPlatform(name)));

  for (const [target, source] of Object.entries(spec.envFrom ?? {})) {
    const path = ["envFrom", target];
    if (isPlatformVariable(target)) report(path, `"${target}" is a variable the platform sets itself; choose the name your app reads`);
    else if (spec.env?.[target] !== undefined) report(path, `"${target}" is also set in env; a name comes from one place`);
    else if (spec.secrets?.includes(target)) report(path, `"${target}" is also listed in secrets; a name comes from one place`);
    if (taken(source)) continue;
    const reason = where.host !== where.homeHost
      ? `this service runs on host "${where.host}", away from the home host "${where.homeHost}" where the database and cache are`
      : (CACHE_VARIABLES as readonly string[]).includes(source)
        ? "the tenant has no cache (add cache.redis)"
        : "the tenant has no database (add database.postgres)";
    report(path, `"${source}" is not set for this service: ${reason}`);
  }
}

/**
 * Where a service runs. A dev stack has one local host for the hosts staging and production name: a host it does
 * not define means its default host, so any tenant file runs there unchanged.
 */
function placeHost(named: string | undefined, fallback: string, stack: StackDefinition): string {
  if (named === undefined) return fallback;
  return stack.dev && !stack.hosts[named] ? stack.defaultHost : named;
}

/** A preview's containers stay small whatever the tenant asks for in its base stack (model/preview-stack.ts). */
function sized(resources: Resources, stack: StackDefinition, cap: Resources): Resources {
  return stack.preview ? capResources(resources, cap) : resources;
}

/** The stand-in image (the demo app) answers its health check here, whatever the real image's check is. */
const STAND_IN_HEALTH_PATH = "/health";

/** `postgres:{version}` → `postgres:16.4`; `{major}` → `16`. */
/** The stack's backup defaults with the tenant's overrides; the image follows the tenant's Postgres version. */
function backupPlan(overrides: NonNullable<StackScopedTenant["database"]>["backups"], stack: StackDefinition, version: string, tenant: string): BackupPlan {
  const every = overrides?.every ?? stack.backups.every;
  const offsite = stack.backups.offsite;
  return {
    every,
    everySeconds: Math.ceil(parseDurationMs(every) / 1000),
    keepDaily: overrides?.keepDaily ?? stack.backups.keepDaily,
    keepWeekly: overrides?.keepWeekly ?? stack.backups.keepWeekly,
    image: localImage(stack, versionedImage(stack.backups.image ?? stack.images.postgres, version)),
    ...(stack.backups.hookSecret ? { hookSecret: stack.backups.hookSecret } : {}),
    ...(offsite
      ? {
          offsite: {
            endpoint: offsite.endpoint,
            ...(offsite.region ? { region: offsite.region } : {}),
            path: [offsite.bucket, offsite.prefix, stack.name, tenant].filter(Boolean).join("/"),
            accessKeyIdSecret: offsite.accessKeyIdSecret,
            secretAccessKeySecret: offsite.secretAccessKeySecret,
          },
        }
      : {}),
  };
}

function versionedImage(template: string, version: string): string {
  return template.replaceAll("{version}", version).replaceAll("{major}", version.split(".")[0]!);
}

/** The image Docker runs for a reference: the stack's `images.replace` entry where there is one. */
function localImage(stack: StackDefinition, reference: string): string {
  return stack.images.replace[reference] ?? reference;
}

/** Secret names used by the tenant's services and not set in a stack that generates placeholders. */
function unsetSecrets(tenant: StackScopedTenant, stack: StackDefinition): string[] {
  if (!stack.dev?.placeholderSecrets) return [];
  const set = stack.secrets[tenant.name] ?? {};
  const used = Object.values(tenant.services).flatMap((service) => service.secrets ?? []);
  return [...new Set(used)].filter((name) => set[name] === undefined).sort();
}

function planHealthcheck(spec: HealthcheckSpec, port: number | undefined, report: Report): HealthcheckPlan {
  let test: string[];
  if (spec.command) {
    test = ["CMD", ...spec.command];
  } else {
    if (port === undefined) report(["healthcheck", "path"], "an HTTP health check needs the service's `port`");
    const url = `http://127.0.0.1:${port ?? 80}${spec.path}`;
    // Images differ in which HTTP client they ship; images with neither use `command`.
    test = ["CMD-SHELL", `curl -fsS -o /dev/null ${url} || wget -q -O /dev/null ${url} || exit 1`];
  }
  return {
    test,
    interval: durationToDockerString(spec.interval ?? HEALTHCHECK_DEFAULTS.interval),
    timeout: durationToDockerString(spec.timeout ?? HEALTHCHECK_DEFAULTS.timeout),
    retries: spec.retries ?? HEALTHCHECK_DEFAULTS.retries,
    startPeriod: durationToDockerString(spec.startPeriod ?? HEALTHCHECK_DEFAULTS.startPeriod),
  };
}

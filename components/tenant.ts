import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { COMPONENT_TYPES, dockerNames, platformLabels, resourceNames, toDockerLabels } from "../model/naming";
import {
  CACHE_VARIABLES,
  DATABASE_VARIABLES,
  cacheVariables,
  databaseVariables,
  type CacheVariable,
  type DatabaseVariable,
} from "../model/platform-env";
import type { ServicePlan, TenantPlan } from "../model/tenant-plan";
import type { StackDefinition } from "../model/stack";
import { Backups, type BackupsArgs } from "./backups";
import { attachToEdge, type EdgeRef } from "./edge";
import { Postgres } from "./postgres";
import { Redis } from "./redis";
import { Service } from "./service";

export interface TenantHost {
  provider: docker.Provider;
  url: string;
  edge: EdgeRef;
  healthcheckStartInterval: boolean;
}

export interface TenantArgs {
  plan: TenantPlan;
  stack: Pick<StackDefinition, "name" | "tls" | "protectData" | "images" | "preview">;
  hosts: Record<string, TenantHost>;
  /** This tenant's secret values by name (Pulumi secrets). */
  secrets: Record<string, pulumi.Input<string>>;
  /** The stack's own secrets (`platform:secrets.platform.<NAME>`): the stack-wide basic-auth users. */
  stackSecrets?: Record<string, pulumi.Input<string>>;
}

/**
 * Everything one tenant runs in one stack. Networks keep tenants apart:
 * - `data` (home host, internal): Postgres and Redis with the tenant's home-host services, nothing else;
 * - `apps-<host>`: the tenant's services on that host, for service-to-service calls and egress;
 * - `ingress-<host>` (internal): only the routed services and that host's Traefik, which this tenant attaches.
 */
export class Tenant extends pulumi.ComponentResource {
  readonly name: string;
  readonly services: Service[] = [];
  readonly volumeName?: pulumi.Output<string>;
  /** Resolves once the database is deployed as planned: what the stack then remembers (model/database-volumes.ts). */
  readonly databaseDeployed?: pulumi.Output<string>;
  private readonly stackName: string;

  constructor(name: string, args: TenantArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.tenant, name, {}, opts);
    const { plan, stack } = args;
    this.name = plan.name;
    this.stackName = stack.name;
    const home = args.hosts[plan.homeHost]!;
    const pullImages = stack.images.pull;

    if (plan.retiring) {
      // Decommission step 1: only the data volume stays, with protection lifted so the file can then be removed.
      if (plan.database) {
        // Same component name as when active: the volume's URN must not change, or it would be replaced.
        const database = new Postgres(resourceNames.databaseContainer(plan.name), this.databaseArgs(args, home, "", true), { parent: this });
        this.volumeName = database.volumeName;
        this.databaseDeployed = database.deployed;
        // The dumps stay with the data, protection lifted alike.
        if (plan.database.backups) new Backups(resourceNames.backups(plan.name), this.backupsArgs(args, home, true), { parent: this });
      }
      this.registerOutputs({});
      return;
    }

    const needsDataNetwork = plan.database !== undefined || plan.cache !== undefined;
    const dataNetwork = needsDataNetwork ? this.network(resourceNames.dataNetwork(plan.name), "data", home.provider, true) : undefined;
    const database = plan.database && dataNetwork
      ? new Postgres(resourceNames.databaseContainer(plan.name), this.databaseArgs(args, home, dataNetwork.name, false), { parent: this })
      : undefined;
    this.volumeName = database?.volumeName;
    this.databaseDeployed = database?.deployed;
    const backups = database?.container && plan.database?.backups && dataNetwork
      ? new Backups(resourceNames.backups(plan.name), {
          ...this.backupsArgs(args, home, false),
          network: dataNetwork.name,
          password: database.password,
          dependsOn: [database.container],
        }, { parent: this })
      : undefined;
    const cache = plan.cache && dataNetwork
      ? new Redis(resourceNames.cacheContainer(plan.name), {
          stack: stack.name, tenant: plan.name, plan: plan.cache, network: dataNetwork.name, provider: home.provider, pullImages,
        }, { parent: this })
      : undefined;

    const secrets = { ...args.secrets, ...this.placeholderSecrets(plan) };
    // Only the home host's services join the data network, so only they are told about the database and cache.
    const platformAtHome: PlatformValues = {
      ...(database?.password ? { database: database.password.apply(databaseVariables) } : {}),
      ...(cache ? { cache: cacheVariables() } : {}),
    };
    for (const hostName of [...new Set(plan.services.map((s) => s.host))]) {
      const host = args.hosts[hostName]!;
      const onHost = plan.services.filter((s) => s.host === hostName);
      const apps = this.network(resourceNames.appsNetwork(plan.name, hostName), `apps-${hostName}`, host.provider, false);
      const routed = onHost.some((s) => s.routed);
      const ingressName = dockerNames.network(stack.name, plan.name, `ingress-${hostName}`);
      const ingress = routed ? this.network(resourceNames.ingressNetwork(plan.name, hostName), `ingress-${hostName}`, host.provider, true) : undefined;
      const attachment = ingress ? this.attachEdge(hostName, host, ingress) : undefined;
      const atHome = hostName === plan.homeHost;

      for (const service of onHost) {
        const dependsOn: pulumi.Resource[] = [];
        if (atHome && database?.container) dependsOn.push(database.container);
        if (atHome && cache) dependsOn.push(cache.container);
        if (service.routed && attachment) dependsOn.push(attachment);
        this.services.push(
          new Service(resourceNames.service(plan.name, service.name), {
            stack: stack.name,
            tenant: plan.name,
            plan: service,
            provider: host.provider,
            tls: stack.tls,
            pullImages,
            networks: {
              apps: apps.name,
              ...(atHome && dataNetwork ? { data: dataNetwork.name } : {}),
              ...(service.routed && ingress ? { ingress: ingress.name } : {}),
            },
            ...(service.routed && ingress ? { ingressNetworkName: ingressName } : {}),
            envs: serviceEnvironment(service, secrets, atHome ? platformAtHome : {}),
            // Validation made sure each one is set (model/traffic-plan.ts, stacks/schema.ts).
            credential: (ref) => (ref.scope === plan.name ? secrets[ref.name] : args.stackSecrets?.[ref.name])!,
            dependsOn,
            ...(backups?.container ? { releaseDump: { ...this.dumpTarget(args, home), resource: backups.container } } : {}),
            healthcheckStartInterval: host.healthcheckStartInterval,
            edge: { stack: host.edge.stack, hostUrl: host.url, hostName },
          }, { parent: this }),
        );
      }
    }
    this.registerOutputs({});
  }

  /** Dev stacks only: a generated stand-in for each secret the stack does not set (kept in state, so stable). */
  private placeholderSecrets(plan: TenantPlan): Record<string, pulumi.Input<string>> {
    return Object.fromEntries(
      plan.placeholderSecrets.map((name) => [
        name,
        new random.RandomPassword(resourceNames.placeholderSecret(plan.name, name), { length: 24, special: false }, { parent: this }).result,
      ]),
    );
  }

  private databaseArgs(args: TenantArgs, home: TenantHost, network: pulumi.Input<string>, retiring: boolean) {
    return {
      stack: args.stack.name,
      tenant: args.plan.name,
      plan: args.plan.database!,
      network,
      provider: home.provider,
      protectData: args.stack.protectData,
      preview: args.stack.preview !== undefined,
      pullImages: args.stack.images.pull,
      retiring,
      hostUrl: home.url,
      ...(args.plan.database!.backups && !retiring ? { dump: this.dumpTarget(args, home) } : {}),
    };
  }

  /** The tenant's backup container, which takes the dumps the deployment asks for before a risky step. */
  private dumpTarget(args: TenantArgs, home: TenantHost) {
    const { stack, plan } = args;
    return { hostUrl: home.url, backupContainer: dockerNames.backupContainer(stack.name, plan.name), backupsVolume: dockerNames.backupsVolume(stack.name, plan.name) };
  }

  private backupsArgs(args: TenantArgs, home: TenantHost, retiring: boolean): BackupsArgs {
    const plan = args.plan.database!.backups!;
    const hookUrl = plan.hookSecret ? args.stackSecrets?.[plan.hookSecret] : undefined;
    // The stack's validation refuses offsite without both key secrets set, so they are here.
    const secret = (name: string) => args.stackSecrets?.[name] ?? "";
    const offsite = plan.offsite && {
      endpoint: plan.offsite.endpoint,
      ...(plan.offsite.region ? { region: plan.offsite.region } : {}),
      path: plan.offsite.path,
      accessKeyId: secret(plan.offsite.accessKeyIdSecret),
      secretAccessKey: secret(plan.offsite.secretAccessKeySecret),
    };
    return {
      stack: args.stack.name,
      tenant: args.plan.name,
      plan,
      provider: home.provider,
      dockerHost: home.url,
      protectData: args.stack.protectData,
      retiring,
      pullImages: args.stack.images.pull,
      ...(hookUrl ? { hookUrl } : {}),
      ...(offsite ? { offsite } : {}),
    };
  }

  private network(resourceName: string, purpose: string, provider: docker.Provider, internal: boolean): docker.Network {
    return new docker.Network(
      resourceName,
      {
        name: dockerNames.network(this.stackName, this.name, purpose),
        driver: "bridge",
        internal,
        labels: toDockerLabels(platformLabels(this.stackName, { tenant: this.name })),
      },
      { parent: this, provider },
    );
  }

  /** Traefik joins this tenant's ingress network from the tenant's side: adding or removing a tenant never changes the edge. */
  private attachEdge(hostName: string, host: TenantHost, ingress: docker.Network): command.local.Command {
    return attachToEdge(
      resourceNames.ingressAttachment(this.name, hostName),
      { hostUrl: host.url, network: ingress.name, pauseName: host.edge.pauseName, pauseId: host.edge.pauseId },
      { parent: this, dependsOn: host.edge.resources },
    );
  }
}

/** The platform's variables for one service (model/platform-env.ts): each present when the service receives it. */
export interface PlatformValues {
  /** A secret: several of them carry the database password. */
  database?: pulumi.Output<Record<DatabaseVariable, string>>;
  cache?: Record<CacheVariable, string>;
}

/**
 * `NAME=value` entries in a stable order (a reordered list would replace the containers); the whole list is a
 * secret as soon as one entry is, which any service with secrets or a database has.
 */
export function serviceEnvironment(
  service: ServicePlan,
  secrets: Record<string, pulumi.Input<string>>,
  platform: PlatformValues,
): pulumi.Output<string[]> {
  const { database, cache } = platform;
  const entries: pulumi.Input<string>[] = Object.entries(service.env)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${value}`);
  if (cache) entries.push(...CACHE_VARIABLES.map((name) => `${name}=${cache[name]}`));
  // A dev stand-in image learns which port the service's routes and health check expect.
  if (service.standIn && service.port !== undefined) entries.push(`PORT=${service.port}`);
  const secretEntries: pulumi.Input<string>[] = [...service.secretNames].sort().map((name) => pulumi.interpolate`${name}=${secrets[name]!}`);
  if (database) secretEntries.push(...DATABASE_VARIABLES.map((name) => database.apply((values) => `${name}=${values[name]}`)));
  // Validation allows only sources the service receives; the guards keep a missing one out rather than empty.
  for (const [target, source] of Object.entries(service.envFrom ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    if (cache && source in cache) entries.push(`${target}=${cache[source as CacheVariable]}`);
    else if (database && (DATABASE_VARIABLES as readonly string[]).includes(source))
      secretEntries.push(database.apply((values) => `${target}=${values[source as DatabaseVariable]}`));
  }
  const all = pulumi.all([...entries, ...secretEntries]);
  return secretEntries.length > 0 ? pulumi.secret(all) : all;
}

import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { COMPONENT_TYPES, dockerNames, platformLabels, resourceNames, toDockerLabels } from "../model/naming";
import { freshVolumes } from "../model/database-volumes";
import { databaseVolumeName } from "../model/outputs";
import { DATABASE_ENDPOINT } from "../model/platform-env";
import type { DatabasePlan } from "../model/tenant-plan";
import { containerBasics, containerImage, stopSettings } from "./container-settings";
import { namedDump, triggerDigest } from "./named-dump";
import { postgresUpgrade } from "./postgres-upgrade";
import { resourceOptions } from "./resource-options";

export const DATABASE_USER = DATABASE_ENDPOINT.user;
export const DATABASE_NAME = DATABASE_ENDPOINT.database;
export const DATABASE_ALIAS = DATABASE_ENDPOINT.host;
const PASSWORD_APPLIED_MARKER = "/tmp/platform-password-applied";

export interface PostgresArgs {
  stack: string;
  tenant: string;
  plan: DatabasePlan;
  /** Internal network shared only with the tenant's own home-host services. */
  network: pulumi.Input<string>;
  provider: docker.Provider;
  protectData: boolean;
  /** A preview's database starts empty and leaves nothing behind (resourceOptions.dataVolume). */
  preview: boolean;
  pullImages: boolean;
  /** A retiring tenant keeps only its volume. */
  retiring: boolean;
  /** The home host's Docker URL: a major upgrade's data step runs through it. */
  hostUrl: string;
  /**
   * The tenant's backups, where it has them: a dump `<ts>-pre-replace` is taken by its backup container before the
   * database container is replaced (not for a preview, whose data goes with it).
   */
  dump?: { hostUrl: string; backupContainer: string; backupsVolume: string };
}

/**
 * Container inputs the docker provider changes in place (kreuzwerker/terraform-provider-docker's container update:
 * restart, memory, memory swap; `wait`, grace and timeouts are not sent to Docker). Every other input replaces the
 * container, so every other input triggers the pre-replace dump.
 */
export const IN_PLACE_CONTAINER_INPUTS = ["memory", "memorySwap", "restart", "wait", "waitTimeout", "destroyGraceSeconds"] as const;

/** The inputs whose change replaces the container, as one digest (the environment holds the password). */
export function replacingInputs(inputs: docker.ContainerArgs): pulumi.Output<string> {
  const replacing: Record<string, unknown> = { ...inputs };
  for (const key of IN_PLACE_CONTAINER_INPUTS) delete replacing[key];
  return triggerDigest(replacing);
}

/**
 * The tenant's Postgres. Each data volume's name is derived from stack, tenant and major version: stable across
 * container replacement and minor upgrades; a major change moves the data into a new volume (components/postgres-upgrade.ts).
 */
export class Postgres extends pulumi.ComponentResource {
  readonly volumeName: pulumi.Output<string>;
  /** The generated password of the tenant's role, always a secret; apps get it through model/platform-env.ts. */
  readonly password?: pulumi.Output<string>;
  readonly container?: docker.Container;
  /** Resolves once the database runs as planned (the container, or the volumes of a retiring tenant). */
  readonly deployed: pulumi.Output<string>;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.postgres, name, {}, opts);
    const { stack, tenant, plan, provider } = args;
    const labels = platformLabels(stack, { tenant, service: "postgres" });

    // One volume per major (model/database-volumes.ts): `<tenant>-pgdata` keeps its URN and the name of the major it
    // was created with; a later major's volume is a resource of its own. All stay declared, retained and protected
    // until their removal (`oldVolumes`: retiring lifts the protection, removed stops declaring).
    const planned = plan.volumes ?? freshVolumes(plan.major);
    const volumes = new Map<string, docker.Volume>();
    for (const { major, retiring } of planned.majors)
      volumes.set(major, new docker.Volume(
        major === planned.original ? resourceNames.dataVolume(tenant) : resourceNames.majorDataVolume(tenant, major),
        { name: dockerNames.dataVolume(stack, tenant, major), labels: toDockerLabels(labels) },
        { parent: this, provider, ...resourceOptions.dataVolume(args.protectData && !args.retiring && !retiring, args.preview) },
      ));
    const volume = volumes.get(plan.major)!;
    // A restore (`restore: <n>`) is a volume of its own, a new resource: the original keeps its name, URN, retention
    // and protection, and stays declared while the tenant runs on the restored one.
    const live = plan.restore === undefined
      ? volume
      : new docker.Volume(
          resourceNames.restoredDataVolume(tenant, plan.restore),
          { name: databaseVolumeName(stack, tenant, plan), labels: toDockerLabels(labels) },
          { parent: this, provider, ...resourceOptions.dataVolume(args.protectData && !args.retiring, args.preview) },
        );
    this.volumeName = live.name;
    this.deployed = this.volumeName;
    if (args.retiring) {
      this.registerOutputs({ volumeName: this.volumeName });
      return;
    }

    const password = new random.RandomPassword(resourceNames.databasePassword(tenant), { length: 32, special: false }, { parent: this });
    const image = containerImage(resourceNames.databaseImage(tenant), plan.image, args.pullImages, { parent: this, provider });

    const inputs: docker.ContainerArgs = {
      name: dockerNames.databaseContainer(stack, tenant),
      image,
      entrypoints: ["/bin/sh", "-c", APPLY_PASSWORD_THEN_START, "platform-postgres"],
      command: ["postgres"],
      envs: pulumi.secret(
        password.result.apply((secret) => [`POSTGRES_USER=${DATABASE_USER}`, `POSTGRES_DB=${DATABASE_NAME}`, `POSTGRES_PASSWORD=${secret}`]),
      ),
      mounts: [{ type: "volume", source: live.name, target: "/var/lib/postgresql/data" }],
      networksAdvanced: [{ name: args.network, aliases: [DATABASE_ALIAS] }],
      healthcheck: {
        tests: ["CMD-SHELL", `pg_isready -q -h 127.0.0.1 -U ${DATABASE_USER} -d ${DATABASE_NAME} && test -f ${PASSWORD_APPLIED_MARKER}`],
        interval: "5s",
        timeout: "5s",
        retries: 5,
        startPeriod: "30s",
      },
      wait: true,
      waitTimeout: 120,
      // Postgres' "fast shutdown": roll back open transactions, checkpoint, exit cleanly (the official image's
      // STOPSIGNAL; SIGTERM would be a "smart" shutdown that waits for every client to disconnect).
      stopSignal: "SIGINT",
      ...stopSettings("database"),
      ...containerBasics(plan.resources),
      labels: toDockerLabels(labels),
    };
    // Before a planned replace, a dump of the data the old container serves: the Command runs when the inputs that
    // replace the container change (and once when it is first declared); with no running database yet (a new
    // tenant) it has nothing to dump and passes. The container waits for it, so a failed dump stops the replace.
    const dump = args.dump
      ? namedDump(`${resourceNames.databaseContainer(tenant)}-pre-replace-dump`, {
          ...args.dump,
          reason: "pre-replace",
          owner: `tenant ${tenant}`,
          before: "database container's replacement",
          onlyIfRunning: dockerNames.databaseContainer(stack, tenant),
          triggers: [replacingInputs(inputs)],
        }, { parent: this })
      : undefined;
    // A new major's volume is filled from the running database before the container moves onto it; a failure stops
    // here, with the old container serving.
    const change = planned.upgrade;
    const upgrade = change
      ? postgresUpgrade(resourceNames.databaseUpgrade(tenant, change.to), {
          hostUrl: args.hostUrl, stack, tenant, from: change.from, to: change.to, image, volume: volume.name,
          // After the pre-replace dump: that one is taken with writes still open, before the lock.
          dependsOn: [volume, ...(dump ? [dump] : [])],
        }, { parent: this })
      : undefined;
    this.container = new docker.Container(resourceNames.databaseContainer(tenant), inputs, {
      parent: this,
      provider,
      ...resourceOptions.databaseContainer(),
      dependsOn: [...(dump ? [dump] : []), ...(upgrade ? [upgrade] : [])],
    });
    this.deployed = this.container.id;
    this.password = pulumi.secret(password.result);
    this.registerOutputs({ volumeName: this.volumeName });
  }
}

/**
 * Postgres applies POSTGRES_PASSWORD only when it initialises an empty data directory. A tenant re-added onto its
 * retained volume gets a newly generated password, so on every start the current password is set on the existing
 * role (over the local socket, which trusts the container itself). The health check passes only after that, so
 * apps never start against a database that would refuse their password.
 */
export const APPLY_PASSWORD_THEN_START = `set -eu
(
  until pg_isready -q -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"; do sleep 1; done
  until echo "ALTER ROLE \\"$POSTGRES_USER\\" WITH PASSWORD :'pw';" | psql -q -v ON_ERROR_STOP=1 -v pw="$POSTGRES_PASSWORD" -h /var/run/postgresql -U "$POSTGRES_USER" -d "$POSTGRES_DB" >/dev/null; do sleep 1; done
  touch ${PASSWORD_APPLIED_MARKER}
) &
exec docker-entrypoint.sh "$@"`;

import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES, dockerNames, platformLabels, resourceNames, toDockerLabels } from "../model/naming";
import { DATABASE_ENDPOINT } from "../model/platform-env";
import type { BackupPlan } from "../model/tenant-plan";
import { BACKUP_DIR, BACKUP_SCRIPT, BACKUP_SCRIPT_PATH, OFFSITE_REMOTE } from "./backup-script";
import { containerBasics, containerImage } from "./container-settings";
import { resourceOptions } from "./resource-options";

export interface BackupsArgs {
  stack: string;
  tenant: string;
  /** Absent while retiring: only the volume stays, like the data volume. */
  plan?: BackupPlan;
  provider: docker.Provider;
  /** The home host's Docker URL: the final dump of a retiring tenant runs through it. */
  dockerHost: string;
  protectData: boolean;
  retiring: boolean;
  pullImages: boolean;
  /** The tenant's internal data network: the only way to its database, and nothing else's. */
  network?: pulumi.Input<string>;
  password?: pulumi.Input<string>;
  /** The failure webhook's URL (a secret); the container then also gets a network of its own with egress. */
  hookUrl?: pulumi.Input<string>;
  /** Off-host copies of every good dump (the keys are secrets); the container then also gets that egress network. */
  offsite?: OffsiteArgs;
  dependsOn?: pulumi.Resource[];
}

export interface OffsiteArgs {
  endpoint: string;
  region?: string;
  /** `<bucket>/<prefix>/<stack>/<tenant>`. */
  path: string;
  accessKeyId: pulumi.Input<string>;
  secretAccessKey: pulumi.Input<string>;
}

/**
 * rclone's S3 remote, configured by environment only (no config file to write or leak): RCLONE_CONFIG_<REMOTE>_*.
 * The bucket is not created or checked (the keys may only write objects); addressing is path-style, which
 * S3-compatible stores expect and AWS accepts.
 */
export function offsiteEnvs(offsite: Omit<OffsiteArgs, "accessKeyId" | "secretAccessKey">, accessKeyId: string, secretAccessKey: string): string[] {
  const remote = `RCLONE_CONFIG_${OFFSITE_REMOTE.toUpperCase()}`;
  return [
    `${remote}_TYPE=s3`,
    `${remote}_PROVIDER=Other`,
    `${remote}_ENV_AUTH=false`,
    `${remote}_ENDPOINT=${offsite.endpoint}`,
    ...(offsite.region ? [`${remote}_REGION=${offsite.region}`] : []),
    `${remote}_NO_CHECK_BUCKET=true`,
    `${remote}_ACCESS_KEY_ID=${accessKeyId}`,
    `${remote}_SECRET_ACCESS_KEY=${secretAccessKey}`,
    `OFFSITE_PATH=${offsite.path}`,
  ];
}

/** Small: pg_dump streams; the limits keep a dump from starving the tenant's apps on the same host. */
const BACKUP_RESOURCES = { cpus: 0.5, memoryBytes: 256 * 1024 ** 2 };

/**
 * Scheduled logical backups of one tenant's database: a volume of pg_dump files (labelled, retained and protected
 * exactly like the data volume) and a container on the tenant's data network that dumps into it on a schedule
 * (components/backup-script.ts). No other tenant's container mounts the volume or shares the network.
 */
export class Backups extends pulumi.ComponentResource {
  readonly volumeName: pulumi.Output<string>;
  readonly container?: docker.Container;

  constructor(name: string, args: BackupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.backups, name, {}, opts);
    const { stack, tenant, provider } = args;
    const volume = new docker.Volume(
      resourceNames.backupsVolume(tenant),
      { name: dockerNames.backupsVolume(stack, tenant), labels: toDockerLabels(platformLabels(stack, { tenant, service: "postgres" })) },
      { parent: this, provider, ...resourceOptions.dataVolume(args.protectData && !args.retiring) },
    );
    this.volumeName = volume.name;
    if (args.retiring) {
      // Retiring: one last dump before the containers go. Pulumi deletes what the program no longer declares only
      // after every create, so this runs while the backup container and the database still exist; if it fails, the
      // update fails and they stay. A tenant whose backup container is already gone has nothing left to dump.
      const container = dockerNames.backupContainer(stack, tenant);
      new command.local.Command(
        `${resourceNames.backupContainer(tenant)}-final`,
        {
          create: `if docker container inspect "$CONTAINER" >/dev/null 2>&1; then docker exec "$CONTAINER" /bin/sh ${BACKUP_SCRIPT_PATH} once; else echo "no $CONTAINER: nothing left to dump"; fi`,
          environment: { DOCKER_HOST: args.dockerHost, CONTAINER: container },
        },
        { parent: this, dependsOn: [volume] },
      );
    }
    if (args.retiring || !args.plan || !args.network || !args.password) {
      this.registerOutputs({ volumeName: this.volumeName });
      return;
    }
    const plan = args.plan;
    const image = containerImage(resourceNames.backupImage(tenant), plan.image, args.pullImages, { parent: this, provider });
    // Egress only when something off-host is configured, on a network of its own: the data network stays internal.
    const egress = args.hookUrl || args.offsite
      ? new docker.Network(
          `${resourceNames.backupContainer(tenant)}-egress`,
          {
            name: dockerNames.network(stack, tenant, "backup-egress"),
            driver: "bridge",
            internal: false,
            labels: toDockerLabels(platformLabels(stack, { tenant })),
          },
          { parent: this, provider },
        )
      : undefined;
    const { hookUrl, offsite } = args;
    const { host, user, database } = DATABASE_ENDPOINT;
    this.container = new docker.Container(
      resourceNames.backupContainer(tenant),
      {
        name: dockerNames.backupContainer(stack, tenant),
        image,
        entrypoints: ["/bin/sh", BACKUP_SCRIPT_PATH],
        command: ["loop"],
        uploads: [{ file: BACKUP_SCRIPT_PATH, content: BACKUP_SCRIPT, executable: true }],
        envs: pulumi.secret(
          pulumi.all([args.password, hookUrl ?? "", offsite?.accessKeyId ?? "", offsite?.secretAccessKey ?? ""]).apply(([password, hook, keyId, key]) => [
            `PGHOST=${host}`,
            `PGUSER=${user}`,
            `PGDATABASE=${database}`,
            `PGPASSWORD=${password}`,
            "PGCONNECT_TIMEOUT=10",
            `EVERY_SECONDS=${plan.everySeconds}`,
            `KEEP_DAILY=${plan.keepDaily}`,
            `KEEP_WEEKLY=${plan.keepWeekly}`,
            `STACK=${stack}`,
            `TENANT=${tenant}`,
            ...(hook ? [`BACKUP_HOOK_URL=${hook}`] : []),
            ...(offsite ? offsiteEnvs(offsite, keyId, key) : []),
          ]),
        ),
        mounts: [{ type: "volume", source: volume.name, target: BACKUP_DIR }],
        networksAdvanced: [{ name: args.network }, ...(egress ? [{ name: egress.name }] : [])],
        // Unhealthy after a failed run or when overdue: `npm run status` shows it with the reason.
        healthcheck: { tests: ["CMD", "/bin/sh", BACKUP_SCRIPT_PATH, "check"], interval: "30s", timeout: "10s", retries: 1 },
        // The loop traps SIGTERM between runs; a dump in progress is cut short and recorded as failed.
        stopTimeout: 10,
        destroyGraceSeconds: 10,
        ...containerBasics(BACKUP_RESOURCES),
        labels: toDockerLabels(platformLabels(stack, { tenant, service: "backup" })),
      },
      { parent: this, provider, dependsOn: args.dependsOn, additionalSecretOutputs: ["envs"] },
    );
    this.registerOutputs({ volumeName: this.volumeName });
  }
}

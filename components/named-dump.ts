import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { BACKUP_SCRIPT_PATH, DUMP_REASON } from "./backup-script";

/**
 * A named dump (components/backup-script.ts, `once <reason>`) taken by the deployment itself, before a step that
 * could lose data: a release task (`pre-release-<service>`) or a planned replace of the database container
 * (`pre-replace`). It runs in the tenant's backup container, so it reaches the database only over the tenant's own
 * data network and lands in the tenant's backups volume like every other dump. The step that follows depends on it:
 * a failed dump fails `pulumi up` before that step, naming tenant, service (where there is one) and step.
 *
 * It runs on create and again only when `triggers` change: callers pass exactly the inputs whose change makes the
 * guarded step run again, so an unchanged `pulumi up` takes no dump.
 */
export interface NamedDumpArgs {
  /** The tenant's home host (DOCKER_HOST): where its database and backup container run. */
  hostUrl: string;
  /** `platform-<stack>-<tenant>-backup`. */
  backupContainer: string;
  /** `platform-<stack>-<tenant>-backups`: only for the reader (the PR summary names it). */
  backupsVolume: string;
  reason: string;
  /** Who the error names, e.g. "tenant acme, service api". */
  owner: string;
  /** The step the dump guards, for the error, e.g. "release task". */
  before: string;
  /**
   * Set for a dump before replacing the database container: when that container does not run (a new tenant, or a
   * database that is down), there is nothing to dump and the step goes ahead.
   */
  onlyIfRunning?: string;
  triggers: pulumi.Input<unknown>[];
}

export function namedDump(name: string, args: NamedDumpArgs, opts: pulumi.CustomResourceOptions): command.local.Command {
  if (!DUMP_REASON.test(args.reason)) throw new Error(`dump reason "${args.reason}" is not lowercase letters, digits and dashes`);
  return new command.local.Command(
    name,
    {
      create: NAMED_DUMP_SCRIPT,
      environment: {
        DOCKER_HOST: args.hostUrl,
        BACKUP: args.backupContainer,
        BACKUPS_VOLUME: args.backupsVolume,
        REASON: args.reason,
        OWNER: args.owner,
        BEFORE: args.before,
        DATABASE: args.onlyIfRunning ?? "",
      },
      triggers: args.triggers,
      addPreviousOutputInEnv: false,
    },
    opts,
  );
}

/**
 * A digest of values that may be secret (a container's environment holds the database password): one hash in the
 * state instead of the values, not secret itself so the trigger stays readable in a preview's diff.
 */
export function triggerDigest(values: pulumi.Inputs): pulumi.Output<string> {
  return pulumi.unsecret(pulumi.output(values).apply((v: unknown) => createHash("sha256").update(JSON.stringify(v)).digest("hex")));
}

/** The dump's shell (Docker CLI on the machine running Pulumi; DOCKER_HOST selects the tenant's home host). */
export const NAMED_DUMP_SCRIPT = `set -u
if [ -n "$DATABASE" ] && [ "$(docker container inspect -f '{{.State.Running}}' "$DATABASE" 2>/dev/null)" != true ]; then
  echo "$OWNER: no running database container $DATABASE: nothing to dump before the $BEFORE"
  exit 0
fi
out=$(docker exec "$BACKUP" /bin/sh ${BACKUP_SCRIPT_PATH} once "$REASON" 2>&1)
status=$?
# The run's own record decides: a dump on the host whose off-host copy failed is "ok" (and degraded, reported by the
# backup container), so it does not hold up the step.
run=$(printf '%s\\n' "$out" | grep '^{' | tail -n 1)
case "$run" in
  *'"result":"ok"'*) echo "$OWNER: dump before the $BEFORE: $run"; exit 0 ;;
esac
echo "$OWNER: the dump before the $BEFORE failed (step \\"dump $REASON\\", exit $status): the $BEFORE did not run, nothing was replaced:" >&2
printf '%s\\n' "$out" | tail -n 5 >&2
exit 1`;

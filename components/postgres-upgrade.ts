import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { BACKUP_DIR, BACKUP_SCRIPT_PATH } from "./backup-script";
import { COUNT_ROWS } from "./row-counts";
import { dockerNames, LABEL } from "../model/naming";
import { DATABASE_ENDPOINT } from "../model/platform-env";

export interface PostgresUpgradeArgs {
  /** The home host's Docker URL (DOCKER_HOST). */
  hostUrl: string;
  stack: string;
  tenant: string;
  from: string;
  to: string;
  /** The new major's image (what the database container will run). */
  image: pulumi.Input<string>;
  /** The new major's (new, empty) data volume. */
  volume: pulumi.Input<string>;
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** The dump's name in the backups volume and in `npm run db -- list`: `<time>-upgrade-pg15-to-pg17`. */
export const upgradeDumpReason = (from: string, to: string) => `upgrade-pg${from}-to-pg${to}`;

/**
 * A Postgres major upgrade's data step (model/database-volumes.ts decides when there is one): it runs once, before
 * the database container is replaced onto the new major's volume (the container depends on it), and:
 * 1. blocks writes on the running database: ends the other sessions and holds an EXCLUSIVE lock on every table in a
 *    session of its own until that container stops, so reads go on and writes wait (nothing written after the dump
 *    can be lost, and the old volume is left exactly as it was, with nothing to undo on a rollback);
 * 2. dumps it with the backup container (`platform-backup once upgrade-pg<from>-to-pg<to>`), kept in the backups volume;
 * 3. starts a throw-away Postgres of the new major on the new volume (no network), restores the dump with
 *    `pg_restore --exit-on-error` and compares every table's row count with the running database's.
 * On any failure it releases the lock, removes the throw-away container and fails `pulumi up` with one line naming
 * tenant and step: the old container was not touched and serves as before. A failed run is not recorded, so the next
 * `up` runs it again and first wipes the half-filled volume it marked (`.upgrade-<volume>` in the backups volume; a
 * volume holding data it did not put there stops it). Once it succeeded it never runs again (`update` is a no-op,
 * and Pulumi's update plans need the same inputs at preview and up): should the deployment fail before the switch
 * (another resource), writes stay blocked until the next `up` switches, so nothing written after the dump is lost.
 * Found already switched (the deployment that did it failed elsewhere, so the stack did not remember it), it has
 * nothing to do.
 */
export function postgresUpgrade(name: string, args: PostgresUpgradeArgs, opts: { parent: pulumi.Resource }): command.local.Command {
  const { stack, tenant, from, to } = args;
  return new command.local.Command(
    name,
    {
      create: `eval "$UPGRADE_SCRIPT"`,
      update: "true",
      environment: {
        UPGRADE_SCRIPT: UPGRADE,
        DOCKER_HOST: args.hostUrl,
        TENANT: tenant,
        FROM: from,
        TO: to,
        IMAGE: args.image,
        VOLUME: args.volume,
        DB: dockerNames.databaseContainer(stack, tenant),
        BACKUP: dockerNames.backupContainer(stack, tenant),
        BACKUPS: dockerNames.backupsVolume(stack, tenant),
        WORK: dockerNames.upgradeContainer(stack, tenant, to),
        LABELS: `${LABEL.managed}=true ${LABEL.stack}=${stack} ${LABEL.tenant}=${tenant}`,
        PGUSER: DATABASE_ENDPOINT.user,
        PGDATABASE: DATABASE_ENDPOINT.database,
        REASON: upgradeDumpReason(from, to),
        BACKUP_SCRIPT: BACKUP_SCRIPT_PATH,
        BACKUP_DIR,
        COUNT_ROWS,
      },
      addPreviousOutputInEnv: false,
    },
    { parent: opts.parent, dependsOn: args.dependsOn },
  );
}

/** The session that holds the write lock; found by this name to release it. */
const LOCK_SESSION = "platform-upgrade-lock";

/** POSIX sh on the deploying machine, with the Docker CLI; every docker call goes to DOCKER_HOST. */
export const UPGRADE = `set -u
step=start
fail() { echo "postgres upgrade of tenant $TENANT ($FROM -> $TO) failed at step \\"$step\\": $(printf '%s' "$1" | tr '\\n' ' ' | cut -c1-400)" >&2; exit 1; }
sql_old() { docker exec -e PGUSER="$PGUSER" -e PGDATABASE="$PGDATABASE" "$DB" psql -h /var/run/postgresql -X -q -v ON_ERROR_STOP=1 -At -F "$(printf '\\t')" -c "$1" 2>&1; }
unlock() { sql_old "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '${LOCK_SESSION}'" >/dev/null; }
locked=0
cleanup() {
  status=$?
  docker rm -f "$WORK" >/dev/null 2>&1
  if [ "$status" -ne 0 ] && [ "$locked" = 1 ]; then unlock; fi
}
trap cleanup EXIT
labels=""; for label in $LABELS; do labels="$labels --label $label"; done

step="find the running database"
running=$(docker inspect -f '{{.State.Running}}' "$DB" 2>&1) || fail "$running"
[ "$running" = true ] || fail "$DB is not running"
mounts=$(docker inspect -f '{{range .Mounts}}{{.Name}} {{end}}' "$DB" 2>&1) || fail "$mounts"
case " $mounts " in *" $VOLUME "*) echo "$DB already runs on $VOLUME: nothing to do"; exit 0 ;; esac
running_major=$(docker exec "$DB" sh -c 'cat "$PGDATA/PG_VERSION"' 2>&1) || fail "$running_major"
[ "$running_major" = "$FROM" ] || fail "$DB runs Postgres $running_major, not $FROM"

step="prepare the new volume $VOLUME"
docker rm -f "$WORK" >/dev/null 2>&1
users=$(docker ps -a -q --filter "volume=$VOLUME")
[ -z "$users" ] || fail "the volume is in use by container(s) $users"
out=$(docker run --rm --network none --user 0 --entrypoint sh -e VOLUME="$VOLUME" -e BACKUP_DIR="$BACKUP_DIR" -v "$VOLUME:/data" -v "$BACKUPS:$BACKUP_DIR" "$IMAGE" -c '
  marker="$BACKUP_DIR/.upgrade-$VOLUME"
  if [ -n "$(ls -A /data)" ]; then
    [ -e "$marker" ] || { echo "it already holds data that no earlier upgrade run left (a volume kept on the host from before?): look at it, and remove it with docker volume rm if it is not needed"; exit 1; }
    find /data -mindepth 1 -delete
  fi
  touch "$marker"' 2>&1) || fail "$out"

step="block writes on Postgres $FROM"
# Other sessions end (apps reconnect at once), except a dump in progress (its reads do not conflict with the lock);
# the lock then waits at most 20 s for transactions begun since.
out=$(sql_old "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND application_name <> 'pg_dump'") || fail "$out"
docker exec -d -e PGUSER="$PGUSER" -e PGDATABASE="$PGDATABASE" -e PGAPPNAME=${LOCK_SESSION} "$DB" psql -h /var/run/postgresql -X -q -c "BEGIN; SET LOCAL lock_timeout = '20s'; DO \\$\\$ DECLARE t record; BEGIN FOR t IN SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') LOOP EXECUTE format('LOCK TABLE %I.%I IN EXCLUSIVE MODE', t.schemaname, t.tablename); END LOOP; END \\$\\$; SELECT pg_sleep(31536000);" >/dev/null 2>&1 || fail "could not start the locking session"
locked=1
waited=0
until [ "$(sql_old "SELECT count(*) FROM pg_stat_activity WHERE application_name = '${LOCK_SESSION}' AND wait_event = 'PgSleep'")" = 1 ]; do
  waited=$((waited + 1))
  [ "$waited" -le 60 ] || fail "the tables could not be locked within 30 s (a long transaction?)"
  if [ "$waited" -gt 4 ] && [ "$(sql_old "SELECT count(*) FROM pg_stat_activity WHERE application_name = '${LOCK_SESSION}'")" = 0 ]; then
    fail "the tables could not be locked within the 20 s lock timeout (a long transaction?)"
  fi
  sleep 0.5
done

step="dump Postgres $FROM"
out=$(docker exec "$BACKUP" /bin/sh "$BACKUP_SCRIPT" once "$REASON" 2>&1) || fail "$(printf '%s' "$out" | tail -n 3)"
line=$(printf '%s\\n' "$out" | grep '^{' | tail -n 1)
dump=$(printf '%s' "$line" | sed -n 's/.*"id":"\\([^"]*\\)".*/\\1/p')
case "$line" in *'"result":"ok"'*) ;; *) fail "the backup container did not write a dump: $line" ;; esac
[ -n "$dump" ] || fail "no dump id in: $line"
echo "dumped Postgres $FROM of tenant $TENANT: $dump ($(printf '%s' "$line" | sed -n 's/.*"sizeBytes":\\([0-9]*\\).*/\\1/p') bytes)"

step="count rows in Postgres $FROM"
before=$(sql_old "$COUNT_ROWS") || fail "$before"

step="start Postgres $TO on $VOLUME"
password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \\n')
out=$(docker run --detach --name "$WORK" --network none $labels -e POSTGRES_USER="$PGUSER" -e POSTGRES_DB="$PGDATABASE" -e POSTGRES_PASSWORD="$password" -v "$VOLUME:/var/lib/postgresql/data" -v "$BACKUPS:$BACKUP_DIR:ro" "$IMAGE" 2>&1) || fail "$out"
waited=0
until docker exec "$WORK" pg_isready -q -h 127.0.0.1 -U "$PGUSER" -d "$PGDATABASE" >/dev/null 2>&1; do
  waited=$((waited + 1))
  [ "$waited" -le 180 ] || fail "not ready after 180 s: $(docker logs --tail 5 "$WORK" 2>&1)"
  [ "$(docker inspect -f '{{.State.Running}}' "$WORK" 2>/dev/null)" = true ] || fail "it exited: $(docker logs --tail 5 "$WORK" 2>&1)"
  sleep 1
done

step="restore $dump into Postgres $TO"
out=$(docker exec -e PGUSER="$PGUSER" "$WORK" pg_restore --exit-on-error -h /var/run/postgresql -d "$PGDATABASE" "$BACKUP_DIR/$dump.dump" 2>&1) || fail "$(printf '%s' "$out" | tail -n 3)"

step="compare row counts"
after=$(docker exec -e PGUSER="$PGUSER" -e PGDATABASE="$PGDATABASE" "$WORK" psql -h /var/run/postgresql -X -q -v ON_ERROR_STOP=1 -At -F "$(printf '\\t')" -c "$COUNT_ROWS" 2>&1) || fail "$after"
[ "$before" = "$after" ] || fail "Postgres $FROM has [$(printf '%s' "$before" | tr '\\t\\n' '= ')] but the restore has [$(printf '%s' "$after" | tr '\\t\\n' '= ')]"

step="stop Postgres $TO cleanly"
out=$(docker stop --time 60 "$WORK" 2>&1) || fail "$out"
echo "Postgres $TO of tenant $TENANT holds every row ($(printf '%s\\n' "$after" | grep -c . ) tables): $(printf '%s' "$after" | tr '\\t\\n' '= ')"
docker run --rm --network none --user 0 --entrypoint rm -v "$BACKUPS:$BACKUP_DIR" "$IMAGE" -f "$BACKUP_DIR/.upgrade-$VOLUME" >/dev/null 2>&1
echo "writes stay blocked on Postgres $FROM until its container is replaced"`;

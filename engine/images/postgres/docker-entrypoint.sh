#!/usr/bin/env bash
# Entrypoint compatible with the official postgres image's, for what the platform uses:
#   - `postgres [args]` (or only `-flags`): as root, create and own $PGDATA and /var/run/postgresql, then re-run this
#     script as the postgres user (setpriv); on an empty $PGDATA run initdb with POSTGRES_USER / POSTGRES_PASSWORD,
#     create POSTGRES_DB, run /docker-entrypoint-initdb.d/*.sh|*.sql on a socket-only temporary server; finally
#     `exec postgres` so Postgres is the container's main process and receives `docker stop`'s SIGINT itself.
#   - any other command runs as given (e.g. `docker run … platform-local/postgres:15 psql -h …`).
# Remote hosts authenticate with a password (POSTGRES_HOST_AUTH_METHOD, default scram-sha-256); the local socket
# and loopback trust the container itself (initdb's defaults), as in the official image.
# Also honoured: POSTGRES_PASSWORD_FILE / POSTGRES_USER_FILE / POSTGRES_DB_FILE, POSTGRES_INITDB_ARGS,
# POSTGRES_INITDB_WALDIR.
set -Eeo pipefail

log() { printf '%s [entrypoint] %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$*"; }
die() { printf '%s [entrypoint] error: %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$*" >&2; exit 1; }

# VAR from $VAR or the file named by $VAR_FILE (docker secrets), not both.
file_env() {
  local var=$1 file_var="${1}_FILE" def=${2:-} val
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then die "both $var and $file_var are set (but are exclusive)"; fi
  val=$def
  if [ -n "${!var:-}" ]; then val=${!var}; elif [ -n "${!file_var:-}" ]; then val=$(<"${!file_var}"); fi
  export "$var"="$val"
  unset "$file_var"
}

setup_env() {
  : "${PGDATA:=/var/lib/postgresql/data}"
  export PGDATA
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  : "${POSTGRES_HOST_AUTH_METHOD:=}"
  DATABASE_ALREADY_EXISTS=
  [ -s "$PGDATA/PG_VERSION" ] && DATABASE_ALREADY_EXISTS=true
  return 0
}

# As root: directories the postgres user must own (a fresh named volume is root-owned).
create_db_directories() {
  mkdir -p "$PGDATA"
  chmod 00700 "$PGDATA" || :
  mkdir -p /var/run/postgresql || :
  chmod 03775 /var/run/postgresql || :
  if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
    mkdir -p "$POSTGRES_INITDB_WALDIR"
    [ "$(id -u)" = 0 ] && find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres:postgres '{}' +
    chmod 700 "$POSTGRES_INITDB_WALDIR"
  fi
  if [ "$(id -u)" = 0 ]; then
    find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
    find /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
  fi
}

verify_minimum_env() {
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    die "Database is uninitialized and superuser password is not specified.
       Set POSTGRES_PASSWORD to a non-empty value for the superuser (POSTGRES_USER, default \"postgres\"),
       or POSTGRES_HOST_AUTH_METHOD=trust to allow every connection without a password (not recommended)."
  fi
  if [ "${#POSTGRES_PASSWORD}" -ge 100 ]; then
    log "warning: POSTGRES_PASSWORD is 100+ characters; some clients truncate it"
  fi
}

init_database_dir() {
  local args=(--username="$POSTGRES_USER")
  [ -n "${POSTGRES_INITDB_WALDIR:-}" ] && args+=(--waldir="$POSTGRES_INITDB_WALDIR")
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of flags, as in the official image
  if [ -n "$POSTGRES_PASSWORD" ]; then
    # The password reaches initdb through a pipe, never argv or a file.
    initdb "${args[@]}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
  else
    initdb "${args[@]}" $POSTGRES_INITDB_ARGS
  fi
}

setup_hba_conf() {
  local method=$POSTGRES_HOST_AUTH_METHOD
  if [ -z "$method" ]; then
    method=$(postgres -C password_encryption -D "$PGDATA" 2>/dev/null || echo scram-sha-256)
  fi
  {
    echo
    if [ "$method" = trust ]; then
      echo '# warning: trust is enabled for all connections'
    fi
    echo "host all all all $method"
  } >>"$PGDATA/pg_hba.conf"
}

temp_server_start() {
  # Socket only: nothing outside the container (nor the health check on 127.0.0.1) sees a half-initialised server.
  PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start
}

temp_server_stop() {
  PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -m fast -w stop
}

psql_init() {
  PGHOST= PGHOSTADDR= psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"
}

setup_db() {
  local exists
  exists=$(psql_init --dbname postgres --set db="$POSTGRES_DB" --tuples-only <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")
  if [ -z "${exists// /}" ]; then
    psql_init --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";' >/dev/null
    log "created database \"$POSTGRES_DB\""
  fi
}

process_init_files() {
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case "$f" in
      *.sh)
        if [ -x "$f" ]; then log "running $f"; "$f"; else log "sourcing $f"; . "$f"; fi ;;
      *.sql) log "running $f"; psql_init --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) log "running $f"; gzip -dc "$f" | psql_init --dbname "$POSTGRES_DB" ;;
      *) log "ignoring $f" ;;
    esac
  done
}

main() {
  # `docker run image -c shared_buffers=…`: flags go to postgres.
  if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi

  if [ "$1" = postgres ] && ! has_help_flag "$@"; then
    setup_env
    create_db_directories
    if [ "$(id -u)" = 0 ]; then
      # Re-run as postgres; exec keeps the PID, so Postgres ends up as the process docker signals.
      exec setpriv --reuid=postgres --regid=postgres --init-groups --inh-caps=-all "$BASH_SOURCE" "$@"
    fi

    if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
      verify_minimum_env
      ls /docker-entrypoint-initdb.d/ >/dev/null
      init_database_dir
      setup_hba_conf
      export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
      temp_server_start
      setup_db
      process_init_files
      temp_server_stop
      unset PGPASSWORD
      log "PostgreSQL init process complete; ready for start up."
    else
      log "PostgreSQL Database directory appears to contain a database; Skipping initialization"
    fi
  fi

  exec "$@"
}

has_help_flag() {
  local arg
  for arg; do
    case "$arg" in -'?' | --help | --describe-config | -V | --version) return 0 ;; esac
  done
  return 1
}

main "$@"

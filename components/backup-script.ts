/**
 * The backup container's program (POSIX sh, run by the tenant's Postgres image or `platform:backups.image`):
 * `loop` runs a dump whenever one is due, `once` runs one now (`npm run db -- backup` execs it), `check` is the
 * container's health check: unhealthy when the latest run failed or the newest good dump is overdue, so
 * `npm run status` reports both. Each run appends one
 * JSON line to backups.jsonl in the backups volume (what `npm run db -- list` and `npm run status` read), so a failed
 * run is never silent; a failed run also POSTs that line to BACKUP_HOOK_URL when set. Due-ness is computed from the
 * log, so a restarted container does not dump again early, and a failing database is retried every
 * min(interval, 10 min) rather than every minute.
 *
 * Named dumps: `once <reason>` (lowercase letters, digits and dashes, e.g. `pre-release-api`) takes a dump now named
 * `<yyyymmdd>T<hhmmss>Z-<reason>.dump`, logged with `"reason"`; its id (the file name without `.dump`) is what
 * `npm run db -- restore --at` takes. It does not move the schedule (due-ness counts unnamed runs only). The platform's
 * own steps call it the same way, from a command.local.Command through the tenant's home host (components/named-dump.ts
 * for the dumps before a release task and before a database container's replace):
 *   DOCKER_HOST=<host url> docker exec platform-<stack>-<tenant>-backup /bin/sh /usr/local/bin/platform-backup once <reason>
 * It prints the run's JSON line last and exits 0 when the dump is written, 1 when it failed (the hook is called) or
 * its off-host copy did, 2 on a bad reason: a caller that needs the dump reads `"result":"ok"` from that line.
 * Retention: each reason is a series of its own under the same rules (the newest dump of each of the last KEEP_DAILY
 * days and KEEP_WEEKLY ISO weeks, per series), so a scheduled dump never pushes out the pre-release dump of the same
 * day, and the newest dump of every series is always kept. Distinct reasons are few (one per service, pre-replace,
 * pre-upgrade), so the volume stays bounded.
 *
 * Off-host copies (OFFSITE_PATH set): after each good dump, `rclone copy` sends every dump in the volume that the
 * remote `offsite:` (rclone's S3 backend, configured by RCLONE_CONFIG_OFFSITE_* only) lacks to OFFSITE_PATH
 * (`<bucket>/<prefix>/<stack>/<tenant>`), so a copy missed by an outage is sent by the next run. It never deletes
 * there: retention off-host is the bucket's lifecycle rule. The run's line records `"offsite":"ok"` or
 * `"offsite":"failed"` with `"offsiteError"`; a failed copy leaves the run degraded, never silent: the dump stays
 * "ok" (it is on the host and restorable), but `once` exits 1 and calls the hook, the health check turns unhealthy
 * (`npm run status`), `npm run db -- list` exits 1, and the loop tries again after min(interval, 10 min).
 *
 * Environment: PGHOST/PGUSER/PGDATABASE/PGPASSWORD (the tenant's database), EVERY_SECONDS, KEEP_DAILY, KEEP_WEEKLY,
 * STACK, TENANT, BACKUP_HOOK_URL (optional), OFFSITE_PATH and RCLONE_CONFIG_OFFSITE_* (optional), BACKUP_DIR
 * (default /backups).
 */
export const BACKUP_SCRIPT_PATH = "/usr/local/bin/platform-backup";
export const BACKUP_DIR = "/backups";
export const BACKUP_LOG = "backups.jsonl";
/** rclone's name for the off-host remote: its settings are the RCLONE_CONFIG_OFFSITE_* variables. */
export const OFFSITE_REMOTE = "offsite";
/** A named dump's reason; the same rule is in the script's `once`. */
export const DUMP_REASON = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** A dump's id: its timestamp, then `-<reason>` for a named dump. */
export const DUMP_ID = /^[0-9]{8}T[0-9]{6}Z(-[a-z0-9][a-z0-9-]{0,62})?$/;

export const BACKUP_SCRIPT = `#!/bin/sh
set -u
DIR=\${BACKUP_DIR:-${BACKUP_DIR}}
LOG="$DIR/${BACKUP_LOG}"
mkdir -p "$DIR"

# Newest epoch of a line matching $1 in the log, or 0; with $2 = scheduled, of unnamed runs only.
last_epoch() {
  v=$( (grep "$1" "$LOG" 2>/dev/null || true) | (if [ "\${2:-}" = scheduled ]; then grep -v '"reason":'; else cat; fi) | tail -n 1 | sed -n 's/.*"epoch":\\([0-9]*\\).*/\\1/p')
  echo "\${v:-0}"
}

one_line() { tr '\\n\\t"\\\\' '    ' | tr -d '\\000-\\037' | cut -c1-300; }

call_hook() {
  [ -n "\${BACKUP_HOOK_URL:-}" ] || return 0
  body="{\\"stack\\":\\"\${STACK:-}\\",\\"tenant\\":\\"\${TENANT:-}\\",\\"run\\":$1}"
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -m 20 -X POST -H 'Content-Type: application/json' --data "$body" "$BACKUP_HOOK_URL" >/dev/null || echo "platform-backup: the failure hook did not answer" >&2
  elif command -v wget >/dev/null 2>&1; then
    wget -q -T 20 -O /dev/null --header 'Content-Type: application/json' --post-data "$body" "$BACKUP_HOOK_URL" || echo "platform-backup: the failure hook did not answer" >&2
  else
    echo "platform-backup: neither curl nor wget in this image: the failure hook was not called" >&2
  fi
}

# Copies every dump the remote lacks (none deleted there); prints rclone's last error lines on failure.
copy_offsite() {
  command -v rclone >/dev/null 2>&1 || { echo "rclone is not in this image (see platform:backups.image)"; return 1; }
  out=$(rclone copy -q --max-depth 1 --include '*.dump' --retries 3 --low-level-retries 3 --contimeout 15s --timeout 60s "$DIR" "${OFFSITE_REMOTE}:$OFFSITE_PATH" 2>&1) && return 0
  printf '%s' "\${out:-rclone failed}" | tail -n 3 | one_line
  return 1
}

# Keep the newest dump of each of the last KEEP_DAILY days and of each of the last KEEP_WEEKLY ISO weeks, for the
# scheduled dumps and for each reason's named dumps apart (a series' newest dump is always kept: KEEP_DAILY >= 1).
prune() {
  all=$(ls "$DIR" | grep -E '^[0-9]{8}T[0-9]{6}Z(-[a-z0-9][a-z0-9-]*)?[.]dump$' | sort -r)
  for series in $(printf '%s\n' "$all" | cut -c17- | sort -u); do
    days=" " weeks=" " nd=0 nw=0
    for f in $all; do
      case "$f" in ????????T??????Z"$series") ;; *) continue ;; esac
      day=$(echo "$f" | cut -c1-8)
      week=$(date -u -d "$(echo "$day" | sed 's/^\\(....\\)\\(..\\)\\(..\\)$/\\1-\\2-\\3/')" +%G-%V)
      keep=0
      case "$days" in *" $day "*) ;; *) if [ "$nd" -lt "\${KEEP_DAILY:-7}" ]; then days="$days$day "; nd=$((nd + 1)); keep=1; fi ;; esac
      case "$weeks" in *" $week "*) ;; *) if [ "$nw" -lt "\${KEEP_WEEKLY:-4}" ]; then weeks="$weeks$week "; nw=$((nw + 1)); keep=1; fi ;; esac
      [ "$keep" = 1 ] || rm -f "$DIR/$f"
    done
  done
}

# once [reason]: a dump now; with a reason its id and log line carry it.
once() {
  reason=\${1:-} suffix="" field=""
  if [ -n "$reason" ]; then
    case "$reason" in -*|*[!a-z0-9-]*|*[A-Z]*) echo "platform-backup: reason \\"$reason\\" is not lowercase letters, digits and dashes" >&2; return 2 ;; esac
    [ \${#reason} -le 63 ] || { echo "platform-backup: reason longer than 63 characters" >&2; return 2; }
    suffix="-$reason" field=$(printf ',"reason":"%s"' "$reason")
  fi
  exec 9>"$DIR/.lock"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
  set -- $(date -u '+%Y%m%dT%H%M%SZ %s %Y-%m-%dT%H:%M:%SZ')
  while [ -e "$DIR/$1$suffix.dump" ]; do sleep 1; set -- $(date -u '+%Y%m%dT%H%M%SZ %s %Y-%m-%dT%H:%M:%SZ'); done
  id=$1$suffix start=$2 time=$3
  tmp="$DIR/.$id.partial"
  if err=$(pg_dump -Fc -f "$tmp" 2>&1); then
    mv "$tmp" "$DIR/$id.dump"
    result=ok size=$(wc -c <"$DIR/$id.dump" | tr -d ' ') error=""
  else
    rm -f "$tmp"
    result=failed size=0 error=$(printf '%s' "$err" | tail -n 3 | one_line)
  fi
  offsite=""
  if [ "$result" = ok ] && [ -n "\${OFFSITE_PATH:-}" ]; then
    if offsite_error=$(copy_offsite); then offsite=',"offsite":"ok"'; else offsite=$(printf ',"offsite":"failed","offsiteError":"%s"' "$offsite_error"); fi
  fi
  duration=$(( $(date -u +%s) - start ))
  line=$(printf '{"id":"%s","time":"%s","epoch":%s,"result":"%s","sizeBytes":%s,"durationSeconds":%s,"error":"%s"%s%s}' "$id" "$time" "$start" "$result" "$size" "$duration" "$error" "$field" "$offsite")
  echo "$line" >>"$LOG"
  echo "$line"
  if [ "$result" = ok ]; then
    prune
    tail -n 2000 "$LOG" >"$LOG.tmp" && mv "$LOG.tmp" "$LOG"
    case "$offsite" in *'"offsite":"failed"'*) call_hook "$line"; return 1 ;; esac
    return 0
  fi
  call_hook "$line"
  return 1
}

# Healthy unless the latest run failed or the newest good dump is older than 1.5 intervals (db/backup-log.ts agrees).
check() {
  every=\${EVERY_SECONDS:-86400}
  latest=$( (grep '"result":' "$LOG" 2>/dev/null || true) | tail -n 1)
  case "$latest" in *'"result":"failed"'*) echo "latest backup failed: $(echo "$latest" | sed -n 's/.*"error":"\\([^"]*\\)".*/\\1/p')"; return 1 ;; esac
  case "$latest" in *'"offsite":"failed"'*) echo "latest off-host copy failed: $(echo "$latest" | sed -n 's/.*"offsiteError":"\\([^"]*\\)".*/\\1/p')"; return 1 ;; esac
  ok=$(last_epoch '"result":"ok"')
  now=$(date -u +%s)
  since=$ok
  [ "$since" = 0 ] && since=$(cat /tmp/platform-backup-started 2>/dev/null || echo "$now")
  if [ $(( (now - since) * 2 )) -gt $(( every * 3 )) ]; then
    echo "backup overdue: $([ "$ok" = 0 ] && echo "no successful backup yet" || echo "the newest good dump is $(( now - ok ))s old"), every \${every}s"
    return 1
  fi
  echo "latest backup ok"
}

loop() {
  trap 'exit 0' TERM INT
  date -u +%s >/tmp/platform-backup-started
  every=\${EVERY_SECONDS:-86400}
  retry=$(( every < 600 ? every : 600 ))
  while :; do
    ok=$(last_epoch '"result":"ok"' scheduled)
    tried=$(last_epoch '"result":' scheduled)
    due=$(( ok + every ))
    [ $(( tried + retry )) -gt "$due" ] && due=$(( tried + retry ))
    # A good dump whose off-host copy failed is tried again as soon as a failed dump would be.
    case "$( (grep '"result":' "$LOG" 2>/dev/null || true) | grep -v '"reason":' | tail -n 1)" in *'"offsite":"failed"'*) due=$(( tried + retry )) ;; esac
    now=$(date -u +%s)
    if [ "$now" -ge "$due" ]; then
      (once) || true
      continue
    fi
    wait_for=$(( due - now ))
    [ "$wait_for" -gt 60 ] && wait_for=60
    sleep "$wait_for" &
    wait $!
  done
}

case "\${1:-}" in
  loop) loop ;;
  once) once "\${2:-}" ;;
  prune) prune ;;
  check) check ;;
  *) echo "usage: platform-backup loop|once [reason]|prune|check" >&2; exit 2 ;;
esac
`;

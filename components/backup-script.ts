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
 * Environment: PGHOST/PGUSER/PGDATABASE/PGPASSWORD (the tenant's database), EVERY_SECONDS, KEEP_DAILY, KEEP_WEEKLY,
 * STACK, TENANT, BACKUP_HOOK_URL (optional), BACKUP_DIR (default /backups).
 */
export const BACKUP_SCRIPT_PATH = "/usr/local/bin/platform-backup";
export const BACKUP_DIR = "/backups";
export const BACKUP_LOG = "backups.jsonl";

export const BACKUP_SCRIPT = `#!/bin/sh
set -u
DIR=\${BACKUP_DIR:-${BACKUP_DIR}}
LOG="$DIR/${BACKUP_LOG}"
mkdir -p "$DIR"

# Newest epoch of a line matching $1 in the log, or 0.
last_epoch() {
  v=$( (grep "$1" "$LOG" 2>/dev/null || true) | tail -n 1 | sed -n 's/.*"epoch":\\([0-9]*\\).*/\\1/p')
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

# Keep the newest dump of each of the last KEEP_DAILY days and of each of the last KEEP_WEEKLY ISO weeks.
prune() {
  days=" " weeks=" " nd=0 nw=0
  for f in $(ls "$DIR" | grep -E '^[0-9]{8}T[0-9]{6}Z[.]dump$' | sort -r); do
    day=$(echo "$f" | cut -c1-8)
    week=$(date -u -d "$(echo "$day" | sed 's/^\\(....\\)\\(..\\)\\(..\\)$/\\1-\\2-\\3/')" +%G-%V)
    keep=0
    case "$days" in *" $day "*) ;; *) if [ "$nd" -lt "\${KEEP_DAILY:-7}" ]; then days="$days$day "; nd=$((nd + 1)); keep=1; fi ;; esac
    case "$weeks" in *" $week "*) ;; *) if [ "$nw" -lt "\${KEEP_WEEKLY:-4}" ]; then weeks="$weeks$week "; nw=$((nw + 1)); keep=1; fi ;; esac
    [ "$keep" = 1 ] || rm -f "$DIR/$f"
  done
}

once() {
  exec 9>"$DIR/.lock"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
  set -- $(date -u '+%Y%m%dT%H%M%SZ %s %Y-%m-%dT%H:%M:%SZ')
  while [ -e "$DIR/$1.dump" ]; do sleep 1; set -- $(date -u '+%Y%m%dT%H%M%SZ %s %Y-%m-%dT%H:%M:%SZ'); done
  id=$1 start=$2 time=$3
  tmp="$DIR/.$id.partial"
  if err=$(pg_dump -Fc -f "$tmp" 2>&1); then
    mv "$tmp" "$DIR/$id.dump"
    result=ok size=$(wc -c <"$DIR/$id.dump" | tr -d ' ') error=""
  else
    rm -f "$tmp"
    result=failed size=0 error=$(printf '%s' "$err" | tail -n 3 | one_line)
  fi
  duration=$(( $(date -u +%s) - start ))
  line=$(printf '{"id":"%s","time":"%s","epoch":%s,"result":"%s","sizeBytes":%s,"durationSeconds":%s,"error":"%s"}' "$id" "$time" "$start" "$result" "$size" "$duration" "$error")
  echo "$line" >>"$LOG"
  echo "$line"
  if [ "$result" = ok ]; then
    prune
    tail -n 2000 "$LOG" >"$LOG.tmp" && mv "$LOG.tmp" "$LOG"
    return 0
  fi
  call_hook "$line"
  return 1
}

# Healthy unless the latest run failed or the newest good dump is older than 1.5 intervals (db/backup-log.ts agrees).
check() {
  every=\${EVERY_SECONDS:-86400}
  latest=$( (grep '"result":' "$LOG" 2>/dev/null || true) | tail -n 1)
  case "$latest" in *'"result":"failed"'*) echo "latest backup failed: $(echo "$latest" | sed -n 's/.*"error":"\\(.*\\)"}$/\\1/p')"; return 1 ;; esac
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
    ok=$(last_epoch '"result":"ok"')
    tried=$(last_epoch '"result":')
    due=$(( ok + every ))
    [ $(( tried + retry )) -gt "$due" ] && due=$(( tried + retry ))
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
  once) once ;;
  prune) prune ;;
  check) check ;;
  *) echo "usage: platform-backup loop|once|prune|check" >&2; exit 2 ;;
esac
`;

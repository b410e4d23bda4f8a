/**
 * The edge keeper's program (POSIX sh with the docker CLI: the official `docker:<version>-cli` image, or the dev
 * stack's Debian build). It keeps every container that runs in the edge's pause container's network namespace
 * (Traefik) inside that namespace's current run, which Docker itself does not do:
 *
 * - The pause container restarted (a crash the engine restarted, `docker restart`, an engine restart): every member
 *   still runs in the old, dead namespace (only `lo` inside) and Docker keeps calling it healthy. The keeper restarts
 *   each member that started before the pause container's current run, at once and without a grace period (nothing
 *   can reach it in the dead namespace), so it joins the new namespace.
 * - A member's start failed (`cannot join network of a non running container`: the engine started Traefik before
 *   its pause container after a restart, and never retries): once the pause container runs, the keeper starts it.
 * - A member has failed every health probe for a long time (UNHEALTHY_STREAK probes in a row, a minute at Traefik's
 *   one-second interval: a hung Traefik): the keeper restarts it, at most once per UNHEALTHY_BACKOFF_SECONDS so a
 *   broken one is not restarted in a loop. Not sooner: under heavy load Traefik's ping can time out for a while
 *   and Docker calls it unhealthy after three probes, while it still serves; restarting it then turned a slow edge
 *   into a down one (bench/REAL-ENGINE.md, "Load through the edge: what the runs found").
 * - A member started (Traefik on a first deploy, after a restart, or a new one beside the old during an upgrade): the
 *   keeper pins its public listening ports to their oldest listener (components/listener-pin-script.ts) by running
 *   PIN_SCRIPT with python3 from PIN_IMAGE in the pause container's namespace, as the member's user, once per start.
 *   So a new Traefik gets no request before the old one stops listening. Without PIN_IMAGE it does not.
 *
 * What it never does: start a pause container or a member someone stopped on purpose (`docker stop`, `docker kill`:
 * the engine records them as stopped by hand and so does the keeper, since they exit without a start error). Those
 * are reported by `npm run status` and started again by the next `pulumi up`. It acts only while the pause container
 * runs: a member cannot join a namespace that does not exist.
 *
 * It wakes on every container event of the stack (a pause container's `start` is one) and every TICK_SECONDS, so a
 * missed event costs at most one tick. It needs the Docker API's write calls (restart, start), so it runs with no
 * network at all (`network_mode: none`): nothing can reach it, and it reaches nothing but the engine's socket.
 *
 * `sh -c <script> sh once` makes one pass and exits. Environment: PAUSE (the pause container's name), STACK (the
 * `platform.stack` label of the stack's containers), TICK_SECONDS, UNHEALTHY_STREAK, UNHEALTHY_BACKOFF_SECONDS,
 * KEEPER_STATE_DIR (where it notes its restarts and pins; default /tmp/edge-keeper), PIN_IMAGE and PIN_SCRIPT.
 */
export const EDGE_KEEPER_SCRIPT = `set -u
log() { echo "edge-keeper: $*"; }

# The engine reports start times in RFC 3339 with up to nine fraction digits and trailing zeros dropped; padded to
# nine digits they compare as text (every time is UTC, 'Z').
sortable() {
  printf '%s\\n' "$1" | sed -e 's/Z$//' -e 's/^\\([^.]*\\)$/\\1./' -e 's/\\.\\([0-9]*\\)$/.\\1000000000/' -e 's/\\(\\.[0-9]\\{9\\}\\).*$/\\1/'
}
earlier() { [ "$1" != "$2" ] && [ "$(printf '%s\\n%s\\n' "$1" "$2" | LC_ALL=C sort | head -n 1)" = "$1" ]; }

# Unhealthy members are restarted at most once per backoff: a file per container holds when the keeper last did.
STAMPS=\${KEEPER_STATE_DIR:-/tmp/edge-keeper}
mkdir -p "$STAMPS"
backing_off() {
  last=$(cat "$STAMPS/$1" 2>/dev/null || echo 0)
  [ $(( $(date +%s) - last )) -lt "\${UNHEALTHY_BACKOFF_SECONDS:-30}" ]
}

# pin <id> <name> <started> <user> <pause id>: once per start of a member, its public ports go to their oldest listener.
pin() {
  [ -n "\${PIN_IMAGE:-}" ] || return 0
  [ "$(cat "$STAMPS/pin-$1" 2>/dev/null)" != "$3" ] || return 0
  if out=$(docker run --rm --network "container:$5" --user "\${4:-0}" --entrypoint python3 "$PIN_IMAGE" -c "$PIN_SCRIPT" 2>&1); then
    log "$2: $(printf '%s' "$out" | tr '\n' ';' | sed 's/;$//')"
    printf '%s' "$3" > "$STAMPS/pin-$1"
  else
    log "$2: pinning its listeners failed, so an upgrade may send it requests before its routes load: $(printf '%s' "$out" | tr '\n' ' ')"
  fi
}

# Two engine calls a pass, over the stack's edge containers only (label platform.role): tenants never add work.
reconcile() {
  ids=$(docker ps -aq --no-trunc --filter "label=platform.stack=$STACK" --filter label=platform.role 2>/dev/null)
  [ -n "$ids" ] || return 0
  states=$(docker inspect -f '{{.Id}}|{{.Name}}|{{.HostConfig.NetworkMode}}|{{.State.Running}}|{{.State.StartedAt}}|{{with index .State "Health"}}{{.Status}}:{{.FailingStreak}}{{end}}|{{.Config.User}}|{{.State.Error}}' $ids 2>/dev/null)
  pause=$(printf '%s\\n' "$states" | grep -F "|/$PAUSE|") || return 0
  IFS='|' read -r pause_id _ _ pause_running pause_started _ <<PAUSE_STATE
$pause
PAUSE_STATE
  [ "$pause_running" = true ] || return 0
  pause_started=$(sortable "$pause_started")
  printf '%s\\n' "$states" |
    while IFS='|' read -r id name mode running started health user error; do
      [ "$mode" = "container:$pause_id" ] || continue
      name=\${name#/}
      streak=\${health#*:}; health=\${health%%:*}
      if [ "$running" = true ]; then
        if earlier "$(sortable "$started")" "$pause_started"; then
          log "$name started before its pause container's current run, so its network namespace is gone: restarting it"
          docker restart -t 0 "$id" >/dev/null || log "restarting $name failed"
        elif [ "$health" = unhealthy ] && [ "\${streak:-0}" -ge "\${UNHEALTHY_STREAK:-60}" ] && ! backing_off "$id"; then
          log "$name failed its last $streak health probes: restarting it"
          date +%s > "$STAMPS/$id"
          docker restart -t 1 "$id" >/dev/null || log "restarting $name failed"
        else
          pin "$id" "$name" "$started" "$user" "$pause_id"
        fi
      elif [ -n "$error" ]; then
        log "$name failed to start ($error): starting it now that its pause container runs"
        docker start "$id" >/dev/null || log "starting $name failed"
      fi
    done
}

# Woken by what can strand a member: a start (the pause container's is a new namespace), a death, a health change.
# Health probes run as execs: an unfiltered stream would wake it at every probe.
events() {
  while :; do
    docker events --filter type=container --filter "label=platform.stack=$STACK" --filter label=platform.role \\
      --filter event=start --filter event=die --filter event=health_status --format '{{.Action}}' 2>/dev/null
    sleep 1
  done
}
ticks() { while :; do echo tick; sleep "\${TICK_SECONDS:-5}"; done; }

main() {
  log "keeping the members of $PAUSE's network namespace (stack $STACK) in its current run"
  { ticks & events; } | while read -r _; do reconcile; done
}

# \`once\`: one pass and no loop (the tests drive it with a stand-in docker).
if [ "\${1:-}" = once ]; then reconcile; exit 0; fi
# PID 1 of its container: sh defers traps while a foreground command runs, so the loop runs in the background.
trap 'exit 0' TERM INT
main &
wait
`;

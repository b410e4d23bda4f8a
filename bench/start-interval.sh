#!/usr/bin/env bash
# Health-check start interval (issue 10): how soon a healthy container is seen on Docker Engine ≥ 25, which runs
# probes every `start interval` during the start period, against this machine's engine (Debian bookworm: 20.10, which
# knows no start interval and probes first after one full `interval`). Run by hand as root; not by CI.
#
#   bash bench/start-interval.sh            # build the inner engine's image if needed, measure, tear down
#   RUNS=5 PROVIDER=no bash bench/start-interval.sh
#
# Engine ≥ 25 here: Debian trixie's docker.io (26.x) in a container built from platform-local/debian:trixie, with
# its own dockerd (storage on a tmpfs, no network of its own) and its socket in $START_INTERVAL_SOCKET_DIR. Figures
# go to bench/REAL-ENGINE.md by hand ("Health-check start interval"). Everything started here is removed at exit:
# the inner engine's container (its tmpfs, hence every image and container inside it, goes with it), the probe
# containers on this engine (label platform.stack=start-interval-bench only) and the socket directory. The image
# platform-local/dind:26 is kept for the next run (FORCE=1 rebuilds it; `docker image rm` it to reclaim ~314 MB).
#
# Environment: RUNS (measurements per case, default 3), PROVIDER (auto|yes|no: also deploy through the project's
# docker provider plugin, needs `npm run engine` or a pulumi on PATH; auto = when available),
# START_INTERVAL_SOCKET_DIR (default /tmp/dind26), FORCE=1.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-3}
PROVIDER=${PROVIDER:-auto}
SOCK_DIR=${START_INTERVAL_SOCKET_DIR:-/tmp/dind26}
INNER_URL=unix://$SOCK_DIR/docker.sock
HOST_URL=unix:///var/run/docker.sock
DIND_IMAGE=platform-local/dind:26
DIND_NAME=platform-bench-dind26
LABEL=platform.stack=start-interval-bench
APP=platform-local/demo-app:1
HEALTH_URL=http://127.0.0.1:8080/health
# The platform's path health check (model/tenant-plan.ts), with a 30 s interval.
HEALTH=(--health-cmd "curl -fsS -o /dev/null $HEALTH_URL || wget -q -O /dev/null $HEALTH_URL || exit 1"
  --health-interval 30s --health-timeout 5s --health-retries 3)

say() { printf '[start-interval] %s\n' "$*"; }
die() { printf '[start-interval] ERROR: %s\n' "$*" >&2; exit 1; }
inner() { docker -H "$INNER_URL" "$@"; }

[ "$(id -u)" = 0 ] || die "must run as root (a container with its own dockerd)"
docker info >/dev/null 2>&1 || die "no Docker engine answers: run scripts/docker-engine.sh"
for image in platform-local/debian:trixie "$APP"; do
  docker image inspect "$image" >/dev/null 2>&1 || die "image $image missing: run scripts/images.sh base demo-app"
done
command -v jq >/dev/null || die "jq missing: run scripts/docker-engine.sh"

teardown() {
  local ids
  ids=$(docker ps -aq --filter "label=$LABEL" 2>/dev/null || true)
  # shellcheck disable=SC2086 # one id per word
  [ -z "$ids" ] || docker rm -f -v $ids >/dev/null 2>&1 || true
  rm -rf "$SOCK_DIR"
}
trap teardown EXIT
teardown # a previous run that was killed

# --- the inner engine --------------------------------------------------------------------------------------------------
base_id=$(docker image inspect -f '{{.Id}}' platform-local/debian:trixie)
if [ "${FORCE:-0}" = 1 ] || [ "$(docker image inspect -f '{{index .Config.Labels "platform.dind.base"}}' "$DIND_IMAGE" 2>/dev/null)" != "$base_id" ]; then
  say "building $DIND_IMAGE (platform-local/debian:trixie + docker.io from Debian)"
  printf '%s\n' 'FROM platform-local/debian:trixie' \
    'RUN set -eux; apt-get update; DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker.io iptables; rm -rf /var/lib/apt/lists/*; dockerd --version' |
    DOCKER_BUILDKIT=0 docker build --network host -t "$DIND_IMAGE" --label platform.local-image=true \
      --label "platform.dind.base=$base_id" \
      --label 'org.opencontainers.image.description=Debian trixie docker.io (an Engine >= 25 for bench/start-interval.sh)' - \
      >"$SOCK_DIR.build.log" 2>&1 || { tail -n 30 "$SOCK_DIR.build.log" >&2; die "building $DIND_IMAGE failed"; }
  rm -f "$SOCK_DIR.build.log"
fi

mkdir -p "$SOCK_DIR"
# Not --privileged: this machine's engine runs without CAP_SYS_RESOURCE in its bounding set, and --privileged asks
# for every capability ("unable to apply caps: operation not permitted"). The rest of what --privileged gives, by
# hand: every other capability, no seccomp/AppArmor, unmasked /proc, every device, and /sys and the container's own
# cgroup v1 hierarchies remounted writable so the inner dockerd can make its containers' cgroups beneath them.
t0=$SECONDS
docker run -d --name "$DIND_NAME" --label "$LABEL" --network none \
  --cap-add ALL --cap-drop SYS_RESOURCE \
  --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
  --device-cgroup-rule 'a *:* rwm' --tmpfs /var/lib/docker -v "$SOCK_DIR:/run/dind" "$DIND_IMAGE" sh -euc '
    mount -o remount,rw /sys
    for m in $(awk "\$3 == \"cgroup\" || \$3 == \"cgroup2\" {print \$2}" /proc/self/mounts); do mount -o remount,bind,rw "$m"; done
    exec dockerd -H unix:///run/dind/docker.sock' >/dev/null
until inner version >/dev/null 2>&1; do
  if [ "$(docker inspect -f '{{.State.Running}}' "$DIND_NAME")" != true ] || [ $((SECONDS - t0)) -gt 60 ]; then
    docker logs --tail 20 "$DIND_NAME" >&2 || true
    die "the inner engine did not answer on $INNER_URL"
  fi
  sleep 0.5
done
inner_version=$(inner version -f '{{.Server.Version}} (API {{.Server.APIVersion}})')
host_version=$(docker version -f '{{.Server.Version}} (API {{.Server.APIVersion}})')
say "inner engine: $inner_version on $INNER_URL, ready after $((SECONDS - t0)) s"
say "this machine's engine: $host_version"
major=${inner_version%%.*}
[ "$major" -ge 25 ] || die "the inner engine is $inner_version, not >= 25"
docker save "$APP" | inner load -q >/dev/null

# --- measurements ------------------------------------------------------------------------------------------------------
secs() { date -d "$1" +%s.%N; } # RFC 3339 → epoch seconds
# measure <docker command> <extra run flags...>: prints "<wall s> <engine s>": wall = from `docker run` to healthy
# seen by polling every 0.2 s; engine = from the container's start to the end of its first passing probe.
measure() {
  local cmd=$1 name t0 t1 status info; shift
  name=platform-bench-si-$$-$RANDOM
  t0=$(date +%s.%N)
  $cmd run -d --name "$name" --label "$LABEL" --network none "${HEALTH[@]}" "$@" "$APP" >/dev/null
  while status=$($cmd inspect -f '{{.State.Health.Status}}' "$name") && [ "$status" = starting ]; do
    if (($(date +%s) - ${t0%.*} > 120)); then break; fi
    sleep 0.2
  done
  t1=$(date +%s.%N)
  [ "$status" = healthy ] || { $cmd rm -f "$name" >/dev/null; die "probe container $name: $status after 120 s"; }
  info=$($cmd inspect "$name" | jq -r '.[0] | [.State.StartedAt, ([.State.Health.Log[] | select(.ExitCode == 0)][0].End)] | @tsv')
  $cmd rm -f "$name" >/dev/null
  awk -v w="$(echo "$t1 - $t0" | bc)" -v e="$(echo "$(secs "${info#*$'\t'}") - $(secs "${info%$'\t'*}")" | bc)" \
    'BEGIN { printf "%.2f %.2f\n", w, e }'
}
# series <label> <runs> <docker command> <flags...>: RUNS measurements, then "label: median (min–max)".
RESULTS=()
series() {
  local label=$1 runs=$2 cmd=$3 i out w e walls=() engines=(); shift 3
  for ((i = 1; i <= runs; i++)); do
    out=$(measure "$cmd" "$@") || exit 1
    read -r w e <<<"$out"
    walls+=("$w") engines+=("$e")
    say "  $label, run $i: healthy seen after $w s (engine: first passing probe $e s after start)"
  done
  RESULTS+=("| $label | $runs | $(stats "${walls[@]}") | $(stats "${engines[@]}") |")
}
stats() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f s (%.1f–%.1f)", v[int((NR + 1) / 2)], v[1], v[NR] }'; }

say "measuring: interval 30s, start period 10s; $RUNS runs per case"
series "Engine ${inner_version%% *}, start interval 1s" "$RUNS" inner --health-start-period 10s --health-start-interval 1s
# Docker uses the start interval only inside the start period: with none, the first probe still waits one interval.
series "Engine ${inner_version%% *}, start interval 1s, start period 0s" 1 inner --health-start-period 0s --health-start-interval 1s
series "Engine ${host_version%% *}, no start interval" "$RUNS" docker --health-start-period 10s
refusal=$(docker run --rm --label "$LABEL" --network none --health-start-interval 1s --entrypoint true "$APP" 2>&1 || true)
say "this machine's engine with --health-start-interval: $refusal"

# --- through the provider plugin -------------------------------------------------------------------------------------
PROVIDER_RESULTS=()
if [ "$PROVIDER" = auto ]; then
  if command -v pulumi >/dev/null || [ -x "$REPO/.engine/bin/pulumi" ]; then PROVIDER=yes; else PROVIDER=no; fi
  [ "$PROVIDER" = yes ] || say "no pulumi on PATH and no .engine/bin/pulumi: provider runs skipped (npm run engine)"
fi
if [ "$PROVIDER" = yes ]; then
  node_path=$(bash "$REPO/scripts/node24.sh")
  provider_run() { # provider_run <label> <url> <yes|no>
    local out
    out=$(cd "$REPO" && PATH="$node_path:$PATH" npx --no-install tsx bench/start-interval-provider.ts "$2" "$3")
    say "  provider, $1: $out"
    PROVIDER_RESULTS+=("| $1 | $(jq -r 'if .upOk then "\(.containerCreateSeconds) s (up \(.upSeconds | . * 10 | round / 10) s); second preview: \(if .secondPreviewNoChanges then "no changes" else "CHANGES" end)" else "refused: \(.error)" end' <<<"${out##*$'\n'}") |")
  }
  say "deploying one container through the provider plugin (pulumi up, wait: true)"
  provider_run "Engine ${inner_version%% *}, startInterval 1s" "$INNER_URL" yes
  provider_run "Engine ${host_version%% *}, startInterval 1s" "$HOST_URL" yes
  provider_run "Engine ${host_version%% *}, no startInterval" "$HOST_URL" no
fi

# --- report ------------------------------------------------------------------------------------------------------------
echo
echo "Health check: interval 30s, timeout 5s, retries 3, start period 10s unless said; demo app; $(date -u +%F)."
echo
echo "| case | runs | healthy seen after \`docker run\`: median (min–max) | engine: first passing probe after start |"
echo "|---|---|---|---|"
printf '%s\n' "${RESULTS[@]}"
if [ "${#PROVIDER_RESULTS[@]}" -gt 0 ]; then
  echo
  echo "| through the provider plugin | Container created (incl. wait for healthy) |"
  echo "|---|---|"
  printf '%s\n' "${PROVIDER_RESULTS[@]}"
fi

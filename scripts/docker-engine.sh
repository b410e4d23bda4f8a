#!/usr/bin/env bash
# Make sure a local Docker engine is installed, configured for many tenants and running. Idempotent: every step checks
# first and says what it did (or why it did nothing). Needs root. Used by local development, CI and scripts/images.sh.
#
#   scripts/docker-engine.sh            # install if needed, configure, start, wait until `docker info` answers
#
# Environment:
#   DOCKER_ENGINE_LOG       dockerd log file when this script starts it (default /var/log/dockerd.log)
#   DOCKER_ENGINE_TIMEOUT   seconds to wait for the engine to answer (default 60)
#   DOCKER_ADDRESS_POOL     base of the default address pool (default: first of 10.128.0.0/9, 172.16.0.0/12,
#                           192.168.0.0/16 that overlaps no route on this machine), e.g. 10.128.0.0/9
#   DOCKER_ADDRESS_POOL_SIZE  prefix length of each network taken from the pool (default 24: 256 addresses each)
set -euo pipefail

LOG_FILE="${DOCKER_ENGINE_LOG:-/var/log/dockerd.log}"
TIMEOUT="${DOCKER_ENGINE_TIMEOUT:-60}"
POOL_SIZE="${DOCKER_ADDRESS_POOL_SIZE:-24}"
DAEMON_JSON=/etc/docker/daemon.json

say() { printf '[docker-engine] %s\n' "$*"; }
die() { printf '[docker-engine] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (installs packages, writes $DAEMON_JSON, starts dockerd)"

# --- 1. packages ---------------------------------------------------------------------------------------------------
missing=()
dpkg-query -W -f='${Status}' docker.io 2>/dev/null | grep -q 'ok installed' || missing+=(docker.io)
dpkg-query -W -f='${Status}' debootstrap 2>/dev/null | grep -q 'ok installed' || missing+=(debootstrap)
command -v jq >/dev/null || missing+=(jq)
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]} (apt-get update first)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  say "installed ${missing[*]}"
else
  say "packages present: docker.io, debootstrap, jq"
fi
command -v dockerd >/dev/null || die "dockerd not found after installing docker.io"
command -v docker >/dev/null || die "docker CLI not found after installing docker.io"

# --- 2. daemon.json: default-address-pools ---------------------------------------------------------------------------
# Docker's built-in pools give only ~30 bridge networks; every tenant needs several. Pick a base that overlaps no route.
ip2int() { local IFS=.; set -- $1; echo $(( ($1 << 24) | ($2 << 16) | ($3 << 8) | $4 )); }
overlaps() { # overlaps A/a B/b: do the two CIDRs share an address?
  local a=${1%/*} al=${1#*/} b=${2%/*} bl=${2#*/} l
  l=$(( al < bl ? al : bl ))
  local mask=$(( l == 0 ? 0 : (0xFFFFFFFF << (32 - l)) & 0xFFFFFFFF ))
  [ $(( $(ip2int "$a") & mask )) -eq $(( $(ip2int "$b") & mask )) ]
}
routes=$(ip -4 route show 2>/dev/null | awk '{print $1}' | grep -E '^[0-9.]+(/[0-9]+)?$' | sed -E '/\//!s/$/\/32/' || true)
# Docker's own bridges (docker0, br-*) are ours to replace, not clashes.
docker_routes=$(ip -4 route show 2>/dev/null | awk '/ dev (docker0|br-)/ {print $1}' || true)
route_clash() {
  local r
  for r in $routes; do
    grep -qxF "$r" <<<"$docker_routes" && continue
    overlaps "$1" "$r" && { echo "$r"; return 0; }
  done
  return 1
}

if [ -f "$DAEMON_JSON" ] && jq -e '."default-address-pools" | length > 0' "$DAEMON_JSON" >/dev/null 2>&1; then
  say "$DAEMON_JSON already has default-address-pools: $(jq -c '."default-address-pools"' "$DAEMON_JSON")"
else
  pool=""
  for candidate in ${DOCKER_ADDRESS_POOL:-10.128.0.0/9 172.16.0.0/12 192.168.0.0/16}; do
    if clash=$(route_clash "$candidate"); then
      say "address pool $candidate overlaps route $clash, trying the next"
    else
      pool=$candidate; break
    fi
  done
  [ -n "$pool" ] || die "no default address pool free of this machine's routes; set DOCKER_ADDRESS_POOL"
  mkdir -p "$(dirname "$DAEMON_JSON")"
  current='{}'
  [ -s "$DAEMON_JSON" ] && current=$(cat "$DAEMON_JSON")
  jq --arg base "$pool" --argjson size "$POOL_SIZE" \
    '. + {"default-address-pools": [{"base": $base, "size": $size}]}' <<<"$current" >"$DAEMON_JSON.tmp"
  mv "$DAEMON_JSON.tmp" "$DAEMON_JSON"
  say "wrote default-address-pools base $pool size /$POOL_SIZE to $DAEMON_JSON"
  if docker info >/dev/null 2>&1; then
    say "NOTE: dockerd is already running with its old pools; restart it to use the new ones"
  fi
fi

# --- 3. start dockerd ------------------------------------------------------------------------------------------------
if docker info >/dev/null 2>&1; then
  say "engine already running: $(docker version -f 'server {{.Server.Version}}' 2>/dev/null)"
  exit 0
fi

started=""
if [ -d /run/systemd/system ] && systemctl list-unit-files docker.service >/dev/null 2>&1 \
  && systemctl is-system-running >/dev/null 2>&1; then
  say "starting docker.service with systemd"
  systemctl start docker.service || say "systemctl start docker failed; falling back to dockerd in the background"
  started=systemd
fi
if [ "$started" != systemd ] || ! docker info >/dev/null 2>&1; then
  if pgrep -x dockerd >/dev/null; then
    say "dockerd is running (pid $(pgrep -x dockerd | tr '\n' ' ')) but not answering yet; waiting"
  else
    mkdir -p "$(dirname "$LOG_FILE")"
    # A stale pid file from an unclean stop makes dockerd refuse to start.
    for pidfile in /var/run/docker.pid /run/docker/containerd/containerd.pid; do
      if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null; then
        rm -f "$pidfile"; say "removed stale $pidfile"
      fi
    done
    say "starting dockerd in the background (log: $LOG_FILE)"
    # setsid + nohup: the engine outlives this script and the shell or CI step that ran it.
    setsid nohup dockerd >>"$LOG_FILE" 2>&1 </dev/null &
    say "dockerd pid $!"
  fi
fi

# --- 4. wait until ready ---------------------------------------------------------------------------------------------
deadline=$(( SECONDS + TIMEOUT ))
until docker info >/dev/null 2>&1; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    printf '[docker-engine] ERROR: engine not ready after %ss. Last lines of %s:\n' "$TIMEOUT" "$LOG_FILE" >&2
    tail -n 30 "$LOG_FILE" >&2 2>/dev/null || true
    exit 1
  fi
  if ! pgrep -x dockerd >/dev/null; then
    printf '[docker-engine] ERROR: dockerd exited. Last lines of %s:\n' "$LOG_FILE" >&2
    tail -n 30 "$LOG_FILE" >&2 2>/dev/null || true
    exit 1
  fi
  sleep 1
done
say "engine ready after $(( SECONDS ))s: $(docker version -f 'server {{.Server.Version}}'), address pools $(jq -c '."default-address-pools"' "$DAEMON_JSON" 2>/dev/null)"

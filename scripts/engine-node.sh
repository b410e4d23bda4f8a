#!/usr/bin/env bash
# A Docker engine of its own, for drills that must not touch the machine's engine (restarting dockerd, a host that
# goes away) and for cluster nodes: a second dockerd in a network namespace and a mount namespace of its own, so it
# has its own ports, iptables, /var/run/docker.sock (what the edge keeper and the socket proxy bind-mount) and data.
# The host reaches it on a bridge (pe-br0, 172.31.240.0/24): node INDEX answers at 172.31.240.(10+INDEX), and every
# port its containers publish answers there. Needs root. Each command checks first, so it is safe to repeat.
#
#   scripts/engine-node.sh up NAME INDEX       # create (or start again) the node; prints its DOCKER_HOST
#   scripts/engine-node.sh stop NAME           # stop dockerd as a shutdown or an upgrade does (SIGTERM, then wait)
#   scripts/engine-node.sh start NAME          # start the stopped dockerd on the same data
#   scripts/engine-node.sh load NAME IMAGE...  # copy images from the machine's engine (there is no registry here)
#   scripts/engine-node.sh down NAME           # stop it and remove its namespace, link and data
#   scripts/engine-node.sh host NAME           # print its DOCKER_HOST; `address NAME` its address, `log NAME` its log
#
# Environment: ENGINE_NODE_ROOT (default /tmp/platform-engine-nodes) holds each node's data, sockets and log.
set -euo pipefail

ROOT="${ENGINE_NODE_ROOT:-/tmp/platform-engine-nodes}"
BRIDGE=pe-br0
SUBNET=172.31.240
say() { printf '[engine-node] %s\n' "$*" >&2; }
die() { printf '[engine-node] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (creates namespaces and links, starts dockerd)"
command="${1:-}"
name="${2:-}"
[[ "$name" =~ ^[a-z][a-z0-9-]{0,11}$ ]] || die "usage: $0 up|stop|start|load|down|host|address|log NAME [INDEX|IMAGE...] (NAME: lowercase, at most 12 characters)"
dir="$ROOT/$name"
netns="pe-$name"
socket="$dir/run/docker.sock"
pidfile="$dir/run/docker.pid"

running_pid() {
  local pid
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

answers() { docker -H "unix://$socket" version >/dev/null 2>&1; }

bridge_up() {
  ip link show "$BRIDGE" >/dev/null 2>&1 && return
  ip link add "$BRIDGE" type bridge
  ip addr add "$SUBNET.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # The machine's engine loads br_netfilter and drops forwarded traffic by default: nodes must reach each other.
  iptables -C FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null || iptables -I FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
}

namespace_up() {
  local index=$1
  [[ "$index" =~ ^[0-9]+$ ]] && [ "$index" -ge 1 ] && [ "$index" -le 200 ] || die "INDEX must be 1..200 (got '$index')"
  bridge_up
  if ! ip netns list | grep -qw "$netns"; then
    ip netns add "$netns"
    ip link add "pe-$name" type veth peer name eth0 netns "$netns"
    ip link set "pe-$name" master "$BRIDGE" up
    ip -n "$netns" addr add "$SUBNET.$((10 + index))/24" dev eth0
    ip -n "$netns" link set eth0 up
    ip -n "$netns" link set lo up
    ip -n "$netns" route add default via "$SUBNET.1"
  fi
  echo "$index" > "$dir/index"
}

start() {
  if running_pid >/dev/null; then say "$name: dockerd already running"; return; fi
  local index
  index=$(cat "$dir/index" 2>/dev/null) || die "$name does not exist (run: $0 up $name INDEX)"
  mkdir -p "$dir/data" "$dir/run"
  rm -f "$socket" "$pidfile"
  # Its own mount namespace: /run there is this node's run/, so the node's /var/run/docker.sock is its own socket
  # (containers that bind-mount it reach this engine, as on a real host) and the host sees it at $socket.
  nsenter --net="/var/run/netns/$netns" unshare --mount --propagation private -- sh -c '
    mount --bind "$1/run" /run && exec dockerd --data-root "$1/data" --config-file "$1/daemon.json" \
      --pidfile /run/docker.pid -H unix:///run/docker.sock --bip "10.199.$2.1/24" \
      --default-address-pool base=10.200.0.0/16,size=24' sh "$dir" "$index" >>"$dir/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do answers && break; sleep 0.5; done
  answers || { tail -20 "$dir/dockerd.log" >&2; die "$name: dockerd did not answer within 30 s (log: $dir/dockerd.log)"; }
  say "$name: dockerd answers at unix://$socket ($SUBNET.$((10 + index)))"
}

stop() {
  local pid
  pid=$(running_pid) || { say "$name: dockerd not running"; return; }
  kill -TERM "$pid"
  # dockerd stops its containers first (each with its stop timeout), as on a host shutdown.
  for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && die "$name: dockerd (pid $pid) still running after 60 s"
  say "$name: dockerd stopped"
}

case "$command" in
  up)
    mkdir -p "$dir"
    [ -f "$dir/daemon.json" ] || echo '{}' > "$dir/daemon.json"
    namespace_up "${3:-}"
    start
    echo "unix://$socket"
    ;;
  start) start ;;
  stop) stop ;;
  load)
    shift 2
    [ "$#" -gt 0 ] || die "name at least one image to load"
    answers || die "$name: dockerd is not running"
    env -u DOCKER_HOST docker save "$@" | docker -H "unix://$socket" load -q >&2
    ;;
  down)
    stop
    ip netns del "$netns" 2>/dev/null || true
    ip link del "pe-$name" 2>/dev/null || true
    rm -rf "$dir"
    # The bridge goes with the last node.
    if ip link show "$BRIDGE" >/dev/null 2>&1 && [ -z "$(ip link show master "$BRIDGE")" ]; then
      ip link del "$BRIDGE"
      iptables -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null || true
    fi
    say "$name: removed"
    ;;
  host) echo "unix://$socket" ;;
  log) echo "$dir/dockerd.log" ;;
  address)
    index=$(cat "$dir/index" 2>/dev/null) || die "$name does not exist"
    echo "$SUBNET.$((10 + index))"
    ;;
  *) die "unknown command '$command' (up, stop, start, load, down, host, address, log)" ;;
esac

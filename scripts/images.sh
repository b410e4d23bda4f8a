#!/usr/bin/env bash
# Build the platform's local images (no image registry needed): Debian base images from debootstrap, Postgres 15/17,
# Traefik from its Go source, the edge's pause container and socket proxy (HAProxy), the demo app. Recipes: engine/images/.
#
#   scripts/images.sh                  # everything
#   scripts/images.sh postgres demo-app  # only some: base, postgres, postgres:15, postgres:17, redis, traefik, pause, demo-app, backup-sinks, monitoring, docker-cli, python, haproxy
#   FORCE=1 scripts/images.sh …        # rebuild even when up to date (the selected images and their base images)
#
# Idempotent: each image carries the label platform.local-image.inputs=<sha256 of its build inputs> (recipe files,
# versions, parent image's hash, toolchain) and is skipped when an image with that tag and hash exists. Every image
# is labelled platform.local-image=true. Build logs: $PLATFORM_IMAGES_CACHE/logs (default /var/cache/platform-images).
#
# Environment: TRAEFIK_VERSION (default v3.6.12; if the Go proxy does not serve it, the newest v3.6.x is built and
# tagged with its own version), DEBIAN_MIRROR / DEBIAN_SECURITY_MIRROR (default: what this machine's apt uses),
# VERBOSE=1 (stream build output), BUILD_NICE (niceness of compiles, default 10).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAGES=$REPO/engine/images
CACHE=${PLATFORM_IMAGES_CACHE:-/var/cache/platform-images}
TRAEFIK_VERSION=${TRAEFIK_VERSION:-v3.6.12}
TRAEFIK_MODULE=github.com/traefik/traefik/v3
export BUILD_NICE=${BUILD_NICE:-10}
export DOCKER_BUILDKIT=0 # the classic builder: FROM local images, no buildx plugin needed
LOCAL_LABEL=platform.local-image=true
HASH_LABEL=platform.local-image.inputs
START=$SECONDS

say() { printf '[images] %s\n' "$*"; }
die() { printf '[images] ERROR: %s\n' "$*" >&2; exit 1; }
elapsed() { local s=$(( SECONDS - $1 )); printf '%dm%02ds' $(( s / 60 )) $(( s % 60 )); }

# --- what to build -------------------------------------------------------------------------------------------------
want_haproxy=0 want_keeper=0 want_python=0 want_sinks=0 want_base=0 want_pg15=0 want_pg17=0 want_redis=0 want_traefik=0 want_pause=0 want_demo=0 want_monitoring=0
[ $# -eq 0 ] && set -- all
for t in "$@"; do
  case "$t" in
    all) want_base=1 want_pg15=1 want_pg17=1 want_redis=1 want_traefik=1 want_pause=1 want_demo=1 want_sinks=1 want_monitoring=1 want_keeper=1 want_python=1 want_haproxy=1 ;;
    base) want_base=1 ;;
    postgres) want_pg15=1 want_pg17=1 ;;
    postgres:15 | postgres-15) want_pg15=1 ;;
    postgres:17 | postgres-17) want_pg17=1 ;;
    redis) want_redis=1 ;;
    traefik) want_traefik=1 ;;
    pause) want_pause=1 ;;
    demo-app) want_demo=1 ;;
    backup-sinks) want_sinks=1 ;;
    monitoring) want_monitoring=1 ;;
    docker-cli) want_keeper=1 ;;
    python) want_python=1 ;;
    haproxy | socket-proxy) want_haproxy=1 ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) die "unknown image '$t' (all, base, postgres, postgres:15, postgres:17, redis, traefik, pause, demo-app, backup-sinks, monitoring, docker-cli, python, haproxy)" ;;
  esac
done
need_bookworm=$(( want_base || want_pg15 || want_redis || want_traefik || want_demo || want_monitoring || want_keeper || want_python ))
need_trixie=$(( want_base || want_pg17 || want_haproxy ))

# --- prerequisites ---------------------------------------------------------------------------------------------------
if [ "$(id -u)" != 0 ]; then die "must run as root (debootstrap, docker)"; fi
"$REPO/scripts/docker-engine.sh" | sed 's/^/  /'
if (( want_traefik || want_pause || want_demo || want_sinks )); then
  command -v go >/dev/null || die "go is required to build traefik, pause, demo-app and backup-sinks (see engine/toolchain)"
fi
mkdir -p "$CACHE/logs" "$CACHE/tmp"
exec 9>"$CACHE/images.lock"
if ! flock -n 9; then
  say "another images.sh is running; waiting for it (up to 60 min)"
  flock -w 3600 9 || die "timed out waiting for $CACHE/images.lock"
fi
WORK=$(mktemp -d "$CACHE/tmp/run.XXXXXX")
BG_PIDS=()
cleanup() {
  local p
  for p in "${BG_PIDS[@]}"; do kill -- "-$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Debian mirror: the URI this machine's apt uses for its own release (deb822 .sources or one-line .list).
apt_uri_for() { # apt_uri_for <suite>
  local suite=$1 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$suite" '
      BEGIN { RS = ""; FS = "\n" }
      {
        uris = ""; ok = 0; deb = 0; enabled = 1
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^#/) continue
          if ($i ~ /^Types:/ && $i ~ /[ \t]deb([ \t]|$)/) deb = 1
          if ($i ~ /^Enabled:[ \t]*no/) enabled = 0
          if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris); split(uris, u, /[ \t]+/); uris = u[1] }
          if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == suite) ok = 1 }
        }
        if (deb && ok && enabled && uris != "") { print uris; exit }
      }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v suite="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i + 1) == suite) { print $i; exit } }' "$f"
  done
}
host_suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
MIRROR=${DEBIAN_MIRROR:-$(apt_uri_for "$host_suite" | head -n 1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
MIRROR=${MIRROR%/}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-$(apt_uri_for "$host_suite-security" | head -n 1)}
SECURITY_MIRROR=${SECURITY_MIRROR:-${MIRROR%/debian}/debian-security}
SECURITY_MIRROR=${SECURITY_MIRROR%/}
say "Debian mirror $MIRROR (security: $SECURITY_MIRROR); cache $CACHE"

# --- helpers ---------------------------------------------------------------------------------------------------------
# hash_inputs <file-or-string>...: sha256 over the named files' paths and contents and the other strings.
hash_inputs() {
  local x
  for x in "$@"; do
    if [ -f "$x" ]; then printf 'file %s\n' "${x#"$REPO"/}"; sha256sum <"$x"; else printf 'str %s\n' "$x"; fi
  done | sha256sum | cut -c1-64
}
image_hash() { docker image inspect -f "{{ index .Config.Labels \"$HASH_LABEL\" }}" "$1" 2>/dev/null || true; }
up_to_date() { # up_to_date <image> <hash>
  [ "${FORCE:-0}" != 1 ] && [ "$(image_hash "$1")" = "$2" ]
}
# run_logged <log> <cmd>...: output to the log (and the terminal with VERBOSE=1); on failure, show its tail.
run_logged() {
  local log=$1; shift
  local rc=0
  if [ "${VERBOSE:-0}" = 1 ]; then "$@" 2>&1 | tee "$log" || rc=$?; else "$@" >"$log" 2>&1 || rc=$?; fi
  if [ "$rc" != 0 ]; then
    printf '[images] ERROR: failed (exit %s): %s\n[images] last lines of %s:\n' "$rc" "$*" "$log" >&2
    tail -n 40 "$log" | sed 's/^/    /' >&2
    exit "$rc"
  fi
}
docker_build() { # docker_build <tag> <hash> <context> [docker build args...]
  local tag=$1 hash=$2 ctx=$3; shift 3
  run_logged "$CACHE/logs/$(tr '/:' '__' <<<"$tag").log" \
    docker build --network host --label "$LOCAL_LABEL" --label "$HASH_LABEL=$hash" -t "$tag" "$@" "$ctx"
}
built=() skipped=()
step_begin() { STEP_START=$SECONDS; say "==> $1"; }
step_done() { say "    $1 ($(elapsed "$STEP_START"))"; }

go_version=$(command -v go >/dev/null && go env GOVERSION || echo none)

# --- base images -----------------------------------------------------------------------------------------------------
base_hash() { hash_inputs "$IMAGES/base/build-rootfs.sh" "suite=$1" "mirror=$MIRROR" "security=$SECURITY_MIRROR"; }
build_base() { # build_base <suite>
  local suite=$1 tag="platform-local/debian:$1" hash
  hash=$(base_hash "$suite")
  step_begin "$tag (debootstrap --variant=minbase $suite)"
  if up_to_date "$tag" "$hash"; then skipped+=("$tag"); step_done "up to date, skipped"; return; fi
  # The tarball outlives a failed import (no second debootstrap); it is deleted once imported.
  local tar="$CACHE/rootfs-$suite-${hash:0:12}.tar"
  if [ ! -s "$tar" ] || [ "${FORCE:-0}" = 1 ]; then
    run_logged "$CACHE/logs/debootstrap-$suite.log" bash -c '"$1" "$2" "$3" "$4" >"$5.tmp" && mv "$5.tmp" "$5"' _ \
      "$IMAGES/base/build-rootfs.sh" "$suite" "$MIRROR" "$SECURITY_MIRROR" "$tar"
    say "    rootfs built ($(elapsed "$STEP_START")), importing"
  fi
  docker import \
    --change "LABEL $LOCAL_LABEL" \
    --change "LABEL $HASH_LABEL=$hash" \
    --change "LABEL org.opencontainers.image.description=\"Debian $suite minbase (debootstrap from $MIRROR)\"" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    "$tar" "$tag" >/dev/null
  rm -f "$tar"
  built+=("$tag"); step_done "built $(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}')"
}

# --- traefik binary (long: started first, in the background) ---------------------------------------------------------
traefik_hash=""
traefik_bin_pid=""
TRAEFIK_BIN_START=$SECONDS
traefik_tag() { echo "platform-local/traefik:$TRAEFIK_VERSION"; }
traefik_binary_hash() {
  hash_inputs "$IMAGES/traefik/build-binary.sh" "$IMAGES/traefik/dashboard-placeholder.html" \
    "version=$TRAEFIK_VERSION" "go=$go_version"
}
traefik_image_hash() { hash_inputs "$IMAGES/traefik/Dockerfile" "binary=$(traefik_binary_hash)" "base=$(base_hash bookworm)"; }
start_traefik_binary() {
  traefik_hash=$(traefik_image_hash)
  if up_to_date "$(traefik_tag)" "$traefik_hash"; then return; fi
  # Is the version served? If not, the newest v3.6.x that is.
  if ! go list -m -json "$TRAEFIK_MODULE@$TRAEFIK_VERSION" >/dev/null 2>&1; then
    local newest
    newest=$(go list -m -versions "$TRAEFIK_MODULE" 2>/dev/null | tr ' ' '\n' | grep -E '^v3\.6\.[0-9]+$' | sort -V | tail -n 1)
    [ -n "$newest" ] || die "$TRAEFIK_MODULE@$TRAEFIK_VERSION is not served by the Go proxy, nor any v3.6.x"
    say "WARNING: $TRAEFIK_MODULE@$TRAEFIK_VERSION is not served; building $newest instead (tag $newest)"
    TRAEFIK_VERSION=$newest
    traefik_hash=$(traefik_image_hash)
    if up_to_date "$(traefik_tag)" "$traefik_hash"; then return; fi
  fi
  local dir="$CACHE/traefik-$TRAEFIK_VERSION"
  local bin_hash
  bin_hash=$(traefik_binary_hash)
  mkdir -p "$dir"
  if [ "${FORCE:-0}" != 1 ] && [ -x "$dir/traefik" ] && [ "$(cat "$dir/inputs" 2>/dev/null)" = "$bin_hash" ]; then
    say "traefik $TRAEFIK_VERSION binary: cached in $dir"
    return
  fi
  say "traefik $TRAEFIK_VERSION binary: building from source in the background (log $CACHE/logs/traefik-binary.log)"
  TRAEFIK_BIN_START=$SECONDS
  rm -f "$dir/inputs"
  # Own process group (setsid), so an interrupted run stops the whole compile.
  setsid bash -c '"$1" "$2" "$3" && echo "$4" >"$5"' _ "$IMAGES/traefik/build-binary.sh" "$TRAEFIK_VERSION" \
    "$dir/traefik" "$bin_hash" "$dir/inputs" >"$CACHE/logs/traefik-binary.log" 2>&1 </dev/null &
  traefik_bin_pid=$!
  BG_PIDS+=("$traefik_bin_pid")
}
build_traefik() {
  local tag dir
  tag=$(traefik_tag)
  dir="$CACHE/traefik-$TRAEFIK_VERSION"
  step_begin "$tag (from Go source $TRAEFIK_MODULE@$TRAEFIK_VERSION, CGO_ENABLED=0)"
  if up_to_date "$tag" "$traefik_hash"; then skipped+=("$tag"); step_done "up to date, skipped"; return; fi
  if [ -n "$traefik_bin_pid" ]; then
    say "    waiting for the traefik binary build (started $(elapsed "$TRAEFIK_BIN_START") ago)"
    if ! wait "$traefik_bin_pid"; then
      BG_PIDS=()
      printf '[images] ERROR: traefik binary build failed; last lines of %s:\n' "$CACHE/logs/traefik-binary.log" >&2
      tail -n 40 "$CACHE/logs/traefik-binary.log" | sed 's/^/    /' >&2
      exit 1
    fi
    BG_PIDS=()
    say "    traefik binary built in $(elapsed "$TRAEFIK_BIN_START")"
  fi
  local ctx="$WORK/traefik"
  mkdir -p "$ctx"
  cp "$IMAGES/traefik/Dockerfile" "$ctx/"
  cp "$dir/traefik" "$ctx/traefik"
  docker_build "$tag" "$traefik_hash" "$ctx" --build-arg BASE=platform-local/debian:bookworm \
    --label "org.opencontainers.image.description=Traefik $TRAEFIK_VERSION built from $TRAEFIK_MODULE source" \
    --label "org.opencontainers.image.version=$TRAEFIK_VERSION"
  built+=("$tag"); step_done "built"
}

# --- postgres --------------------------------------------------------------------------------------------------------
build_postgres() { # build_postgres <major> <suite>
  local major=$1 suite=$2 tag="platform-local/postgres:$1" hash
  hash=$(hash_inputs "$IMAGES/postgres/Dockerfile" "$IMAGES/postgres/docker-entrypoint.sh" "major=$major" \
    "base=$(base_hash "$suite")")
  step_begin "$tag ($suite: postgresql-$major)"
  if up_to_date "$tag" "$hash"; then skipped+=("$tag"); step_done "up to date, skipped"; return; fi
  docker_build "$tag" "$hash" "$IMAGES/postgres" --build-arg "BASE=platform-local/debian:$suite" --build-arg "PG_MAJOR=$major" \
    --label "org.opencontainers.image.description=PostgreSQL $major (Debian $suite packages), official-image compatible entrypoint"
  built+=("$tag"); step_done "built ($(docker run --rm --entrypoint postgres "$tag" --version))"
}

# --- redis -----------------------------------------------------------------------------------------------------------
build_redis() { # build_redis <suite>: Debian's redis-server, tagged by its major version
  local suite=$1 hash tag
  hash=$(hash_inputs "$IMAGES/redis/Dockerfile" "base=$(base_hash "$suite")")
  tag="platform-local/redis:$(redis_major "$suite")"
  step_begin "$tag ($suite: redis-server)"
  if up_to_date "$tag" "$hash"; then skipped+=("$tag"); step_done "up to date, skipped"; return; fi
  docker_build "$tag" "$hash" "$IMAGES/redis" --build-arg "BASE=platform-local/debian:$suite" \
    --label "org.opencontainers.image.description=Redis (Debian $suite package), official-image compatible entrypoint"
  built+=("$tag"); step_done "built ($(docker run --rm "$tag" redis-server --version | cut -d' ' -f3))"
}
redis_major() { case "$1" in bookworm) echo 7 ;; trixie) echo 8 ;; *) die "no Redis major known for $1" ;; esac; }

# --- monitoring (optional monitoring stack: Prometheus, blackbox exporter, node exporter) ------------------------------
build_monitoring() { # build_monitoring <name> <debian package> <official binary name>: tagged by the package's version
  local name=$1 package=$2 binary=$3 hash tag version
  hash=$(hash_inputs "$IMAGES/monitoring/Dockerfile" "package=$package" "binary=$binary" "base=$(base_hash bookworm)")
  version=$(monitoring_version "$package")
  tag="platform-local/$name:$version"
  step_begin "$tag (bookworm: $package)"
  if up_to_date "$tag" "$hash"; then skipped+=("$tag"); step_done "up to date, skipped"; return; fi
  docker_build "$tag" "$hash" "$IMAGES/monitoring" --build-arg BASE=platform-local/debian:bookworm \
    --build-arg "PACKAGE=$package" --build-arg "BINARY=$binary" \
    --label "org.opencontainers.image.description=$package (Debian bookworm package), official-image compatible entrypoint"
  built+=("$tag"); step_done "built"
}
# The versions bookworm ships (the stack config names these tags): a new Debian release is a deliberate change.
monitoring_version() {
  case "$1" in prometheus) echo 2.42 ;; prometheus-blackbox-exporter) echo 0.23 ;; prometheus-node-exporter) echo 1.5 ;; esac
}

# --- demo app --------------------------------------------------------------------------------------------------------
build_demo() { # build_demo <tag> <version> <always-fail-health>
  local tag="platform-local/demo-app:$1" version=$2 broken=$3 hash d=$IMAGES/demo-app
  hash=$(hash_inputs "$d/Dockerfile" "$d/main.go" "$d/go.mod" "$d/go.sum" "version=$version" "broken=$broken" \
    "go=$go_version" "base=$(base_hash bookworm)")
  step_begin "$tag (Go, version $version$([ "$broken" = true ] && echo ', /health always 500'))"
  if up_to_date "$tag" "$hash"; then skipped+=("$tag"); step_done "up to date, skipped"; return; fi
  local ctx="$WORK/demo-app-$1"
  mkdir -p "$ctx"
  cp "$d/Dockerfile" "$ctx/"
  run_logged "$CACHE/logs/demo-app-$1-go.log" env -C "$d" CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
    nice -n "$BUILD_NICE" go build -trimpath \
    -ldflags "-s -w -X main.version=$version -X main.alwaysFailHealth=$broken" -o "$ctx/demo-app" .
  docker_build "$tag" "$hash" "$ctx" --build-arg BASE=platform-local/debian:bookworm \
    --label "org.opencontainers.image.description=platform demo app, version $version" \
    --label "org.opencontainers.image.version=$version"
  built+=("$tag"); step_done "built"
}

# --- the edge keeper's tools on the dev stack: one Dockerfile each on the bookworm base ----------------------------------
# build_on_bookworm <tag> <recipe dir under engine/images> <what, for the log> <image description>
build_on_bookworm() {
  local tag=$1 dir=$2 what=$3 description=$4 hash
  hash=$(hash_inputs "$IMAGES/$dir/Dockerfile" "base=$(base_hash bookworm)")
  step_begin "$tag ($what)"
  if up_to_date "$tag" "$hash"; then skipped+=("$tag"); step_done "up to date, skipped"; return; fi
  docker_build "$tag" "$hash" "$IMAGES/$dir" --build-arg BASE=platform-local/debian:bookworm \
    --label "org.opencontainers.image.description=$description"
  built+=("$tag"); step_done "built"
}
# The docker CLI: the edge keeper's image.
build_docker_cli() { build_on_bookworm platform-local/docker-cli:20.10 docker-cli "Debian docker.io's CLI" "docker CLI for the platform's edge keeper"; }
# Python 3: the listener pin the edge keeper runs.
build_python() { build_on_bookworm platform-local/python:3 python "Debian bookworm's python3" "python3 for the edge keeper's listener pin"; }

# --- HAProxy (the edge's Docker socket proxy on the dev stack) -----------------------------------------------------------
# Debian trixie's package, tagged by its branch: the stack config names this tag, a new branch is a deliberate change.
HAPROXY_BRANCH=3.0
build_haproxy() {
  local tag=platform-local/haproxy:$HAPROXY_BRANCH hash version
  hash=$(hash_inputs "$IMAGES/haproxy/Dockerfile" "branch=$HAPROXY_BRANCH" "base=$(base_hash trixie)")
  step_begin "$tag (trixie: haproxy)"
  if up_to_date "$tag" "$hash"; then skipped+=("$tag"); step_done "up to date, skipped"; return; fi
  docker_build "$tag" "$hash" "$IMAGES/haproxy" --build-arg BASE=platform-local/debian:trixie \
    --label "org.opencontainers.image.description=HAProxy (Debian trixie package), the edge's Docker socket proxy"
  version=$(docker run --rm --entrypoint haproxy "$tag" -v | sed -n 's/^HAProxy version \([0-9.]*\).*/\1/p')
  case "$version" in "$HAPROXY_BRANCH".*) ;; *) die "$tag holds HAProxy ${version:-?}, not $HAPROXY_BRANCH.x: update HAPROXY_BRANCH and the stack files" ;; esac
  built+=("$tag"); step_done "built (HAProxy $version)"
}

# --- small Go programs in an image of their own (FROM scratch) --------------------------------------------------------
# build_go_image <tag> <recipe dir> <what, for the step line> <image description>: the recipe's main.go, go.mod and
# (when present) go.sum are its inputs.
build_go_image() {
  local tag=$1 d=$IMAGES/$2 what=$3 description=$4 hash ctx=$WORK/$2 inputs
  inputs=("$d/Dockerfile" "$d/main.go" "$d/go.mod")
  [ -f "$d/go.sum" ] && inputs+=("$d/go.sum")
  hash=$(hash_inputs "${inputs[@]}" "go=$go_version")
  step_begin "$tag ($what)"
  if up_to_date "$tag" "$hash"; then skipped+=("$tag"); step_done "up to date, skipped"; return; fi
  mkdir -p "$ctx"
  cp "$d/Dockerfile" "$ctx/"
  run_logged "$CACHE/logs/$2-go.log" env -C "$d" CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
    nice -n "$BUILD_NICE" go build -trimpath -ldflags "-s -w" -o "$ctx/$2" .
  docker_build "$tag" "$hash" "$ctx" --label "org.opencontainers.image.description=$description"
  built+=("$tag"); step_done "built"
}
# The edge's namespace holder.
PAUSE_TAG=platform-local/pause:1
# TEST-ONLY: fake S3 and a webhook recorder for test/e2e/backup.e2e.ts.
SINKS_TAG=platform-local/backup-sinks:1

# --- run -------------------------------------------------------------------------------------------------------------
(( want_traefik )) && start_traefik_binary
(( need_bookworm )) && build_base bookworm
(( need_trixie )) && build_base trixie
(( want_pg15 )) && build_postgres 15 bookworm
(( want_pg17 )) && build_postgres 17 trixie
(( want_redis )) && build_redis bookworm
(( want_pause )) && build_go_image "$PAUSE_TAG" pause "Go, from scratch" "platform edge pause container"
(( want_sinks )) && build_go_image "$SINKS_TAG" backup-sinks "Go, from scratch; test-only" "TEST-ONLY fake S3 and webhook recorder (backup e2e)"
if (( want_demo )); then
  build_demo 1 1 false
  build_demo 2 2 false
  build_demo broken broken true
fi
(( want_traefik )) && build_traefik
(( want_keeper )) && build_docker_cli
(( want_python )) && build_python
(( want_haproxy )) && build_haproxy
if (( want_monitoring )); then
  build_monitoring prometheus prometheus prometheus
  build_monitoring blackbox-exporter prometheus-blackbox-exporter blackbox_exporter
  build_monitoring node-exporter prometheus-node-exporter node_exporter
fi

# Superseded builds of our images (untagged, unused by any container) go.
pruned=$(docker image prune -f --filter "label=$LOCAL_LABEL" 2>/dev/null | awk '/Total reclaimed space/ && $4 != "0B" {print $4}')
say "done in $(elapsed "$START"): built ${#built[@]} (${built[*]:-none}), up to date ${#skipped[@]}${pruned:+, pruned superseded images: $pruned}"
docker image ls --filter "label=$LOCAL_LABEL" --format '  {{.Repository}}:{{.Tag}}  {{.Size}}' | grep -v '<none>' || true

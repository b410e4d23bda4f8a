#!/usr/bin/env bash
# Build a static `traefik` binary from its Go module source (no image registry, so no official image).
#
#   build-binary.sh <version> <output-file>
#
# `go install github.com/traefik/traefik/v3/cmd/traefik@<version>` is refused because traefik's go.mod has replace
# directives, so: download the module, copy it out of the read-only module cache and build ./cmd/traefik in the copy,
# the way traefik's Makefile does (CGO_ENABLED=0, -s -w, version/codename/date stamped in). The web dashboard's
# assets (webui/static) are built with Node in traefik's release process and are not part of the Go module: this
# binary embeds a one-page placeholder (dashboard-placeholder.html) instead, so `--api.dashboard=true` starts
# cleanly and /dashboard/ answers 200 with links to the JSON API (/api/overview, /api/http/routers, …).
#
# Runs under `nice` (other builds share the machine); GO_BUILD_PARALLELISM (default: go's own) sets `go build -p`.
set -euo pipefail

version=${1:?usage: build-binary.sh <version> <output-file>}
out=${2:?usage: build-binary.sh <version> <output-file>}
module=github.com/traefik/traefik/v3
codename=${TRAEFIK_CODENAME:-ramequin} # v3.6's codename (traefik's .github/workflows/release.yaml)

json=$(go mod download -json "$module@$version") || { echo "go mod download $module@$version failed: $json" >&2; exit 1; }
dir=$(jq -r .Dir <<<"$json")
info=$(jq -r .Info <<<"$json")
[ -d "$dir" ] || { echo "module dir missing after download: $json" >&2; exit 1; }
# The release's own timestamp, not now: the same version builds the same binary.
build_date=$(jq -r .Time "$info")

work=$(mktemp -d "${TMPDIR:-/tmp}/traefik-src.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -a "$dir/." "$work/"
chmod -R u+w "$work"
if [ ! -e "$work/webui/static/index.html" ]; then
  cp "$(dirname "$(readlink -f "$0")")/dashboard-placeholder.html" "$work/webui/static/index.html"
fi

mkdir -p "$(dirname "$out")"
cd "$work"
parallel=()
[ -n "${GO_BUILD_PARALLELISM:-}" ] && parallel=(-p "$GO_BUILD_PARALLELISM")
CGO_ENABLED=0 GOFLAGS=-buildvcs=false nice -n "${BUILD_NICE:-10}" go build "${parallel[@]}" -trimpath -ldflags "-s -w \
  -X $module/pkg/version.Version=$version \
  -X $module/pkg/version.Codename=$codename \
  -X $module/pkg/version.BuildDate=$build_date" \
  -o "$out.tmp" ./cmd/traefik
mv "$out.tmp" "$out"
"$out" version

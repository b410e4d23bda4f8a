#!/usr/bin/env bash
# Builds the Pulumi toolchain for machines without the official one into .engine/bin (git-ignored): the pulumi CLI,
# a Node.js language host, and the docker, random and command provider plugins (engine/). Test infrastructure
# only: with the official `pulumi` CLI on PATH, which fetches the official plugins itself, none of this is needed.
# Idempotent: a binary is rebuilt only when its module's sources changed; Go's module and build caches are reused.
#   bash scripts/engine.sh        (npm run engine)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.engine/bin"
PULUMI_VERSION="v3.259.0"
mkdir -p "$BIN"

if ! command -v go >/dev/null 2>&1; then
  echo "engine: 'go' is not on PATH. Install Go 1.26+ (https://go.dev/dl), or use the official pulumi CLI and plugins." >&2
  exit 1
fi
export GOFLAGS="${GOFLAGS:--mod=mod}"

# sources_hash <module dir> <package>: changes whenever anything that goes into the binary changes. Our own
# packages: the module's Go files; a dependency's command (the pulumi CLI): only go.mod and go.sum.
sources_hash() {
  local pattern='*.go'
  [[ "$2" == ./* ]] || pattern='go.mod'
  (cd "$1" && find . -type f \( -name "$pattern" -o -name 'go.mod' -o -name 'go.sum' \) ! -name '*_test.go' -print0 | sort -z | xargs -0 sha256sum; go version; echo "$3") | sha256sum | cut -c1-16
}

# build <module dir> <binary> <package> [ldflags]
build() {
  local module="$1" name="$2" package="$3" ldflags="${4:-}"
  local stamp="$BIN/.$name.stamp" hash started
  hash="$(sources_hash "$module" "$package" "$ldflags")"
  if [[ -x "$BIN/$name" && -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then
    echo "engine: $name is up to date"
    return
  fi
  started=$(date +%s)
  echo "engine: building $name (a first build downloads modules and compiles for minutes; later ones take seconds)"
  (cd "$module" && go build -trimpath -ldflags "$ldflags" -o "$BIN/$name" "$package")
  echo "$hash" > "$stamp"
  echo "engine: built $name in $(( $(date +%s) - started ))s"
}

TOOLCHAIN="$ROOT/engine/toolchain"
build "$TOOLCHAIN" pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
  "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"
build "$TOOLCHAIN" pulumi-language-nodejs ./cmd/pulumi-language-nodejs
build "$TOOLCHAIN" pulumi-resource-random ./cmd/pulumi-resource-random
build "$TOOLCHAIN" pulumi-resource-command ./cmd/pulumi-resource-command
build "$ROOT/engine/docker-bridge" pulumi-resource-docker ./cmd/pulumi-resource-docker
echo "engine: ready in $BIN ($("$BIN/pulumi" version))"

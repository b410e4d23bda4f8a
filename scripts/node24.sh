#!/usr/bin/env bash
# Prints the directory holding a Node.js 24 `node` binary, installing it from the npm registry's `node` package into
# .engine/node the first time when the node on PATH is not 24 (no download outside the npm registry).
#   export PATH="$(bash scripts/node24.sh):$PATH"
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="24.21.0"
if [[ "$(node --version 2>/dev/null)" == v24.* ]]; then dirname "$(command -v node)"; exit 0; fi
DIR="$ROOT/.engine/node"
if [[ "$("$DIR/node_modules/.bin/node" --version 2>/dev/null)" != "v$VERSION" ]]; then
  echo "node24: installing node@$VERSION into $DIR" >&2
  mkdir -p "$DIR"
  npm install --prefix "$DIR" --no-save --no-audit --no-fund --loglevel=error "node@$VERSION" >&2
fi
echo "$DIR/node_modules/.bin"

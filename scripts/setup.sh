#!/usr/bin/env bash
# One-time set-up for the dev stack and the end-to-end tests on this machine: a Docker engine, the Pulumi
# toolchain (skipped when the official pulumi CLI is on PATH) and the local images. Each step is idempotent.
#   bash scripts/setup.sh      (npm run setup)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
step() { local started; started=$(date +%s); echo "== setup: $1"; shift; "$@"; echo "== setup: done in $(( $(date +%s) - started ))s"; }
step "Docker engine" bash "$ROOT/scripts/docker-engine.sh"
if command -v pulumi >/dev/null 2>&1 && [[ "$(command -v pulumi)" != "$ROOT/.engine/"* ]]; then
  echo "== setup: using the pulumi CLI on PATH ($(command -v pulumi)); not building .engine/"
else
  step "Pulumi toolchain (.engine/bin)" bash "$ROOT/scripts/engine.sh"
fi
step "local images" bash "$ROOT/scripts/images.sh"

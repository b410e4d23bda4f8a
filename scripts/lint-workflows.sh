#!/usr/bin/env bash
# Lints .github/workflows/ (or the directory given) with actionlint, built from its Go module into .engine/bin on
# first use (no binary download; later runs reuse it). Exit 0 clean, 1 findings or no linter.
#   bash scripts/lint-workflows.sh [<workflows-dir>]      (npm run lint:workflows)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="v1.7.12"
BIN="$ROOT/.engine/bin/actionlint"
DIR="${1:-$ROOT/.github/workflows}"

if [[ ! -x "$BIN" || "$("$BIN" -version 2>/dev/null | head -n1)" != "$VERSION" ]]; then
  if ! command -v go >/dev/null 2>&1; then
    echo "lint-workflows: 'go' is not on PATH; it is needed once to build actionlint $VERSION into $BIN." >&2
    echo "lint-workflows: install Go (https://go.dev/dl) and re-run, or put an actionlint $VERSION binary at $BIN." >&2
    exit 1
  fi
  echo "lint-workflows: building actionlint $VERSION into $BIN (first run only)" >&2
  mkdir -p "$(dirname "$BIN")"
  GOBIN="$(dirname "$BIN")" GOFLAGS=-mod=mod go install "github.com/rhysd/actionlint/cmd/actionlint@$VERSION"
fi

shopt -s nullglob
files=("$DIR"/*.yml "$DIR"/*.yaml)
if (( ${#files[@]} == 0 )); then
  echo "lint-workflows: no workflow files in $DIR" >&2
  exit 1
fi
"$BIN" -no-color "${files[@]}"
echo "lint-workflows: ${#files[@]} workflow(s) clean (actionlint $VERSION)"

#!/usr/bin/env bash
# Lands one image promotion on the platform repo's main branch: the image-published workflow runs it with the
# dispatch's payload in TENANT, SERVICE and IMAGE (docs/promotion.md).
#   TENANT=acme SERVICE=web IMAGE=registry.example.com/acme/web:1.5.0 bash scripts/land-image-change.sh
#   bash scripts/land-image-change.sh --check      only check that the three values are there
# Run inside a clean clone whose remote (LAND_REMOTE, default origin) takes the push. Each attempt starts from the
# remote's newest main, applies the change with `npm run set-image` (which validates it against that tip), commits
# and pushes. A rejected push means another change landed first (a concurrent dispatch, a merged pull request): fetch,
# apply again, retry, up to LAND_ATTEMPTS times. Applying again on the new tip, rather than rebasing the commit, never
# conflicts on neighbouring lines and re-validates the combination.
# Exit 0 landed (or the file already said so: nothing to commit), 1 refused (invalid result, push kept failing),
# 2 bad payload (missing field, unknown tenant or service: set-image's usage errors).
set -euo pipefail
TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REMOTE="${LAND_REMOTE:-origin}"
BRANCH="${LAND_BRANCH:-main}"
ATTEMPTS="${LAND_ATTEMPTS:-10}"

# In a workflow run the messages become annotations, shown on the run's page.
say_error() { if [[ "${GITHUB_ACTIONS:-}" == true ]]; then echo "::error::$1"; else echo "land-image-change: $1" >&2; fi; }

missing=()
for field in tenant service image; do
  variable="${field^^}"
  [[ -n "${!variable:-}" ]] || missing+=("$field")
done
if (( ${#missing[@]} > 0 )); then
  say_error "the dispatch's client_payload lacks ${missing[*]}: it needs tenant, service and image (docs/promotion.md); nothing committed"
  exit 2
fi
if [[ "${1:-}" == --check ]]; then
  echo "payload: tenant=$TENANT service=$SERVICE image=$IMAGE"
  exit 0
fi

REPO="$(git rev-parse --show-toplevel)"
cd "$REPO"
if [[ -n "$(git status --porcelain --untracked-files=no)" ]]; then
  say_error "the clone at $REPO has uncommitted changes; run this in a clean clone"
  exit 1
fi

push_log="$(mktemp)"
trap 'rm -f "$push_log"' EXIT
run_url=""
[[ -n "${GITHUB_RUN_ID:-}" ]] && run_url="${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-}/actions/runs/$GITHUB_RUN_ID"

for (( attempt = 1; ; attempt++ )); do
  git fetch --quiet "$REMOTE" "$BRANCH"
  git checkout --quiet -B "$BRANCH" FETCH_HEAD

  set +e
  output="$("$TOOLS/node_modules/.bin/tsx" "$TOOLS/cli/set-image.ts" --root "$REPO" -- "$TENANT" "$SERVICE" "$IMAGE" 2>&1)"
  status=$?
  set -e
  if (( status != 0 )); then
    while IFS= read -r line; do
      [[ "$line" == usage:* ]] || say_error "$line"
    done <<< "$output"
    say_error "set-image refused $TENANT/$SERVICE = $IMAGE (exit $status); nothing committed"
    exit "$status"
  fi
  summary="$(head -n 1 <<< "$output")"
  changed="$(git diff --name-only)"
  if [[ -z "$changed" ]]; then
    echo "nothing to land: $summary"
    exit 0
  fi
  if [[ "$changed" != tenants/* || "$changed" == *$'\n'* ]]; then
    say_error "set-image changed more than one tenant file: $changed; nothing committed"
    exit 1
  fi

  git commit --quiet -m "Promote $summary" \
    -m "Image published for tenant $TENANT, service $SERVICE (repository_dispatch image-published)${run_url:+: $run_url}" \
    -- "$changed"
  if git push --quiet "$REMOTE" "HEAD:refs/heads/$BRANCH" 2> "$push_log"; then
    echo "landed $(git rev-parse --short HEAD) on $BRANCH: Promote $summary"
    tail -n +2 <<< "$output"
    exit 0
  fi
  reason="$(tr '\n' ' ' < "$push_log")"
  if (( attempt >= ATTEMPTS )); then
    say_error "push to $BRANCH rejected $attempt times (last: $reason); nothing landed"
    exit 1
  fi
  echo "push rejected (another change landed first); applying again on the new tip, attempt $((attempt + 1)) of $ATTEMPTS"
  # Jittered, so runs that collided do not collide again in step.
  sleep "$(( RANDOM % (attempt + 1) + 1 ))"
done

#!/usr/bin/env bash
# A pull request's preview environment, the stack pr-<n> (docs/pipeline.md, "Preview environments"). Run by
# .github/workflows/preview-env.yml from the repository's root:
#   bash scripts/preview-env.sh sync       a push: `preview up` when the pull request adds or changes tenant files
#                                          (vs its merge-base with origin/main); `preview down` when it no longer does
#                                          but an earlier push brought a preview up
#   bash scripts/preview-env.sh teardown   the pull request closed (merged or not): `preview down` if it has a preview
#   bash scripts/preview-env.sh sync|teardown --gate
#                                          before any install or credential: writes run=true|false to $GITHUB_OUTPUT
#                                          (stdout when unset). true when tenant files changed (sync), or when the
#                                          pull request's comment says a preview may be up (`gh api`, needs GH_TOKEN;
#                                          if the comments cannot be read: true). The sweeper removes what this misses.
# Whether pr-<n> exists, and its URLs, come from `npm run preview -- list --json`, never from parsing log lines.
# Environment: PR (the pull request's number), HEAD_SHA (its head commit, named in the comment), RUN_URL (this job's
# log, linked on failure), DOCS_BASE (prefix of links into the repository), BASE_REF (default origin/main).
# Writes preview-env.md, the sticky comment, only when there is something to say: its first line
# `<!-- preview-environment state=up|failed|removed|remove-failed -->` is what --gate reads. Writes
# preview-env-verdict.txt: one line per reason the job fails, empty when it passes. Exit 0 written, 2 usage.
set -uo pipefail

usage() { echo "usage: PR=<n> bash scripts/preview-env.sh sync|teardown [--gate]" >&2; exit 2; }
(( $# == 1 || $# == 2 )) || usage
mode="$1"
[[ "$mode" == sync || "$mode" == teardown ]] || usage
gate=false
if (( $# == 2 )); then [[ "$2" == --gate ]] || usage; gate=true; fi
[[ "${PR:-}" =~ ^[1-9][0-9]*$ ]] || { echo "preview-env: PR must be a pull request number, not '${PR:-}'" >&2; exit 2; }
STACK="pr-$PR"
BASE_REF="${BASE_REF:-origin/main}"
MARKER="<!-- preview-environment"

# Tenant files the pull request adds or changes, one per line. Deleting a tenant leaves nothing to try; a rename
# counts as adding the new file. Exit 1 without a merge-base (a shallow checkout).
changed_tenant_files() {
  local merge_base
  merge_base="$(git merge-base HEAD "$BASE_REF")" || return 1
  git diff --name-only --no-renames --diff-filter=d "$merge_base" HEAD -- ':(glob)tenants/*.yaml' ':(glob)tenants/*.yml'
}

if [[ "$gate" == true ]]; then
  out="${GITHUB_OUTPUT:-/dev/stdout}"
  if [[ "$mode" == sync ]]; then
    if ! files="$(changed_tenant_files)"; then
      echo "preview-env: no merge-base between HEAD and $BASE_REF; running the job, which reports it"
      echo "run=true" >> "$out"; exit 0
    fi
    if [[ -n "$files" ]]; then
      echo "preview-env: tenant files added or changed: ${files//$'\n'/ }"
      echo "run=true" >> "$out"; exit 0
    fi
  fi
  # Nothing to bring up: run only if an earlier run may have left pr-<n> up.
  if ! states="$(gh api --paginate "repos/$GITHUB_REPOSITORY/issues/$PR/comments" \
      --jq ".[].body | select(startswith(\"$MARKER \")) | split(\"\\n\")[0]")"; then
    echo "preview-env: cannot read the pull request's comments; running the job to be safe"
    echo "run=true" >> "$out"; exit 0
  fi
  if [[ -n "$states" ]] && ! grep -qx "$MARKER state=removed -->" <<< "$states"; then
    echo "preview-env: no tenant file to preview, but the comment says $STACK may be up"
    echo "run=true" >> "$out"
  else
    echo "preview-env: no tenant file to preview and no preview environment to remove"
    echo "run=false" >> "$out"
  fi
  exit 0
fi

HEAD_SHA="${HEAD_SHA:-$(git rev-parse HEAD 2>/dev/null)}"
DOCS_BASE="${DOCS_BASE:-}"
RUN_URL="${RUN_URL:-}"
log="the job log${RUN_URL:+ ($RUN_URL)}"

: > preview-env-verdict.txt
rm -f preview-env.md
fail() { echo "$1" >> preview-env-verdict.txt; }

# The CLI; its own output stays in the job log (secrets there are masked, in a comment they would not be).
preview() { npm run -s preview -- "$@"; }

# previews.json: the stacks that exist. Returns 1 (and records why) when they cannot be listed.
list_previews() {
  if ! preview list --json > previews.json || ! jq -e 'type == "array"' previews.json > /dev/null 2>&1; then
    fail "could not list the preview environments (npm run preview -- list --json): see $log"
    return 1
  fi
}
exists() { jq -e --arg s "$STACK" 'any(.[]; .stack == $s)' previews.json > /dev/null; }

# One line per URL of pr-<n>: "tenant: url" when the list maps tenants to URLs, else the URL alone.
urls() {
  jq -r --arg s "$STACK" '
    .[] | select(.stack == $s) | .urls
    | if type == "object" then to_entries[] | "\(.key): \(.value | if type == "array" then join(", ") else tostring end)"
      elif type == "array" then .[] | tostring
      else empty end' previews.json
}

# comment <state>: the sticky comment, its text from stdin.
comment() {
  {
    echo "$MARKER state=$1 -->"
    echo "## Preview environment \`$STACK\`"
    echo
    cat
    echo
    echo "---"
    echo "Each push updates it; closing or merging the pull request removes it ([docs/pipeline.md](${DOCS_BASE}docs/pipeline.md#preview-environments))."
  } > preview-env.md
}

down() {
  local why="$1"
  if preview down --pr "$PR" --base staging; then
    echo "$why: its preview environment was removed (containers, networks, volumes and the stack)." | comment removed
  else
    fail "the preview environment $STACK could not be removed (npm run preview -- down exited non-zero): see $log"
    echo "**❌ $why, but removing its preview environment failed:** see $log. The next run or the sweeper retries." \
      | comment remove-failed
  fi
}

if [[ "$mode" == teardown ]]; then
  list_previews || exit 0
  if exists; then down "This pull request was closed"; else echo "preview-env: no stack $STACK, nothing to remove"; fi
  exit 0
fi

# sync
if ! changed="$(changed_tenant_files)"; then
  fail "no merge-base between HEAD and $BASE_REF: the checkout needs the full history (fetch-depth: 0)"
  exit 0
fi
if [[ -z "$changed" ]]; then
  echo "preview-env: this pull request adds or changes no tenant file"
  list_previews || exit 0
  if exists; then down "This pull request no longer adds or changes a tenant file"; fi
  exit 0
fi

echo "preview-env: tenant files added or changed: ${changed//$'\n'/ }"
if ! preview up --pr "$PR" --base staging; then
  fail "the preview environment $STACK failed (npm run preview -- up exited non-zero; its message names the tenant and the step): see $log"
  echo "**❌ Bringing it up at $HEAD_SHA failed.** The job log names the tenant and the step: $log." | comment failed
  exit 0
fi
if ! list_previews; then
  echo "Up at $HEAD_SHA, but its URLs could not be listed: see $log." | comment up
  exit 0
fi
mapfile -t lines < <(urls)
{
  echo "Up at $HEAD_SHA on the staging hosts, with the tenants this pull request adds or changes (staging's view of"
  echo "them, staging's secrets, fresh empty databases):"
  echo
  if (( ${#lines[@]} == 0 )); then echo "_No URL: none of its services is routed._"; fi
  for line in "${lines[@]}"; do echo "- $line"; done
} | comment up
exit 0

#!/usr/bin/env bash
# The pull request's sticky comment and the verdict of its `pulumi preview` check, from the previews in the current
# directory: preview-<stack>.json (`pulumi preview --json`) and preview-<stack>.rc (its exit code).
#   bash scripts/preview-comment.sh <stack>...
# Writes comment.md (also appended to $GITHUB_STEP_SUMMARY when set) and verdict.txt: one line per reason the check
# fails, empty when it passes. Environment:
#   HEAD_SHA      the pull request's head commit: the one an acknowledgement covers
#   ACKNOWLEDGED  "true" when the label dangerous-change-ok is on the pull request and no push came after it
#   WITHDRAWN     "true" when this run's push removed the label (it covered an earlier commit)
#   DOCS_BASE     prefix for links into the repository's files at HEAD_SHA
# Exit 0 written (whatever the verdict), 2 usage.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LABEL="dangerous-change-ok"
if (( $# == 0 )); then
  echo "usage: bash scripts/preview-comment.sh <stack>..." >&2
  exit 2
fi
: "${HEAD_SHA:?HEAD_SHA must name the previewed commit}"
ACKNOWLEDGED="${ACKNOWLEDGED:-false}"
WITHDRAWN="${WITHDRAWN:-false}"
DOCS_BASE="${DOCS_BASE:-}"

: > verdict.txt
dangerous=()
for stack in "$@"; do
  rc="$(cat "preview-$stack.rc" 2>/dev/null || echo missing)"
  # --fail-on-danger still prints the summary: exit 0 nothing dangerous, 1 dangerous, 2 unreadable.
  npm --prefix "$ROOT" run -s summarize -- --fail-on-danger --docs-base "$DOCS_BASE" "$PWD/preview-$stack.json" \
    > "summary-$stack.md" 2> "summarize-$stack.err"
  summarized=$?
  if (( summarized == 2 )); then
    {
      echo "### Pulumi preview: stack \`$stack\`"
      echo
      echo "**❌ The preview of $stack produced no readable result** (\`$(head -n1 "summarize-$stack.err")\`). See the job log."
      echo
    } > "summary-$stack.md"
  fi
  if [[ "$rc" != 0 ]]; then
    echo "the preview of $stack failed (pulumi preview exited $rc): see the pull-request comment" >> verdict.txt
  elif (( summarized == 2 )); then
    echo "the preview of $stack produced no readable result: see the job log" >> verdict.txt
  elif (( summarized == 1 )); then
    # A failed preview applies nothing, so only a successful one can plan something dangerous.
    dangerous+=("$stack")
  fi
done

# `staging`, `production`
stacks_list() { local out="" stack; for stack in "$@"; do out+="${out:+, }\`$stack\`"; done; echo "$out"; }

{
  echo "<!-- platform-preview -->"
  echo "## What this pull request does to the stacks"
  echo
  echo "Previewed at $HEAD_SHA (merged with \`main\`)."
  echo
  if (( ${#dangerous[@]} > 0 )); then
    where="$(stacks_list "${dangerous[@]}")"
    if [[ "$ACKNOWLEDGED" == true ]]; then
      echo "**⚠ Dangerous changes in $where: acknowledged for commit $HEAD_SHA** with the label \`$LABEL\`."
      echo "The acknowledgement covers this commit only: the next push removes the label."
    else
      if [[ "$WITHDRAWN" == true ]]; then
        echo "**⚠ Dangerous changes in $where need a new acknowledgement.** The label \`$LABEL\` covered an earlier"
        echo "commit and was removed when $HEAD_SHA was pushed."
      else
        echo "**⚠ Dangerous changes in $where are not acknowledged**, so the \`pulumi preview\` check fails."
      fi
      echo "A reviewer who has read the dangerous changes below adds the label \`$LABEL\`: it acknowledges commit"
      echo "$HEAD_SHA only, and every later push removes it."
    fi
    echo
  elif [[ "$WITHDRAWN" == true ]]; then
    echo "The label \`$LABEL\` covered an earlier commit and was removed when $HEAD_SHA was pushed; this commit plans"
    echo "nothing dangerous."
    echo
  fi
  for stack in "$@"; do cat "summary-$stack.md"; done
  echo "---"
  echo "After merge: \`pulumi up\` on **staging**, then a preview of **production** that a reviewer approves (the \`production\` environment) before exactly that plan is applied ([docs/pipeline.md](${DOCS_BASE}docs/pipeline.md))."
} > comment.md

if (( ${#dangerous[@]} > 0 )) && [[ "$ACKNOWLEDGED" != true ]]; then
  echo "dangerous changes planned in ${dangerous[*]} and not acknowledged for $HEAD_SHA: a reviewer who has read the pull-request comment adds the label $LABEL" >> verdict.txt
fi

[[ -n "${GITHUB_STEP_SUMMARY:-}" ]] && cat comment.md >> "$GITHUB_STEP_SUMMARY"
# GitHub rejects comments over 65536 characters; the run's summary keeps the whole text.
if (( $(wc -c < comment.md) > 60000 )); then
  head -c 60000 comment.md > comment.tmp
  printf '\n\n</details>\n\n_Truncated: the full summary is on the workflow run page._\n' >> comment.tmp
  mv comment.tmp comment.md
fi
exit 0

#!/usr/bin/env bash
# Checks the payload of an application repository's repository_dispatch before anything is installed or run
# (.github/workflows/preview-app.yml; docs/pipeline.md, "Application repositories"). Fields (fixed):
#   preview-requested  tenant, service, image, repo, pr
#   preview-closed     tenant, service, repo, pr          (an `image` sent along is ignored)
# Only the shape is checked here (present, a string, no whitespace, pr a number, repo a repository's name):
# whether the tenant and the service exist, and whether the image is a valid reference, `npm run preview` decides.
# Environment: EVENT (the dispatch type), PAYLOAD (client_payload as JSON). Prints one ::error:: line per problem.
# On success writes stack=app-<repo>-pr-<pr> to $GITHUB_OUTPUT (stdout when unset). Exit 0 valid, 1 invalid.
set -uo pipefail

case "${EVENT:-}" in
  preview-requested) fields='["tenant","service","image","repo","pr"]' ;;
  preview-closed) fields='["tenant","service","repo","pr"]' ;;
  *)
    echo "::error::unknown dispatch type '${EVENT:-}': this workflow handles preview-requested and preview-closed"
    exit 1
    ;;
esac

if ! jq -e 'type == "object"' <<< "${PAYLOAD:-}" > /dev/null 2>&1; then
  echo "::error::the $EVENT dispatch has no client_payload object: send {\"client_payload\": {$(jq -r 'map("\"\(.)\": …") | join(", ")' <<< "$fields")}}"
  exit 1
fi

# \A and \z: Oniguruma's ^ and $ match at any line, and a value with a newline must not pass.
rules='{
  "tenant":  {"re": "\\A[a-z0-9][a-z0-9-]*\\z", "about": "the tenant'"'"'s name, as in tenants/<tenant>.yaml"},
  "service": {"re": "\\A[a-z0-9][a-z0-9-]*\\z", "about": "the name of one of the tenant'"'"'s services"},
  "image":   {"re": "\\A[^\\s-]\\S*\\z",        "about": "the image reference to run, e.g. ghcr.io/acme/shop:1.4.2 or ghcr.io/acme/shop@sha256:…"},
  "repo":    {"re": "\\A([A-Za-z0-9._][A-Za-z0-9._-]*/)?[A-Za-z0-9._][A-Za-z0-9._-]*\\z", "about": "the application repository, its name or owner/name, e.g. shop-api"},
  "pr":      {"re": "\\A[1-9][0-9]*\\z",        "about": "the application pull request'"'"'s number"}
}'

# A jq failure must not read as "no problem".
if ! problems="$(jq -r --argjson fields "$fields" --argjson rules "$rules" '
  . as $p
  | ($fields[] as $k
      | if ($p | has($k) | not) or $p[$k] == null then "missing field \($k) (\($rules[$k].about))"
        else ($p[$k] | if type == "string" then . elif type == "number" then tostring else null end) as $v
        | if $v == null then "field \($k) must be a string, got \($p[$k] | type) (\($rules[$k].about))"
          elif ($v | test($rules[$k].re) | not) then "field \($k) is \($v | @json), not \($rules[$k].about)"
          else empty end
        end),
    ($p | keys_unsorted[] | select(. as $k | $rules | has($k) | not) | "unknown field \(@json): the fields are \($fields | join(", "))")
' <<< "$PAYLOAD")"; then
  echo "::error::$EVENT payload: could not be checked (jq failed): the run stops here"
  exit 1
fi

if [[ -n "$problems" ]]; then
  while IFS= read -r problem; do echo "::error::$EVENT payload: $problem"; done <<< "$problems"
  exit 1
fi
echo "$EVENT payload: $(jq -c --argjson fields "$fields" 'with_entries(select(.key as $k | $fields | index($k)))' <<< "$PAYLOAD")"
# The stack, named as npm run preview names it (model/preview-stack.ts: previewStackName, dnsSafeRepo), for the
# step that lists its URLs.
stack="$(jq -r '"app-" + (.repo | tostring | split("/") | last | ascii_downcase | gsub("[^a-z0-9]+"; "-")
  | sub("^-+"; "") | sub("-+$"; "")) + "-pr-" + (.pr | tostring)' <<< "$PAYLOAD")"
if [[ -n "${GITHUB_OUTPUT:-}" ]]; then echo "stack=$stack" >> "$GITHUB_OUTPUT"; else echo "stack=$stack"; fi

#!/usr/bin/env bash
# Run by every workflow job that calls `pulumi`, before it does. Checks that the job received what
# docs/pipeline.md ("Secrets and variables") lists for the chosen state backend, names every value that is missing
# (a first run otherwise fails deep inside pulumi or ssh), then installs the Docker hosts' SSH key and known hosts.
#   PULUMI_BACKEND_URL=s3://…  needs AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and a region (AWS_REGION or region=…)
#   PULUMI_BACKEND_URL unset or https://…  (Pulumi Cloud, or a self-hosted Pulumi Cloud) needs PULUMI_ACCESS_TOKEN
#   always: PULUMI_CONFIG_PASSPHRASE, DEPLOY_SSH_KEY, SSH_KNOWN_HOSTS
# Values are never printed. Exit 0 ready, 1 something missing (nothing written).
set -euo pipefail

missing=()
need() { [[ -n "${!1:-}" ]] || missing+=("$1 ($2)"); }

backend="${PULUMI_BACKEND_URL:-}"
case "$backend" in
  s3://*)
    need AWS_ACCESS_KEY_ID "secret: access key for the state bucket"
    need AWS_SECRET_ACCESS_KEY "secret: its secret key"
    if [[ -z "${AWS_REGION:-}" && "$backend" != *region=* ]]; then
      missing+=("AWS_REGION (variable: the bucket's region; or region=<region> in PULUMI_BACKEND_URL)")
    fi
    where="S3 state backend $backend${AWS_ENDPOINT_URL_S3:+ at $AWS_ENDPOINT_URL_S3}"
    ;;
  "" | https://*)
    need PULUMI_ACCESS_TOKEN "secret: Pulumi Cloud access token; or set the variable PULUMI_BACKEND_URL to an s3:// backend"
    where="Pulumi Cloud${backend:+ at $backend}"
    ;;
  *)
    where="state backend $backend (its credentials are not checked here)"
    ;;
esac
need PULUMI_CONFIG_PASSPHRASE "secret: the stacks' passphrase"
need DEPLOY_SSH_KEY "secret: private key of the deploy user on the Docker hosts"
need SSH_KNOWN_HOSTS "secret: the Docker hosts' public keys, ssh-keyscan output checked out of band"

if (( ${#missing[@]} > 0 )); then
  for value in "${missing[@]}"; do
    echo "::error::missing ${value}: set it in the repository or in this job's environment (docs/pipeline.md, \"Secrets and variables\")"
  done
  exit 1
fi

install -m 700 -d "$HOME/.ssh"
(umask 077 && printf '%s\n' "$DEPLOY_SSH_KEY" > "$HOME/.ssh/id_ed25519")
printf '%s\n' "$SSH_KNOWN_HOSTS" > "$HOME/.ssh/known_hosts"
echo "credentials: $where; SSH key and $(grep -cv '^\s*\(#\|$\)' "$HOME/.ssh/known_hosts") known-hosts line(s) installed"

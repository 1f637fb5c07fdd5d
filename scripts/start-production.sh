#!/usr/bin/env bash
# Start the service in production mode: check every setting at once, migrate, start the Procfile.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/start-production.sh [--env-file FILE] [--check] [-h|--help]

Starts the service in production mode (SERVICE_MODE=production), also `make run-production`:
  1. reads FILE (default deploy/production.env; start from deploy/production.env.example);
     its values win over the environment's
  2. checks every process's settings at once (python -m contracts.deployment check) and exits
     with status 2 and the list of what to fix: demo settings (DEV_TRUST_SENDER,
     PORTAL_DEV_LOGIN, the dev REST channel), missing/default/placeholder/short secrets, the
     offline payment gateway without ALLOW_OFFLINE_PAYMENTS=true
  3. .venv/bin/python -m backend migrate
  4. .venv/bin/honcho start -f Procfile (backend, actions, rasa, dispatcher; each checks again at its start)
Options: --check stops after step 2. No demo data is seeded and nothing is trained: put a
trained model in RASA_MODEL (default models/, `make train`). Needs `make setup` once.
USAGE
}

cd "$(dirname "${BASH_SOURCE[0]}")/.."
env_file=deploy/production.env
check_only=false
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --env-file) env_file="${2:?--env-file needs a file}"; shift 2 ;;
    --check) check_only=true; shift ;;
    *) usage >&2; exit 2 ;;
  esac
done
if [[ ! -f "$env_file" ]]; then
  echo "==> production: $env_file is missing: copy deploy/production.env.example there and" \
       "replace every replace-me value (README \"Deploying\")." >&2
  exit 2
fi
set -a
# shellcheck disable=SC1090
. "$env_file"
set +a
export SERVICE_MODE=production RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2
export RASA_CREDENTIALS="${RASA_CREDENTIALS:-deploy/credentials.yml}"

echo "==> production: checking the settings of $env_file"
.venv-rasa/bin/python -m contracts.deployment check --credentials "$RASA_CREDENTIALS"
$check_only && exit 0
echo "==> production: migrating the database"
.venv/bin/python -m backend --log-level warning migrate
echo "==> production: starting backend, actions, rasa and the dispatcher with honcho"
exec .venv/bin/honcho start -f Procfile backend actions rasa dispatcher

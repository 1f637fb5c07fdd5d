#!/usr/bin/env bash
# Prepare the database, the demo data and the model, then start every process with honcho.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/run.sh [-h|--help]

Normally started by `make run` (which first runs `make setup`). This is the DEVELOPMENT mode
(one machine, demo sign-ins); production starts with scripts/start-production.sh. Steps:
  0. data/dev-secrets.env: random secrets of this checkout, made on the first run (mode 0600),
     exported unless the environment sets them (python -m contracts.deployment dev-secrets)
  1. .venv/bin/python -m backend migrate        (database schema)
  2. .venv/bin/python -m backend seed --demo    (demo organisation, users, therapists; idempotent)
  3. scripts/train.sh                           (skipped when the bot's inputs are unchanged)
  4. .venv/bin/python -m backend demo-identities (prints how to chat as each demo user)
  5. .venv/bin/honcho start -f Procfile         (backend, actions, rasa, dispatcher: scripts/start.py)
While they start, scripts/announce-ready.py prints one line as each one is ready. Deprecation
warnings of third-party code are hidden (scripts/start.py: scripts/without-deprecations.py), as are
some chatty third-party loggers (logging.yml). Ctrl-C stops every process.
USAGE
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; exit 2 ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2
# `make run` is the one-machine demo: the dev REST channel trusts sender ids as identities and the
# portal offers a sign-in as any demo person. Both are off unless set, and must stay off in
# production (real channels verify who is speaking). Override by exporting them as false.
export DEV_TRUST_SENDER="${DEV_TRUST_SENDER:-true}" PORTAL_DEV_LOGIN="${PORTAL_DEV_LOGIN:-true}"
mkdir -p data models
export SERVICE_MODE=development

# Per-checkout secrets instead of public defaults; a variable already set in the environment wins.
.venv/bin/python -m contracts.deployment dev-secrets data/dev-secrets.env
while IFS='=' read -r name value; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  [[ -n "${!name:-}" ]] || export "$name=$value"
done < data/dev-secrets.env

echo "==> run: migrating the database (python -m backend migrate)"
.venv/bin/python -m backend --log-level warning migrate   # without alembic's INFO lines
echo "==> run: seeding demo data (python -m backend seed --demo)"
.venv/bin/python -m backend seed --demo

scripts/train.sh

echo "==> run: DEVELOPMENT mode, not for real people (DEV_TRUST_SENDER=$DEV_TRUST_SENDER," \
     "PORTAL_DEV_LOGIN=$PORTAL_DEV_LOGIN; production: scripts/start-production.sh)"
echo "==> run: demo identities"
.venv/bin/python -m backend demo-identities
echo
echo "==> run: starting backend, actions, rasa and the dispatcher with honcho (Rasa takes a minute or more to load its model)"
# The addresses of the processes' settings (README "Configuration").
.venv-rasa/bin/python scripts/announce-ready.py \
  --backend "http://${BACKEND_HOST:-127.0.0.1}:${BACKEND_PORT:-8000}" \
  --actions "http://${ACTION_SERVER_HOST:-127.0.0.1}:${ACTION_SERVER_PORT:-5055}" \
  --rasa "http://${RASA_INTERFACE:-127.0.0.1}:${RASA_PORT:-5005}" \
  --dispatcher "http://${DISPATCHER_HOST:-127.0.0.1}:${DISPATCHER_PORT:-8010}" \
  --credentials "${RASA_CREDENTIALS:-credentials.yml}" &
exec .venv/bin/honcho start -f Procfile backend actions rasa dispatcher

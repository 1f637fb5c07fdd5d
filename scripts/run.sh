#!/usr/bin/env bash
# Prepare the database, the demo data and the model, then start every process with honcho.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/run.sh [-h|--help]

Normally started by `make run` (which first runs `make setup`). Steps:
  1. .venv/bin/python -m backend migrate        (database schema)
  2. .venv/bin/python -m backend seed --demo    (demo organisation, users, therapists; idempotent)
  3. scripts/train.sh                           (only when bot/domain.yml exists; skipped if unchanged)
  4. .venv/bin/python -m backend demo-identities (prints how to chat as each demo user)
  5. .venv/bin/honcho start -f Procfile         (backend, and with the bot: actions + rasa)
Ctrl-C stops every process.
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

echo "==> run: migrating the database (python -m backend migrate)"
.venv/bin/python -m backend migrate
echo "==> run: seeding demo data (python -m backend seed --demo)"
.venv/bin/python -m backend seed --demo

processes=(backend)
if [ -f bot/domain.yml ]; then
  scripts/train.sh
  processes+=(actions rasa)
else
  echo "==> run: bot/domain.yml does not exist yet; starting the backend only"
fi

echo "==> run: development mode (DEV_TRUST_SENDER=$DEV_TRUST_SENDER, PORTAL_DEV_LOGIN=$PORTAL_DEV_LOGIN)"
echo "==> run: demo identities"
.venv/bin/python -m backend demo-identities
echo
echo "==> run: starting ${processes[*]} with honcho (Ctrl-C stops everything)"
exec .venv/bin/honcho start -f Procfile "${processes[@]}"

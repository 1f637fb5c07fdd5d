#!/usr/bin/env bash
# Prepare the database, the demo data and the model, then start every process with honcho.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/run.sh [--scaled] [-h|--help]

Normally started by `make run` (which first runs `make setup`). This is the DEVELOPMENT mode
(one machine, demo sign-ins); production starts with scripts/start-production.sh.

--scaled (`make run-scaled`): the scale-out on one machine. PostgreSQL for the backend and Rasa's
conversations, Redis for Rasa's conversation locks, every shared counter and dedupe set and the
Slack and Teams inbox (a message one Rasa server dropped, the other takes over), and two
backends, two action servers and two Rasa servers behind HAProxy (deploy/haproxy.cfg,
Procfile.scaled), which listens where `make run` does. Settings (defaults):
  SCALED_POSTGRES  postgresql+psycopg://postgres@127.0.0.1:5432   server of both databases
  SCALED_DATABASE  therapy          the backend's database (DATABASE_URL wins)
  SCALED_TRACKER_DATABASE  therapy_tracker   Rasa's conversations
  SCALED_REDIS_URL redis://127.0.0.1:6379/0
  BACKEND_1_PORT/BACKEND_2_PORT 8001/8002, ACTIONS_1_PORT/ACTIONS_2_PORT 5056/5057,
  RASA_1_PORT/RASA_2_PORT 5006/5007: where each server listens (127.0.0.1)
Steps:
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

scaled=0
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  --scaled) scaled=1 ;;
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

procfile=Procfile
processes=(backend actions rasa dispatcher)
if [ "$scaled" = 1 ]; then
  # One address per kind of process, as in `make run`, served by HAProxy.
  export SCALED_BIND="${SCALED_BIND:-127.0.0.1}" BACKEND_PORT="${BACKEND_PORT:-8000}" \
    ACTION_SERVER_PORT="${ACTION_SERVER_PORT:-5055}" RASA_PORT="${RASA_PORT:-5005}" \
    BACKEND_1_PORT="${BACKEND_1_PORT:-8001}" BACKEND_2_PORT="${BACKEND_2_PORT:-8002}" \
    ACTIONS_1_PORT="${ACTIONS_1_PORT:-5056}" ACTIONS_2_PORT="${ACTIONS_2_PORT:-5057}" \
    RASA_1_PORT="${RASA_1_PORT:-5006}" RASA_2_PORT="${RASA_2_PORT:-5007}"
  postgres="${SCALED_POSTGRES:-postgresql+psycopg://postgres@127.0.0.1:5432}"
  redis="${SCALED_REDIS_URL:-redis://127.0.0.1:6379/0}"
  export DATABASE_URL="${DATABASE_URL:-$postgres/${SCALED_DATABASE:-therapy}}"
  export RASA_TRACKER_URL="${RASA_TRACKER_URL:-$postgres/${SCALED_TRACKER_DATABASE:-therapy_tracker}}"
  tracker_url="$RASA_TRACKER_URL"
  export RASA_LOCK_STORE_URL="${RASA_LOCK_STORE_URL:-$redis}" \
    CHAT_LIMITS_REDIS_URL="${CHAT_LIMITS_REDIS_URL:-$redis}" \
    SLACK_DEDUPE_REDIS_URL="${SLACK_DEDUPE_REDIS_URL:-$redis}" \
    CHAT_INBOX_REDIS_URL="${CHAT_INBOX_REDIS_URL:-$redis}" \
    CHAT_PUSH_REDIS_URL="${CHAT_PUSH_REDIS_URL:-$redis}" \
    BACKEND_URL="${BACKEND_URL:-http://127.0.0.1:$BACKEND_PORT}" \
    ACTION_SERVER_URL="${ACTION_SERVER_URL:-http://127.0.0.1:$ACTION_SERVER_PORT/webhook}" \
    PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://127.0.0.1:$BACKEND_PORT}" \
    RASA_SOCKET_URL="${RASA_SOCKET_URL:-http://127.0.0.1:$RASA_PORT}"
  scripts/ensure-haproxy.sh >/dev/null
  echo "==> run: SCALED: PostgreSQL ($DATABASE_URL, tracker $tracker_url), Redis ($redis), two of each process behind HAProxy"
  .venv/bin/python scripts/ensure-databases.py "$DATABASE_URL" "$tracker_url"
  procfile=Procfile.scaled
  processes=(backend-1 backend-2 actions-1 actions-2 rasa-1 rasa-2 dispatcher balancer)
fi

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
echo "==> run: starting ${processes[*]} with honcho (Rasa takes a minute or more to load its model)"
# The addresses of the processes' settings (README "Configuration").
dispatcher="http://${DISPATCHER_HOST:-127.0.0.1}:${DISPATCHER_PORT:-8010}"
if [ "$scaled" = 1 ]; then
  local_url() { printf 'http://127.0.0.1:%s ' "$@"; }
  .venv-rasa/bin/python scripts/announce-ready.py \
    --backend $(local_url "$BACKEND_1_PORT" "$BACKEND_2_PORT") \
    --actions $(local_url "$ACTIONS_1_PORT" "$ACTIONS_2_PORT") \
    --rasa $(local_url "$RASA_1_PORT" "$RASA_2_PORT") \
    --dispatcher "$dispatcher" \
    --balancer "$SCALED_BIND: backend $BACKEND_PORT, actions $ACTION_SERVER_PORT, rasa $RASA_PORT" \
    --credentials "${RASA_CREDENTIALS:-credentials.yml}" &
else
  .venv-rasa/bin/python scripts/announce-ready.py \
    --backend "http://${BACKEND_HOST:-127.0.0.1}:${BACKEND_PORT:-8000}" \
    --actions "http://${ACTION_SERVER_HOST:-127.0.0.1}:${ACTION_SERVER_PORT:-5055}" \
    --rasa "http://${RASA_INTERFACE:-127.0.0.1}:${RASA_PORT:-5005}" \
    --dispatcher "$dispatcher" \
    --credentials "${RASA_CREDENTIALS:-credentials.yml}" &
fi
exec .venv/bin/honcho start -f "$procfile" "${processes[@]}"

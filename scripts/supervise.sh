#!/usr/bin/env bash
# Keep one process running: start it again when it dies, as a service manager would.
set -u

usage() {
  cat <<'USAGE'
Usage: scripts/supervise.sh COMMAND [ARGS...]

Runs COMMAND and, whenever it exits (a crash, a kill), says so and starts it again after
SUPERVISE_RESTART_SECONDS (default 1). SIGTERM or SIGINT stops COMMAND (SIGTERM) and then this
script. Used by Procfile.scaled (`make run-scaled`), where honcho would otherwise stop every
process when one of them dies; in a real cluster the orchestrator restarts processes instead.
USAGE
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") usage >&2; exit 2 ;;
esac

child=0
stop() {
  trap - TERM INT
  if [ "$child" != 0 ]; then
    kill -TERM "$child" 2>/dev/null
    wait "$child"
  fi
  exit 0
}
trap stop TERM INT

while true; do
  "$@" &
  child=$!
  wait "$child"
  status=$?
  echo "supervise: '$*' exited with status $status; starting it again" >&2
  sleep "${SUPERVISE_RESTART_SECONDS:-1}" &
  wait $!
done

#!/usr/bin/env bash
# Train the Rasa model into models/ when the bot's inputs changed since the last training.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/train.sh [--force] [--skip-validation] [-h|--help]

Trains with rasa train (config.yml, bot/domain.yml, bot/data/, and the risk
detector's bot/safety/: data and code) into models/, but only when those inputs (or requirements/rasa.lock) changed since the last successful training:
a SHA-256 of their contents is kept in models/.inputs.sha256. --force trains anyway.
--skip-validation leaves out rasa train's check of the domain and data (make test has just run
the same check, `rasa data validate`).
Older models are removed after a successful training (models/ keeps the newest only).
USAGE
}

force=0
validation=()
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    --force) force=1 ;;
    --skip-validation) validation=(--skip-validation) ;;
    *) usage >&2; exit 2 ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2

for f in config.yml bot/domain.yml bot/data; do
  [ -e "$f" ] || { echo "error: $f is missing" >&2; exit 1; }
done
[ -x .venv-rasa/bin/rasa ] || { echo "error: .venv-rasa is not set up; run 'make setup'" >&2; exit 1; }

# Hash of every training input: file names and contents, in a stable order.
inputs_hash() {
  { printf '%s\n' config.yml bot/domain.yml requirements/rasa.lock
    find bot/data bot/safety -type f ! -name '.*' ! -name '*.pyc' | LC_ALL=C sort
  } | while IFS= read -r f; do printf '%s\n' "$f"; sha256sum < "$f"; done | sha256sum | cut -d' ' -f1
}

mkdir -p models
stamp=models/.inputs.sha256
hash="$(inputs_hash)"
latest="$(ls -t models/*.tar.gz 2>/dev/null | head -n1 || true)"
if [ "$force" = 0 ] && [ -n "$latest" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$hash" ]; then
  echo "==> train: model up to date ($latest); inputs unchanged"
  exit 0
fi

echo "==> train: training the Rasa model (config.yml, bot/domain.yml, bot/data/) into models/ ..."
start=$SECONDS
rm -f "$stamp"
# bot.rasa_server: `rasa train` with the Rasa server's changes (the model packed faster).
.venv-rasa/bin/python scripts/without-deprecations.py bot.rasa_server train --domain bot/domain.yml --data bot/data --config config.yml --out models "${validation[@]}"
latest="$(ls -t models/*.tar.gz | head -n1)"
# Keep only the newest model so `rasa run --model models` and disk use stay obvious.
ls -t models/*.tar.gz | tail -n +2 | xargs -r rm -f
echo "$hash" > "$stamp"
echo "==> train: done in $((SECONDS - start)) s -> $latest"

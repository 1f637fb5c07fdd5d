#!/usr/bin/env bash
# Regenerate requirements/*.lock from requirements/*.in with uv (fully pinned, Python 3.10).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/lock.sh [--upgrade] [-h|--help]

Runs `uv pip compile --python-version 3.10 --override requirements/overrides.txt` for
  requirements/dev.in  -> requirements/dev.lock   (.venv)
  requirements/rasa.in -> requirements/rasa.lock  (.venv-rasa)
Without --upgrade, versions already in a lock are kept where the .in files still allow them
(so adding one package changes little); with --upgrade everything moves to the newest allowed.
Needs .venv (for its uv); `make lock` / `make lock UPGRADE=1` set it up first.
Commit the changed lock files; the next `make setup` syncs the environments to them.
USAGE
}

upgrade=()
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    --upgrade) upgrade=(--upgrade) ;;
    *) usage >&2; exit 2 ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export UV_PYTHON_DOWNLOADS=never
[ -x .venv/bin/uv ] || { echo "error: .venv/bin/uv missing; run 'make setup' first" >&2; exit 1; }

for name in dev rasa; do
  echo "==> locking requirements/$name.in -> requirements/$name.lock ${upgrade[*]}"
  .venv/bin/uv pip compile --quiet --python-version 3.10 --custom-compile-command "make lock" \
    --override requirements/overrides.txt "${upgrade[@]}" "requirements/$name.in" -o "requirements/$name.lock"
done
git diff --stat -- requirements/ 2>/dev/null || true

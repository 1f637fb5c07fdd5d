#!/usr/bin/env bash
# Create (if needed) and sync one of the project's two Python 3.10 environments with its lock file.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/setup-env.sh dev|rasa [-h|--help]

  dev   .venv       backend, action server (rasa-sdk), dev tools   <- requirements/dev.lock
  rasa  .venv-rasa  Rasa server only (rasa + this repo's channels/) <- requirements/rasa.lock

Creates the environment with Python 3.10 (found by scripts/find-python.sh) when it is missing or
broken, installs exactly what the lock file lists with `uv pip sync` (anything else is removed),
adds a .pth file putting the repository root on sys.path (so `channels`, `backend`, `bot` import),
and touches <env>/.synced. Normally run by `make setup`, which calls it only when the lock changed.
Environment: PYTHON310=/path/to/python3.10 to choose the interpreter.
USAGE
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  dev) venv=.venv; lock=requirements/dev.lock ;;
  rasa) venv=.venv-rasa; lock=requirements/rasa.lock ;;
  *) usage >&2; exit 2 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export UV_PYTHON_DOWNLOADS=never   # never fetch an interpreter; use the one we found
say() { printf '==> [%s] %s\n' "$venv" "$*"; }

[ -f "$lock" ] || { echo "error: $lock is missing (run 'make lock')" >&2; exit 1; }

# True when $1/bin/python runs and is Python 3.10.
env_ok() {
  [ -x "$1/bin/python" ] && "$1/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null
}

start=$SECONDS
uv_version="$(sed -n 's/^uv==\([^ ;]*\).*/\1/p' requirements/dev.lock)"
[ -n "$uv_version" ] || { echo "error: requirements/dev.lock does not pin uv" >&2; exit 1; }

if [ "$venv" = .venv ]; then
  if ! env_ok .venv; then
    py="$(scripts/find-python.sh)"
    say "creating with $py"
    rm -rf .venv
    "$py" -m venv .venv
  fi
  if [ "$(.venv/bin/uv --version 2>/dev/null | awk '{print $2}')" != "$uv_version" ]; then
    say "installing uv==$uv_version with pip"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$uv_version"
  fi
  uv=.venv/bin/uv
else
  # The Rasa environment is made with the uv of .venv.
  if ! [ -x .venv/bin/uv ]; then
    say ".venv has no uv yet; setting up .venv first"
    "$0" dev
  fi
  uv=.venv/bin/uv
  if ! env_ok .venv-rasa; then
    py="$(scripts/find-python.sh)"
    say "creating with $py"
    rm -rf .venv-rasa
    "$uv" venv --quiet -p "$py" .venv-rasa
  fi
fi

say "syncing with $lock (uv pip sync; the first time this downloads packages, Rasa's are ~1 GB)"
# Bytecode is compiled here, once (10-15 s for .venv-rasa): where Python may not write it
# (PYTHONDONTWRITEBYTECODE, a read-only image), every process would compile what it imports
# again, 6-9 s for Rasa and TensorFlow at each start of a server, a training or a test.
"$uv" pip sync --compile-bytecode --python "$venv/bin/python" "$lock"

# Put the repository root on the environment's sys.path (appended, after site-packages).
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
printf '%s\n' "$root" > "$site/therapy_assistant_repo.pth"

touch "$venv/.synced"
say "ready in $((SECONDS - start)) s"

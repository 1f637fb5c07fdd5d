#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter (the version this project runs on).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/find-python.sh [-h|--help]

Prints the absolute path of a working Python 3.10 interpreter and exits 0.
Looks, in order, at:
  1. $PYTHON310 (if set)
  2. python3.10 on PATH (a pyenv shim that is not active counts as missing)
  3. $(pyenv root)/versions/3.10.*/bin/python
  4. $HOME/.pyenv/versions/3.10.*/bin/python
Exits 1 with instructions when none is found.
USAGE
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; exit 2 ;;
esac

# Succeeds (and prints the interpreter's real path) when $1 runs and is Python 3.10.
check() {
  local exe="$1"
  [ -n "$exe" ] || return 1
  "$exe" -c 'import sys; assert sys.version_info[:2] == (3, 10); print(sys.executable)' 2>/dev/null
}

candidates=()
[ -n "${PYTHON310:-}" ] && candidates+=("$PYTHON310")
if command -v python3.10 >/dev/null 2>&1; then
  candidates+=("$(command -v python3.10)")
fi
if command -v pyenv >/dev/null 2>&1; then
  root="$(pyenv root 2>/dev/null || true)"
  if [ -n "$root" ]; then
    # Newest 3.10.x first.
    while IFS= read -r p; do candidates+=("$p"); done < <(ls -d "$root"/versions/3.10.*/bin/python 2>/dev/null | sort -rV)
  fi
fi
while IFS= read -r p; do candidates+=("$p"); done < <(ls -d "$HOME"/.pyenv/versions/3.10.*/bin/python 2>/dev/null | sort -rV)

for exe in "${candidates[@]}"; do
  if path="$(check "$exe")"; then
    echo "$path"
    exit 0
  fi
done

cat >&2 <<'MSG'
error: Python 3.10 was not found (this project needs exactly Python 3.10, because Rasa 3.6 does).
Looked for: $PYTHON310, python3.10 on PATH, $(pyenv root)/versions/3.10.*, ~/.pyenv/versions/3.10.*.
Install it, for example with pyenv:
    pyenv install 3.10        # then re-run; pyenv does not need to make it the global version
or with your distribution's packages, where it ships them:
    sudo apt-get install python3.10 python3.10-venv
Or point PYTHON310 at an existing interpreter:  make setup PYTHON310=/path/to/python3.10
MSG
exit 1

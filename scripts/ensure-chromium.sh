#!/usr/bin/env bash
# Install Debian's chromium (for browser tests) when /usr/bin/chromium is missing. Idempotent.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/ensure-chromium.sh [-h|--help]

Prints the path of Chromium and exits 0 when /usr/bin/chromium already exists; otherwise runs
`apt-get update` and `apt-get install -y chromium` (as root, or through sudo) first.
Set CHROMIUM=/path/to/chromium to use another binary (then nothing is installed).
USAGE
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; exit 2 ;;
esac

if [ -n "${CHROMIUM:-}" ]; then
  [ -x "$CHROMIUM" ] || { echo "error: CHROMIUM=$CHROMIUM is not executable" >&2; exit 1; }
  echo "$CHROMIUM"; exit 0
fi
if [ -x /usr/bin/chromium ]; then
  echo /usr/bin/chromium; exit 0
fi

command -v apt-get >/dev/null 2>&1 || {
  echo "error: /usr/bin/chromium is missing and apt-get is not available; install Chromium" >&2
  exit 1
}
sudo=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "error: need root (or sudo) to apt-get install chromium" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
echo "==> ensure-chromium: apt-get update" >&2
"${sudo[@]}" apt-get update -qq >&2
echo "==> ensure-chromium: apt-get install -y chromium (a few minutes the first time)" >&2
"${sudo[@]}" apt-get install -y -qq chromium >&2
[ -x /usr/bin/chromium ] || { echo "error: chromium installed but /usr/bin/chromium is missing" >&2; exit 1; }
echo /usr/bin/chromium

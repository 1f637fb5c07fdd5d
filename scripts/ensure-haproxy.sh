#!/usr/bin/env bash
# Install Debian's HAProxy (the load balancer of `make run-scaled`) when it is missing. Idempotent.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/ensure-haproxy.sh [-h|--help]

Prints the path of haproxy and exits 0 when it is installed; otherwise runs `apt-get update` and
`apt-get install -y haproxy` (as root, or through sudo) first. `make run-scaled` starts its own
HAProxy with deploy/haproxy.cfg (not the Debian service's configuration).
USAGE
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; exit 2 ;;
esac

if command -v haproxy >/dev/null 2>&1; then
  command -v haproxy; exit 0
fi
command -v apt-get >/dev/null 2>&1 || {
  echo "error: haproxy is missing and apt-get is not available; install HAProxy 2.x" >&2; exit 1; }
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
echo "==> installing Debian's haproxy (apt-get)" >&2
$sudo apt-get update -qq >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >&2
command -v haproxy

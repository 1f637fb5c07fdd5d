#!/usr/bin/env bash
# Rewrites the initial Alembic migration from the models. Only while nothing is deployed: once a
# release has shipped, add new revisions with `alembic revision --autogenerate` instead.
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,3p' "$0"; exit 0 ;; esac
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
rm -f backend/migrations/versions/0001_initial_schema.py
.venv/bin/python - "$scratch" <<'PY'
import sys
from alembic import command
from backend.migrations import alembic_config
command.revision(alembic_config(f"sqlite:///{sys.argv[1]}/empty.sqlite3"),
                 message="initial schema", autogenerate=True, rev_id="0001")
PY

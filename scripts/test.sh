#!/usr/bin/env bash
# Run every check the project has: lint, types, import boundaries, then the tests (unit + integration,
# each integration test against a real redis-server and real worker/API processes).
# Installs what it needs first: redis-server (apt, when missing and allowed) and the Python deps.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "redis-server is missing: sudo apt-get install -y redis-server" >&2
    exit 1
  fi
fi

bash scripts/bootstrap.sh test
. .venv/bin/activate
export HF_HUB_OFFLINE=1
ruff check .
ruff format --check .
mypy
lint-imports
python -m pytest "$@"

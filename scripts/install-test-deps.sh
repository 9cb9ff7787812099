#!/usr/bin/env bash
# Installs what the tests need from Debian if it is missing: PostgreSQL and Redis (the scale-out
# test and `make bench-load` start their own instances on local ports; nothing is left running)
# and Chromium (the web chat's browser tests drive it headless; no test tool downloads a browser).
# `install-test-deps.sh redis` installs Redis alone: what `make run` needs (its lock store).
set -euo pipefail
missing=()
if [[ "${1:-}" == redis ]]; then
  command -v redis-server >/dev/null || missing+=(redis-server)
else
  compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v runuser >/dev/null || missing+=(util-linux)
  command -v chromium >/dev/null || missing+=(chromium fonts-dejavu-core)
fi
if ((${#missing[@]})); then
  echo "Installing ${missing[*]} (Debian packages)..."
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts the packaged servers; the tests run their own, so stop these.
  $SUDO service redis-server stop >/dev/null 2>&1 || true
  $SUDO service postgresql stop >/dev/null 2>&1 || true
fi

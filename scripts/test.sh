#!/usr/bin/env bash
# Install and run every check (what CI runs): the static checks of scripts/lint.sh, then the test suite.
# Browser tests need Chromium and the remote-store tests Virtuoso: both installed from Debian if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/lint.sh
# jsonld.js, pinned, for tests/test_api_jsonld.py (the test installs it too when missing)
npm ci --prefix tests/jsonld --no-audit --no-fund --loglevel=error
npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error  # oidc-provider, pinned, for tests/test_oidc.py
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium and chromium-driver for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "warning: chromium and chromedriver are missing and cannot be installed here; browser tests will fail" >&2
  fi
fi
# the production layout's tests put nginx (Debian) in front of the replicas
if ! command -v nginx >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's nginx-light for the production-layout tests"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }
fi
# the remote-store tests run on an Oxigraph server (PyPI, installed above) and on Virtuoso (Debian)
bash scripts/install-virtuoso.sh
.venv/bin/python -m pytest "$@"

#!/usr/bin/env bash
# Regenerate requirements.lock from pyproject.toml (every extra, exact versions and hashes).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/uv pip compile pyproject.toml --extra test --extra lint --python-version 3.11 --generate-hashes \
  --upgrade -o requirements.lock

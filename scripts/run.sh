#!/usr/bin/env bash
# The main job: install, build the knowledge graph from data/ (only if its inputs changed since the
# current build), then serve it on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/capkg build --if-changed
exec .venv/bin/capkg serve "$@"

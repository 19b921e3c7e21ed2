#!/usr/bin/env bash
# The main job: install, build the knowledge graph from data/, then serve it on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/capkg build
exec .venv/bin/capkg serve "$@"

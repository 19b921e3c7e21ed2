#!/usr/bin/env bash
# The main job: install, build the knowledge graph from data/, then serve it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/capkg build

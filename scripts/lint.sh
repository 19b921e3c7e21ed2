#!/usr/bin/env bash
# Every static check CI enforces: ruff (lint and format), mypy, import-linter contracts, Turtle and SPARQL syntax.
# The same hooks as .pre-commit-config.yaml, over every file.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PRE_COMMIT_HOME=${PRE_COMMIT_HOME:-.venv/pre-commit-cache} .venv/bin/pre-commit run --all-files --show-diff-on-failure

#!/usr/bin/env bash
# Create .venv (if needed) and install the project into it from the lock file. Used by run.sh and test.sh.
#
# requirements.lock pins every dependency with its hashes (regenerate it with scripts/lock.sh after
# changing pyproject.toml); the project itself is installed editable on top, without resolving again.
# Nothing is reinstalled when the lock file and pyproject.toml are unchanged since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.capkg-installed
wanted=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && .venv/bin/python -c "import kg, api" 2>/dev/null; then
  exit 0
fi
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" --upgrade pip
"${pip[@]}" --require-hashes -r requirements.lock
"${pip[@]}" --no-deps -e .
echo "$wanted" > "$stamp"

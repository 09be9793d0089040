#!/usr/bin/env bash
# Quick start, step one: set up a virtual environment with Gigalis NMS and run the service on
# the embedded default (SQLite under ./var, the Gigalis network from ./inventory loaded on the
# first start, the API on http://127.0.0.1:8000). Arguments go to `gigalis serve`.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .

exec .venv/bin/gigalis serve "$@"

#!/usr/bin/env bash
# Quick start, step two: set up a virtual environment with the test tools and run every check:
# formatting, lint and types, then the whole test suite, each database test on SQLite and on
# a throwaway PostgreSQL that the suite starts itself. Arguments go to pytest.
#
# Without PostgreSQL (Debian package postgresql) the PostgreSQL half is skipped with the
# reason; with CI=true a missing component fails the run instead (see .ci/run).
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'

.venv/bin/ruff format --check .
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"

#!/usr/bin/env bash
# Set up a virtualenv (.venv) with the package and test deps, then run the whole test suite.
# This is the README's test command; CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
# torch pinned to the CPU build available offline on this machine kind; the rest from PyPI.
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[test]"
# Two workers, one compute thread each (tests/conftest.py): faster than one process with two threads, and
# not slowed down many times over when other processes share the cores.
.venv/bin/python -m pytest -q -n 2 "$@"

#!/usr/bin/env bash
# Set up a virtualenv (.venv) and run the main job: upscale the bundled sample clip x4.
# The first run downloads the released checkpoint (tens of MB) into the cache; later runs work offline.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e .
.venv/bin/realbasicvsr upscale assets/sample.mp4 -o sample_x4.mp4 --overwrite "$@"

#!/usr/bin/env bash
# Set up a virtualenv (.venv) and run the main job: upscale the bundled sample clip x4 with the compact
# model that ships inside the package (no download, works offline). Extra arguments go to `upscale`,
# e.g. `bash scripts/demo.sh --model realbasicvsr_x4` for the paper's model (downloaded on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e .
.venv/bin/realbasicvsr upscale assets/sample.mp4 -o sample_x4.mp4 --model realbasicvsr_lite_x4 --overwrite "$@"

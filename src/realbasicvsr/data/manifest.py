"""The training-data manifest: what ``scripts/fetch_training_data.py`` gathered (``manifest.json``) and the
training sequences it lists. This module is the one reader and writer of the file's format.

``files`` is the contract with the training loader: every kept photo or video with its path (relative to
the manifest's folder), ``kind`` (``photo``/``video``) and ``split`` (``train``/``eval``), plus its sizes,
checksums, source and licence. The rest (options, policies, sources, excluded files, notes) documents where
everything came from.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..atomic import write_text_atomic
from ..errors import RealBasicVSRError
from .sequences import FrameSequence, VideoSequence
from .synthetic import PanSequence

SCHEMA = 1
MANIFEST_NAME = "manifest.json"
_PHOTO_ONLY = ("channels", "dtype")
_VIDEO_ONLY = ("frames", "fps", "codec", "duration_s")


@dataclass
class ManifestFile:
    """One kept file. ``channels``/``dtype`` describe photos, ``frames``/``fps``/``codec``/``duration_s``
    videos; the file's JSON entry holds only its kind's fields."""

    path: str
    kind: str
    channels: int | None = None
    dtype: str | None = None
    frames: int | None = None
    fps: str | None = None
    codec: str | None = None
    duration_s: float | None = None
    split: str | None = None
    width: int = 0
    height: int = 0
    original_width: int = 0
    original_height: int = 0
    stored_as: str = ""
    bytes: int = 0
    sha256: str = ""
    source_sha256: str = ""
    source: str = ""
    source_type: str = ""
    source_package: str = ""
    source_version: str | None = None
    source_member: str = ""
    title: str | None = None
    credit: str = ""
    licence: str = "unknown"
    licence_as_written: str | None = None
    licence_category: str = "unknown"
    share_alike: bool = False
    licence_url: str | None = None
    licence_source: str = ""
    licence_excerpt: str = ""
    upstream_url: str | None = None
    flags: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The JSON entry: every field except the other kind's."""
        other = _VIDEO_ONLY if self.kind == "photo" else _PHOTO_ONLY
        return {k: v for k, v in asdict(self).items() if k not in other}


@dataclass
class TrainingManifest:
    """The whole ``manifest.json``."""

    files: list[ManifestFile] = field(default_factory=list)
    excluded: list[dict[str, Any]] = field(default_factory=list)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    licence_files: list[dict[str, Any]] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    licence_policy: str = ""
    split_policy: str = ""
    totals: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    generator: str = "scripts/fetch_training_data.py"
    schema: int = SCHEMA

    def to_json(self) -> dict[str, Any]:
        """The file's layout (key order as the fetcher has always written it)."""
        return {"schema": self.schema, "generator": self.generator, "options": self.options,
                "licence_policy": self.licence_policy, "split_policy": self.split_policy, "totals": self.totals,
                "notes": self.notes, "sources": self.sources, "licence_files": self.licence_files,
                "files": [f.to_json() for f in self.files], "excluded": self.excluded}


def write_manifest(path: Path, manifest: TrainingManifest) -> Path:
    """Write ``manifest`` as indented UTF-8 JSON, atomically."""
    return write_text_atomic(path, json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n")


def read_manifest(path: str | Path) -> TrainingManifest:
    """The manifest at ``path``; a missing file or one in another layout is a one-line error."""
    path = Path(path)
    known = {f.name for f in fields(ManifestFile)}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = [ManifestFile(**{k: v for k, v in e.items() if k in known}) for e in data["files"]]
        rest = {f.name: data[f.name] for f in fields(TrainingManifest) if f.name != "files" and f.name in data}
    except FileNotFoundError:
        raise RealBasicVSRError(f"no manifest at {path} (run scripts/fetch_training_data.py)") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise RealBasicVSRError(f"{path} is not a training-data manifest: {e}") from None
    return TrainingManifest(files=files, **rest)


def manifest_sequences(manifest: str | Path, split: str, pans_per_photo: int, size: int,
                       frames: int, max_speed: float = 2.5) -> list[FrameSequence]:
    """Training sequences from a manifest: every video of ``split`` and ``pans_per_photo`` moving-crop
    sequences of ``size`` pixels and ``frames`` frames over every photo of it (at most ``max_speed`` pixels
    per frame)."""
    path = Path(manifest)
    seqs: list[FrameSequence] = []
    for n, entry in enumerate(e for e in read_manifest(path).files if e.split == split):
        file = str(path.parent / entry.path)
        if entry.kind == "video":
            seqs.append(VideoSequence(file))
        else:
            seqs += [PanSequence(file, n * 1000 + k, size, frames, name=f"{Path(file).stem}_{k}",
                                 max_speed=max_speed) for k in range(pans_per_photo)]
    if not seqs:
        raise RealBasicVSRError(f"{path} lists no files of split {split!r}")
    return seqs

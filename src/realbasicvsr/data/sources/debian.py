"""Candidate files of the Debian sources: lomiri-wallpapers (DEP-5 per file), palapeli-data (upstream puzzle
metadata) and ufoai-textures (DEP-5 per licence group, inside .pk3 archives)."""

from __future__ import annotations

import configparser
import re
import zipfile
from pathlib import Path, PurePosixPath
from typing import Iterator

from ...errors import RealBasicVSRError
from .catalogue import Candidate
from .licences import dep5_excerpt, match_stanza, one_line, parse_dep5
from .packages import Source, read_copyright, walk

# --- lomiri-wallpapers ---------------------------------------------------------------------------------


def lomiri_candidates(src: Source, root: Path) -> Iterator[Candidate]:
    """Every file of a lomiri-wallpapers package, with its DEP-5 stanza's licence and credit."""
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
    """palapeli-data's files; puzzle photos carry upstream's per-image licence from the .desktop metadata."""
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
    """The textures inside ufoai-textures' .pk3 archives, licensed by the DEP-5 group that covers them."""
    cfile, text = read_copyright(src, root)
    src.info["copyright_text"] = text
    stanzas, texts = parse_dep5(text)
    upstream = (texts.get("#header") or {}).get("source") or None
    pk3s = sorted(root.rglob("*.pk3"))
    if not pk3s:
        raise RealBasicVSRError(f"{src.package}: no .pk3 archive found in the package")
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

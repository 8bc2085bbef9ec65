"""Licences as upstream writes them: mapped to SPDX ids and a category (permissive, share-alike, ...), and
read from Debian's machine-readable copyright files (DEP-5)."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

LICENCE_URLS = {
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "MIT": "https://spdx.org/licenses/MIT.html",
    "Apache-2.0": "https://www.apache.org/licenses/LICENSE-2.0",
    "BSD-2-Clause": "https://spdx.org/licenses/BSD-2-Clause.html",
    "BSD-3-Clause": "https://spdx.org/licenses/BSD-3-Clause.html",
}


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
    """Where a licence's text is published (None when unknown)."""
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
    """One ``Files:`` paragraph of a DEP-5 copyright file."""

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
    """A multi-line field as one line, its lines joined with ``; ``."""
    return "; ".join(x.strip() for x in s.splitlines() if x.strip())


def dep5_excerpt(st: Stanza, pattern: str) -> str:
    """The part of a stanza that licenses a file: its matching pattern, copyright and licence name."""
    more = f" (one of {len(st.files)} patterns in this stanza)" if len(st.files) > 1 else ""
    return (f"Files: {pattern}{more}\nCopyright: {one_line(st.copyright)}\n"
            f"License: {st.license.splitlines()[0] if st.license else ''}")

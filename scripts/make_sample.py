"""Make assets/sample.mp4: a small, deliberately low-quality clip for trying the upscaler.

Source: NASA's public-domain portrait of astronaut Eileen Collins (NASA Great Images, "no known copyright
restrictions"), as shipped in scikit-image's wheel as skimage/data/astronaut.png. The clip slowly pans and
zooms over the photo, is downscaled to 160x120, softened, given sensor-like noise and compressed hard
with H.264, with a generated 440 Hz tone as its audio track, at 30000/1001 fps.

    python scripts/make_sample.py path/to/astronaut.png assets/sample.mp4
"""

from __future__ import annotations

import sys
from fractions import Fraction

import av
import cv2
import numpy as np


def frames(photo: np.ndarray, n: int = 24, size: tuple[int, int] = (160, 120)) -> list[np.ndarray]:
    rng = np.random.default_rng(2022)
    out = []
    for i in range(n):
        t = i / (n - 1)
        crop = int(420 - 60 * t)  # slow zoom in
        x0, y0 = int(20 + 50 * t), int(30 + 20 * t)  # and pan
        view = photo[y0:y0 + crop, x0:x0 + int(crop * 4 / 3) if x0 + int(crop * 4 / 3) <= 512 else 512]
        view = cv2.resize(view, (size[0] * 2, size[1] * 2), interpolation=cv2.INTER_AREA)
        view = cv2.GaussianBlur(view, (0, 0), 1.2)
        view = cv2.resize(view, size, interpolation=cv2.INTER_AREA).astype(np.float32)
        view += rng.normal(0, 4.0, view.shape).astype(np.float32)
        out.append(np.clip(view, 0, 255).round().astype(np.uint8))
    return out


def main(src: str, dst: str) -> None:
    photo = cv2.cvtColor(cv2.imread(src, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    rate = Fraction(30000, 1001)
    clip = frames(photo)
    with av.open(dst, "w") as c:
        v = c.add_stream("libx264", rate=rate)
        v.width, v.height, v.pix_fmt = 160, 120, "yuv420p"
        v.options = {"crf": "34", "preset": "veryslow"}
        a = c.add_stream("aac", rate=48000)
        a.bit_rate = 32000
        for i, f in enumerate(clip):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts = i
            for p in v.encode(vf):
                c.mux(p)
        for p in v.encode(None):
            c.mux(p)
        total = int(48000 * len(clip) / rate)
        for t in range(0, total, 1024):
            tone = 0.2 * np.sin(2 * np.pi * 440 * (t + np.arange(1024)) / 48000) * np.exp(-((t / 48000 - 0.4) ** 2) * 8)
            af = av.AudioFrame.from_ndarray(tone.astype(np.float32)[None], format="fltp", layout="mono")
            af.sample_rate, af.pts = 48000, t
            for p in a.encode(af):
                c.mux(p)
        for p in a.encode(None):
            c.mux(p)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

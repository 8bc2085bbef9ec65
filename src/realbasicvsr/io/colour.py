"""Colour: which YCbCr matrix and range a video uses, and exact RGB <-> YCbCr conversion.

Decoding and encoding go through these functions rather than swscale's defaults, which pick BT.601 for
untagged input whatever its size and are about 2 levels off on a round trip. Outputs are tagged (matrix,
range, primaries, transfer) so players show the colours of the input. Frames inside the package stay
8-bit RGB; 10-bit video is converted with 10-bit precision at both ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import cv2
import numpy as np

# Luma weights (Kr, Kb) of each matrix.
_KR_KB = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722), "bt2020": (0.2627, 0.0593)}
# FFmpeg's AVColorSpace codes -> matrix; 4 (FCC) and 7 (SMPTE 240M) are close enough to 601 / 709.
_MATRIX_OF_CODE = {1: "bt709", 4: "bt601", 5: "bt601", 6: "bt601", 7: "bt709", 9: "bt2020", 10: "bt2020"}
_CODE_OF_MATRIX = {"bt709": 1, "bt601": 6, "bt2020": 9}
# Primaries and transfer written when the input did not say (AVColorPrimaries / AVColorTransferCharacteristic).
_DEFAULT_PRIMARIES = {"bt709": 1, "bt601": 6, "bt2020": 9}
_DEFAULT_TRC = {"bt709": 1, "bt601": 6, "bt2020": 14}
_UNSPECIFIED = (0, 2)  # "reserved"/"unspecified" codes mean the same to players
MPEG, JPEG = 1, 2  # AVColorRange: limited ("TV") and full ("PC")

# Planar YCbCr layouts converted here: pixel format -> (bits, chroma subsampling (x, y), full range implied).
_PLANAR = {
    "yuv420p": (8, (2, 2), False), "yuvj420p": (8, (2, 2), True), "yuv422p": (8, (2, 1), False),
    "yuvj422p": (8, (2, 1), True), "yuv444p": (8, (1, 1), False), "yuvj444p": (8, (1, 1), True),
    "yuv420p10le": (10, (2, 2), False),
}


def is_hd(width: int, height: int) -> bool:
    """Players assume BT.709 for untagged video above SD (FFmpeg's and mpv's rule)."""
    return width >= 1280 or height > 576


@dataclass(frozen=True)
class Colour:
    """A video's YCbCr colour description: matrix, range, the primaries/transfer tags and bit depth."""

    matrix: str = "bt709"  # bt601, bt709 or bt2020
    full_range: bool = False
    primaries: int = 2  # FFmpeg codes; 2 = unspecified
    trc: int = 2
    bits: int = 8

    @classmethod
    def of_frame(cls, frame: av.VideoFrame) -> "Colour":
        """What a decoded frame says about itself, with players' defaults for what it leaves unsaid."""
        name = frame.format.name
        matrix = _MATRIX_OF_CODE.get(int(frame.colorspace))
        if matrix is None:
            matrix = "bt709" if is_hd(frame.width, frame.height) else "bt601"
        rng = int(frame.color_range)
        full = rng == JPEG or (rng not in (MPEG, JPEG) and name.startswith("yuvj"))
        bits = 10 if "10" in name else 12 if "12" in name else 8
        return cls(matrix, full, int(frame.color_primaries), int(frame.color_trc), bits)

    def for_output(self, width: int, height: int) -> "Colour":
        """The colour description of an upscaled output: BT.709 for HD (what players assume and expect),
        the input's matrix otherwise; limited range; the input's primaries/transfer when it stated them."""
        matrix = self.matrix if self.matrix == "bt2020" or not is_hd(width, height) else "bt709"
        prim = self.primaries if self.primaries not in _UNSPECIFIED else _DEFAULT_PRIMARIES[matrix]
        trc = self.trc if self.trc not in _UNSPECIFIED else _DEFAULT_TRC[matrix]
        return Colour(matrix, False, prim, trc, self.bits)

    def tag(self, target) -> None:
        """Write the tags onto a codec context or frame (anything with colorspace/color_range/...)."""
        target.colorspace = _CODE_OF_MATRIX[self.matrix]
        target.color_range = JPEG if self.full_range else MPEG
        target.color_primaries = self.primaries
        target.color_trc = self.trc


def _coefficients(matrix: str) -> tuple[float, float, float]:
    kr, kb = _KR_KB[matrix]
    return kr, 1.0 - kr - kb, kb


def _scales(colour: Colour, bits: int) -> tuple[float, float, float]:
    """(luma offset, luma span, chroma span) in code values of ``bits``-bit samples."""
    one = float(1 << (bits - 8))
    if colour.full_range:
        top = float((1 << bits) - 1)
        return 0.0, top, top
    return 16.0 * one, 219.0 * one, 224.0 * one


def rgb_to_planes(rgb: np.ndarray, colour: Colour, pix_fmt: str) -> np.ndarray:
    """uint8 (H, W, 3) RGB -> the array ``av.VideoFrame.from_ndarray(..., pix_fmt)`` takes, or None when
    ``pix_fmt`` is not one of the planar YCbCr layouts handled here (or the size does not fit it)."""
    layout = _PLANAR.get(pix_fmt)
    h, w = rgb.shape[:2]
    if layout is None or h % layout[1][1] or w % layout[1][0]:
        return None
    bits, (sx, sy), _ = layout
    kr, kg, kb = _coefficients(colour.matrix)
    x = rgb.astype(np.float32) * (1.0 / 255.0)
    y = x[..., 0] * kr + x[..., 1] * kg + x[..., 2] * kb
    cb = (x[..., 2] - y) * (0.5 / (1.0 - kb))
    cr = (x[..., 0] - y) * (0.5 / (1.0 - kr))
    if (sx, sy) != (1, 1):  # average each sx x sy block (chroma sited at the block centre)
        cb = cv2.resize(cb, (w // sx, h // sy), interpolation=cv2.INTER_AREA)
        cr = cv2.resize(cr, (w // sx, h // sy), interpolation=cv2.INTER_AREA)
    off, ys, cs = _scales(colour, bits)
    mid = float(1 << (bits - 1))
    top = (1 << bits) - 1
    dtype = np.uint8 if bits == 8 else np.uint16
    planes = [np.clip(np.rint(off + ys * y), 0, top).astype(dtype),
              np.clip(np.rint(mid + cs * cb), 0, top).astype(dtype),
              np.clip(np.rint(mid + cs * cr), 0, top).astype(dtype)]
    if (sx, sy) == (1, 1):
        return np.stack(planes)
    return np.concatenate([planes[0], planes[1].reshape(-1, w), planes[2].reshape(-1, w)])


def planes_to_rgb(frame: av.VideoFrame, colour: Colour) -> np.ndarray | None:
    """A decoded planar YCbCr frame -> uint8 (H, W, 3) RGB with ``colour``'s matrix and range, or None
    for layouts not handled here (the caller falls back to swscale)."""
    name = frame.format.name
    layout = _PLANAR.get(name)
    h, w = frame.height, frame.width
    if layout is None or h % layout[1][1] or w % layout[1][0]:
        return None
    bits, (sx, sy), _ = layout
    arr = frame.to_ndarray()
    if (sx, sy) == (1, 1):
        yp, cbp, crp = arr[0], arr[1], arr[2]
    else:
        ch, cw = h // sy, w // sx
        yp = arr[:h]
        rest = arr[h:].reshape(-1)
        cbp, crp = rest[: ch * cw].reshape(ch, cw), rest[ch * cw : 2 * ch * cw].reshape(ch, cw)
    off, ys, cs = _scales(colour, bits)
    mid = float(1 << (bits - 1))
    y = (yp.astype(np.float32) - off) * (1.0 / ys)
    cb = (cbp.astype(np.float32) - mid) * (1.0 / cs)
    cr = (crp.astype(np.float32) - mid) * (1.0 / cs)
    if (sx, sy) != (1, 1):
        cb = cv2.resize(cb, (w, h), interpolation=cv2.INTER_LINEAR)
        cr = cv2.resize(cr, (w, h), interpolation=cv2.INTER_LINEAR)
    kr, kg, kb = _coefficients(colour.matrix)
    r = y + cr * (2.0 * (1.0 - kr))
    b = y + cb * (2.0 * (1.0 - kb))
    g = (y - kr * r - kb * b) * (1.0 / kg)
    rgb = np.stack([r, g, b], axis=-1)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def frame_to_rgb(frame: av.VideoFrame, colour: Colour | None = None) -> np.ndarray:
    """A decoded frame as uint8 RGB, converted with its own matrix and range (players' defaults when
    untagged: BT.709 above SD, BT.601 below)."""
    colour = colour or Colour.of_frame(frame)
    rgb = planes_to_rgb(frame, colour)
    if rgb is not None:
        return rgb
    from av.video.reformatter import Interpolation

    return frame.to_ndarray(format="rgb24", src_colorspace=_CODE_OF_MATRIX[colour.matrix],
                            src_color_range=JPEG if colour.full_range else MPEG,
                            interpolation=Interpolation.BILINEAR | Interpolation.ACCURATE_RND)


def rgb_to_frame(rgb: np.ndarray, colour: Colour, pix_fmt: str) -> av.VideoFrame:
    """uint8 RGB -> a tagged VideoFrame in ``pix_fmt``, converted with ``colour``'s matrix and range."""
    planes = rgb_to_planes(rgb, colour, pix_fmt)
    if planes is not None:
        frame = av.VideoFrame.from_ndarray(planes, format=pix_fmt)
    else:
        from av.video.reformatter import Interpolation

        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
            format=pix_fmt, dst_colorspace=_CODE_OF_MATRIX[colour.matrix],
            dst_color_range=JPEG if colour.full_range else MPEG,
            interpolation=Interpolation.BILINEAR | Interpolation.ACCURATE_RND)
    colour.tag(frame)
    return frame

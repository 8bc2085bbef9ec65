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
from av.video.reformatter import Interpolation

from ..errors import RealBasicVSRError

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
        # untagged range: yuvj* formats are full range by definition, grey (PNG, TIFF, FFV1 scans) by FFmpeg's convention
        full = rng == JPEG or (rng not in (MPEG, JPEG) and name.startswith(("yuvj", "gray", "ya")))
        bits = max(c.bits for c in frame.format.components if not c.is_alpha)
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


def rgb_to_planes(rgb: np.ndarray, colour: Colour, pix_fmt: str) -> list[np.ndarray] | None:
    """uint8 (H, W, 3) RGB -> the Y, Cb, Cr planes of ``pix_fmt``, or None when ``pix_fmt`` is not one of
    the planar YCbCr layouts handled here (or the size does not fit it)."""
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
    return [np.clip(np.rint(off + ys * y), 0, top).astype(dtype),
            np.clip(np.rint(mid + cs * cb), 0, top).astype(dtype),
            np.clip(np.rint(mid + cs * cr), 0, top).astype(dtype)]


def _frame_of_planes(planes: list[np.ndarray], pix_fmt: str) -> av.VideoFrame:
    """Planes -> a VideoFrame, row by row into its padded lines (``from_ndarray``'s stacked layout cannot
    hold 4:2:0 chroma whose half height is odd, e.g. a x2 output of an odd-height input)."""
    h, w = planes[0].shape
    frame = av.VideoFrame(w, h, pix_fmt)
    for plane, values in zip(frame.planes, planes):
        rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        rows[:, : values.shape[1] * values.itemsize] = values.view(np.uint8).reshape(plane.height, -1)
    return frame


def _plane(frame: av.VideoFrame, index: int, dtype: type) -> np.ndarray:
    """Plane ``index`` of a frame as a (height, width) array, the line padding cut off (no copy)."""
    plane = frame.planes[index]
    itemsize = np.dtype(dtype).itemsize
    arr = np.frombuffer(plane, dtype=dtype).reshape(-1, plane.line_size // itemsize)
    return arr[: plane.height, : plane.width]


def _yuv_planes(fmt: av.VideoFormat) -> tuple[int, int, int] | None:
    """(bits, chroma x step, chroma y step) for planar little-endian YCbCr with each component on its own
    plane (alpha, if any, on a fourth): the layouts read here plane by plane; None for anything else."""
    comps = [c for c in fmt.components if not c.is_alpha]
    if (fmt.is_rgb or not fmt.is_planar or fmt.is_big_endian or fmt.has_palette or fmt.is_bayer
            or len(comps) != 3 or [c.plane for c in comps] != [0, 1, 2]):
        return None
    bits = comps[0].bits
    if not 8 <= bits <= 16 or any(c.bits != bits for c in comps):
        return None
    return bits, 64 // fmt.chroma_width(64), 64 // fmt.chroma_height(64)


def _planar_twin(fmt: av.VideoFormat) -> str | None:
    """The planar YCbCr format with the same subsampling and depth as a semi-planar or packed one
    (nv12 -> yuv420p, p010le -> yuv420p10le, yuyv422 -> yuv422p), or None."""
    comps = [c for c in fmt.components if not c.is_alpha]
    if fmt.is_rgb or fmt.has_palette or fmt.is_bayer or len(comps) != 3:
        return None
    sub = {(1, 1): "444", (2, 1): "422", (2, 2): "420", (1, 2): "440", (4, 1): "411", (4, 4): "410"}.get(
        (64 // fmt.chroma_width(64), 64 // fmt.chroma_height(64)))
    bits = comps[0].bits
    depth = "" if bits == 8 else f"{bits}le" if bits in (9, 10, 12, 14, 16) else None
    if sub is None or depth is None:
        return None
    name = f"yuv{sub}p{depth}"
    try:
        av.VideoFormat(name)
    except (ValueError, av.error.FFmpegError):
        return None
    return name


def _upsample_chroma(plane: np.ndarray, sx: int, sy: int, w: int, h: int) -> np.ndarray:
    """A subsampled chroma plane at full size, each sample centred on its sx x sy block (odd frame sizes:
    the last, partial block's sample stays centred on the whole block, the excess cropped)."""
    if (sx, sy) == (1, 1):
        return plane
    ch, cw = plane.shape
    return cv2.resize(plane, (cw * sx, ch * sy), interpolation=cv2.INTER_LINEAR)[:h, :w]


def _to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray, matrix: str) -> np.ndarray:
    """Normalised Y (0..1) and Cb/Cr (-0.5..0.5) planes -> uint8 RGB with ``matrix``'s coefficients."""
    kr, kg, kb = _coefficients(matrix)
    r = y + cr * (2.0 * (1.0 - kr))
    b = y + cb * (2.0 * (1.0 - kb))
    g = (y - kr * r - kb * b) * (1.0 / kg)
    rgb = np.stack([r, g, b], axis=-1)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def planes_to_rgb(frame: av.VideoFrame, colour: Colour) -> np.ndarray | None:
    """A decoded planar YCbCr frame (any depth from 8 to 16 bits, any chroma subsampling, alpha dropped,
    full range ``yuvj*`` included) or a grey one -> uint8 (H, W, 3) RGB with ``colour``'s matrix and range,
    read plane by plane; None for other layouts (the caller falls back to swscale)."""
    fmt = frame.format
    h, w = frame.height, frame.width
    comps = fmt.components
    if fmt.name in ("gray", "gray10le", "gray12le", "gray14le", "gray16le"):
        bits = comps[0].bits
        off, ys, _ = _scales(colour, bits)
        y = (_plane(frame, 0, np.uint8 if bits == 8 else np.uint16).astype(np.float32) - off) * (1.0 / ys)
        grey = np.clip(np.rint(y * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)
    layout = _yuv_planes(fmt)
    if layout is None:
        planar = _planar_twin(fmt)
        if planar is None:
            return None
        # semi-planar (NV12, P010) and packed (YUYV) layouts: a lossless repacking, then the same arithmetic
        rng = JPEG if colour.full_range else MPEG
        return planes_to_rgb(frame.reformat(format=planar, src_color_range=rng, dst_color_range=rng), colour)
    bits, sx, sy = layout
    dtype = np.uint8 if bits == 8 else np.uint16
    off, ys, cs = _scales(colour, bits)
    mid = float(1 << (bits - 1))
    y = (_plane(frame, 0, dtype).astype(np.float32) - off) * (1.0 / ys)
    cb = (_plane(frame, 1, dtype).astype(np.float32) - mid) * (1.0 / cs)
    cr = (_plane(frame, 2, dtype).astype(np.float32) - mid) * (1.0 / cs)
    return _to_rgb(y, _upsample_chroma(cb, sx, sy, w, h), _upsample_chroma(cr, sx, sy, w, h), colour.matrix)


def frame_to_rgb(frame: av.VideoFrame, colour: Colour | None = None) -> np.ndarray:
    """A decoded frame as uint8 RGB, converted with its own matrix and range (players' defaults when
    untagged: BT.709 above SD, BT.601 below). Planar YCbCr and grey are converted here; every other pixel
    format FFmpeg decodes to (semi-planar NV12/P010, packed YUYV, RGB/BGR with or without alpha, palettes)
    goes through swscale with the matrix and range stated explicitly."""
    colour = colour or Colour.of_frame(frame)
    rgb = planes_to_rgb(frame, colour)
    if rgb is not None:
        return rgb
    try:
        return frame.to_ndarray(format="rgb24", src_colorspace=_CODE_OF_MATRIX[colour.matrix],
                                src_color_range=JPEG if colour.full_range else MPEG,
                                interpolation=Interpolation.BILINEAR | Interpolation.ACCURATE_RND)
    except (ValueError, av.error.FFmpegError) as e:
        raise RealBasicVSRError(f"frames in pixel format {frame.format.name} cannot be converted to RGB ({e})") from e


def rgb_to_frame(rgb: np.ndarray, colour: Colour, pix_fmt: str) -> av.VideoFrame:
    """uint8 RGB -> a tagged VideoFrame in ``pix_fmt``, converted with ``colour``'s matrix and range."""
    planes = rgb_to_planes(rgb, colour, pix_fmt)
    if planes is not None:
        frame = _frame_of_planes(planes, pix_fmt)
    else:
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
            format=pix_fmt, dst_colorspace=_CODE_OF_MATRIX[colour.matrix],
            dst_color_range=JPEG if colour.full_range else MPEG,
            interpolation=Interpolation.BILINEAR | Interpolation.ACCURATE_RND)
    colour.tag(frame)
    return frame

"""Temporal chunking: windows of ``chunk`` written frames plus ``overlap`` context frames on each side.

Context frames feed the bidirectional propagation but are not written, so memory depends on the
window length, never on the video length. Windows are defined in absolute frame indices, which makes a
resumed run process exactly the windows an uninterrupted run would.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Generic, Iterable, Iterator, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Window(Generic[T]):
    """Frames ``start .. start+len(items)-1``; only ``[write_start, write_stop)`` (absolute) are written."""

    index: int
    start: int
    items: list
    write_start: int
    write_stop: int

    @property
    def keep(self) -> slice:
        """Positions in ``items`` of the frames to write."""
        return slice(self.write_start - self.start, self.write_stop - self.start)


def window_ranges(num_frames: int, chunk: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """``(start, stop, write_start, write_stop)`` of each window for a known length."""
    out = []
    for k in range((num_frames + chunk - 1) // chunk):
        ws, we = k * chunk, min((k + 1) * chunk, num_frames)
        out.append((max(0, ws - overlap), min(num_frames, we + overlap), ws, we))
    return out


def iter_windows(items: Iterable[T], chunk: int, overlap: int, first_window: int = 0) -> Iterator[Window[T]]:
    """Stream ``items`` as windows, holding at most ``chunk + 2 * overlap`` of them at once.

    ``first_window`` skips the windows before it (for resume): their frames are read and dropped.
    """
    if chunk < 1 or overlap < 0:
        raise ValueError("chunk must be >= 1 and overlap >= 0")
    buf: deque = deque()
    buf_start = 0  # absolute index of buf[0]
    k = first_window
    it = iter(items)
    exhausted = False
    n = 0  # items read so far
    while True:
        ws, we = k * chunk, (k + 1) * chunk
        need = we + overlap
        while not exhausted and n < need:
            try:
                buf.append(next(it))
                n += 1
            except StopIteration:
                exhausted = True
        lo = max(0, ws - overlap)
        while buf_start < lo and buf:
            buf.popleft()
            buf_start += 1
        if ws >= n:
            return
        hi = min(n, need)
        yield Window(k, lo, list(buf)[: hi - lo], ws, min(we, n))
        k += 1
